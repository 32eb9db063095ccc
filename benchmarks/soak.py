"""Soak: does a long steady-state run keep the load generator's memory flat?

    python -m benchmarks.soak --minutes 30 [--producer-rate 20] [--users 30]

Starts the reference safe deployment (2 API processes, a janitor, 2 s leases) and runs
``locust -f scenarios --headless --soak --producer-rate R -t Nm``: producers submit at
a steady rate until the time is up, with no task budget, while the live checks run over
their sliding window. Every 10 s of the load phase it samples the resident memory (RSS)
of the Locust process, and at the end reads how many events the run recorded and analyzed.

Memory is "flat" when the last third of the run's samples peak no higher than 1.2 x the
peak of the middle third (after warm-up: imports, the first window of events filling).
Writes ``benchmarks/out/soak.json`` (the samples too) and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from harness.servers import Deployment
from reference_queue.settings import Impl, ServeSettings

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).parent / "out"
LOCUST = str(Path(sys.executable).with_name("locust"))
SAMPLE_EVERY_S = 10.0
FLAT_RATIO = 1.2


def sample_rss(proc: psutil.Process) -> int:
    """RSS of the Locust process and its children (e.g. --processes), in bytes."""
    try:
        family = [proc, *proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in family if p.is_running())
    except psutil.NoSuchProcess:
        return 0


def soak(minutes: float, rate: float, users: int, run_dir: Path) -> dict[str, Any]:
    settings = ServeSettings(impl=Impl.SAFE, lease_timeout=2.0, max_attempts=100)
    samples: list[tuple[float, int]] = []
    with Deployment(settings, api_procs=2, janitors=1, janitor_interval=0.5) as deployment:
        cmd = [LOCUST, "-f", str(ROOT / "scenarios"), "--headless", "-u", str(users),
               "-r", str(users), "-t", f"{int(minutes * 60)}s", "--soak",
               "--producer-rate", str(rate), "--host", deployment.base_url,
               "--run-dir", str(run_dir), "--only-summary"]  # fmt: skip
        began = time.monotonic()
        with subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True) as proc:
            watched = psutil.Process(proc.pid)
            while proc.poll() is None:
                samples.append((round(time.monotonic() - began, 1), sample_rss(watched)))
                time.sleep(SAMPLE_EVERY_S)
            stderr = proc.stderr.read() if proc.stderr else ""
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    # the load phase only: the final analysis of the whole history comes after -t
    loaded = [(t, r) for t, r in samples if t <= minutes * 60]
    return figures(loaded, summary, stderr, proc.returncode)


def figures(
    samples: list[tuple[float, int]], summary: dict[str, Any], stderr: str, code: int | None
) -> dict[str, Any]:
    rss = [r for _, r in samples if r]
    third = max(1, len(rss) // 3)
    middle, last = rss[third : 2 * third] or rss, rss[2 * third :] or rss
    ratio = max(last) / max(middle) if rss else None
    metrics = summary.get("metrics", {})
    lines = [ln for ln in stderr.splitlines() if ln.startswith("qharness verdict")]
    return {
        "exit": code,
        "verdict": summary.get("verdict"),
        "events_analyzed": metrics.get("events"),
        "ops": metrics.get("ops"),
        "duration_s": metrics.get("duration_s"),
        "rss_mb_first": round(rss[0] / 2**20, 1) if rss else None,
        "rss_mb_peak_middle_third": round(max(middle) / 2**20, 1) if rss else None,
        "rss_mb_peak_last_third": round(max(last) / 2**20, 1) if rss else None,
        "last_over_middle": round(ratio, 3) if ratio else None,
        "flat": ratio is not None and ratio <= FLAT_RATIO,
        "line": lines[-1] if lines else stderr[-400:],
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--producer-rate", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=30)
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="qharness-soak-")) / "run"
    result = soak(args.minutes, args.producer_rate, args.users, run_dir)
    result.update(minutes=args.minutes, producer_rate=args.producer_rate, run_dir=str(run_dir))
    OUT.mkdir(exist_ok=True)
    (OUT / "soak.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))


if __name__ == "__main__":
    main()
