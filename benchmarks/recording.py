"""Recording overhead: Locust requests/s with and without the history recorder.

One deployment (safe queue, 2 API processes, Redis, a janitor), one benchmark run:
the same Locust profile alternates between ``--record`` and ``--no-record`` in ABBA
order, so drift in the machine's load or the deployment's state falls on both sides.
Each round is measured in its steady state only (after start-up and ramp-up, before
shutdown): requests from Locust's per-second history (``--csv-full-history``), CPU
of the Locust process from psutil over the same window. The headline figure is the
median over adjacent with/without pairs of ``rps_with / rps_without`` (target
>= 0.95); the client CPU per request is reported beside it, because on a shared
machine the other processes' load moves requests/s far more than it moves what one
request costs the client.

The profile is the hardest case for the recorder: work time 0, no pauses, so the
client does nothing but requests, each with its two history lines.

    python -m benchmarks.recording [--rounds 6] [--seconds 10] [--users 20]

Writes ``benchmarks/out/recording.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from harness.servers import Deployment
from harness.settings import child_env
from reference_queue.settings import Impl, ServeSettings

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "recording.json"
TARGET = 0.95
WARMUP_S = 3.0  # imports, spawning all users, first connections
COOLDOWN_S = 1.5  # stop before the run-time limit: no shutdown in the window


def profile(users: int, seconds: int) -> list[str]:
    producers = max(1, users // 10)
    return [
        "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
        "--mix", f"Producer={producers},Worker={users - producers}",
        "--task-budget", "10000000",  # never spent: every round runs its full time
        "--task-duration", "0", "--poll-interval", "0.01",
        "--crash-probability", "0", "--fail-probability", "0", "--resubmit-probability", "0",
        "--no-analyze", "--only-summary",
    ]  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Round:
    record: bool
    rps: float  # steady-state requests/s
    cpu_us_per_request: float  # the Locust process's user+sys CPU per request, same window


def _requests_at(history_csv: Path) -> list[tuple[float, int]]:
    """(unix time, cumulative requests) per second, from Locust's --csv-full-history."""
    with history_csv.open(newline="") as f:
        return [
            (float(row["Timestamp"]), int(row["Total Request Count"]))
            for row in csv.DictReader(f)
            if row["Name"] == "Aggregated"
        ]


def _rate(points: list[tuple[float, int]], t0: float, t1: float) -> float:
    """Requests/s between the first and last per-second rows inside [t0, t1]."""
    inside = [(t, n) for t, n in points if t0 <= t <= t1]
    if len(inside) < 2:
        raise SystemExit(f"the stats history has < 2 rows in [{t0:.1f}, {t1:.1f}]: {points}")
    (first_t, first_n), (last_t, last_n) = inside[0], inside[-1]
    return (last_n - first_n) / (last_t - first_t)


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def one_round(host: str, record: bool, users: int, seconds: int, work: Path) -> Round:
    prefix = work / f"round-{time.monotonic_ns()}"
    argv = [
        str(Path(sys.executable).with_name("locust")), "-f", str(ROOT / "scenarios"),
        "--host", host, *profile(users, seconds),
        "--record" if record else "--no-record",
        "--run-dir", f"{prefix}-run", "--csv", str(prefix), "--csv-full-history",
    ]  # fmt: skip
    popen = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=child_env()
    )
    proc = psutil.Process(popen.pid)
    time.sleep(WARMUP_S)
    t0, c0 = time.time(), _cpu(proc)
    time.sleep(seconds - WARMUP_S - COOLDOWN_S)
    t1, c1 = time.time(), _cpu(proc)
    _, stderr = popen.communicate(timeout=seconds + 120)
    if popen.returncode != 0:
        raise SystemExit(f"locust failed ({popen.returncode}):\n{stderr[-2000:]}")
    rps = _rate(_requests_at(Path(f"{prefix}_stats_history.csv")), t0, t1)
    cpu_per_second = (c1 - c0) / (t1 - t0)  # same window; the rate is steady inside it
    return Round(record=record, rps=rps, cpu_us_per_request=cpu_per_second / rps * 1e6)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.recording", description=__doc__)
    parser.add_argument("--rounds", type=int, default=6, help="rounds per side (ABBA order)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per round")
    parser.add_argument("--users", type=int, default=20, help="Locust users per round")
    args = parser.parse_args()
    if args.seconds < WARMUP_S + COOLDOWN_S + 2:
        parser.error(f"--seconds must be at least {WARMUP_S + COOLDOWN_S + 2:g}")
    order = ([True, False, False, True] * args.rounds)[: 2 * args.rounds]
    rounds: list[Round] = []
    settings = ServeSettings(impl=Impl.SAFE, lease_timeout=30.0)
    with (
        tempfile.TemporaryDirectory(prefix="qharness-bench-") as tmp,
        Deployment(settings, api_procs=2, janitors=1) as deployment,
    ):
        for record in order:
            r = one_round(deployment.base_url, record, args.users, args.seconds, Path(tmp))
            rounds.append(r)
            side = "with   " if record else "without"
            print(f"{side} recording: {r.rps:7.1f} req/s, {r.cpu_us_per_request:5.0f} us CPU/req")
    report = summarize(rounds, args)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"requests/s with/without: median pair ratio {report['ratio']:.3f} "
        f"(target >= {TARGET}); client CPU per request "
        f"{report['median_cpu_us_per_request_with']:.0f} us with, "
        f"{report['median_cpu_us_per_request_without']:.0f} us without -> {OUT}"
    )
    return 0


def summarize(rounds: list[Round], args: argparse.Namespace) -> dict[str, object]:
    pairs = [(a, b) for a, b in zip(rounds[::2], rounds[1::2], strict=True)]
    ratios = [
        (a.rps / b.rps) if a.record else (b.rps / a.rps) for a, b in pairs if a.record != b.record
    ]
    with_ = [r for r in rounds if r.record]
    without = [r for r in rounds if not r.record]
    ratio = statistics.median(ratios)
    return {
        "benchmark": "recording overhead (Locust requests/s, --record vs --no-record)",
        "command": "python -m benchmarks.recording " + " ".join(sys.argv[1:]),
        "ratio": round(ratio, 4),
        "pair_ratios": [round(x, 4) for x in ratios],
        "target": TARGET,
        "meets_target": ratio >= TARGET,
        "median_rps_with": round(statistics.median(r.rps for r in with_), 1),
        "median_rps_without": round(statistics.median(r.rps for r in without), 1),
        "median_cpu_us_per_request_with": round(
            statistics.median(r.cpu_us_per_request for r in with_), 1
        ),
        "median_cpu_us_per_request_without": round(
            statistics.median(r.cpu_us_per_request for r in without), 1
        ),
        "rounds": [asdict(r) for r in rounds],
        "profile": profile(args.users, args.seconds),
        "deployment": "safe, 2 API processes, 1 janitor, embedded Redis, 127.0.0.1",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


if __name__ == "__main__":
    sys.exit(main())
