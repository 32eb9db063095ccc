"""Benchmark: claim+complete throughput of the worker API, safe vs naive vs bare FastAPI.

    python -m benchmarks.api [--seconds 10] [--users 32] [--rounds 3]

Every target is served the same way — uvicorn, 2 worker processes, on 127.0.0.1 — and
gets the same load: one headless Locust process (``FastHttpUser``, no think time,
``--users`` concurrent users), each user claiming a task and completing it with its
token in a loop (``benchmarks/_locust_claim.py``). Targets:

- ``bare``: FastAPI with the same routes and answers, no Redis (the ceiling);
- ``naive``: the reference API, ``async def`` endpoints on the sync client (F13);
- ``safe``: the reference API as shipped (hot endpoints awaiting ``redis.asyncio``,
  plus request ids, metrics, rate-limit and breaker hooks);
- ``safe-async``: the same awaited queue calls (``AsyncSafe``) without those extras.

The queues are prefilled so they never run dry (a 204 counts as a failure and voids
the figure). The targets are measured in interleaved rounds and the median per target
is reported, because the machine is shared (2 cores): the load average before each run
is recorded with its figures. Prints pairs/s and ratios; writes benchmarks/out/api.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from harness.contract import drive
from harness.redis_server import EmbeddedRedis
from harness.servers import Deployment
from reference_queue import make_queue
from reference_queue.settings import Impl, ServeSettings

OUT = Path(__file__).parent / "out"
LOCUSTFILE = Path(__file__).parent / "_locust_claim.py"
TARGETS: dict[str, tuple[str, str]] = {  # name -> (queue impl, uvicorn factory)
    "bare": ("safe", "benchmarks._api_apps:bare_app"),
    "naive": ("naive", "reference_queue.api:app_from_env"),
    "safe": ("safe", "reference_queue.api:app_from_env"),
    "safe-async": ("safe", "benchmarks._api_apps:async_safe_app"),
}


def prefill(impl: str, redis_url: str, count: int) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    queue = make_queue(impl, client, lease_timeout=300.0)
    for i in range(count):
        drive(queue.submit(f'{{"n": {i}}}'))
    client.close()


def run_locust(base_url: str, users: int, seconds: int, workdir: Path) -> dict[str, Any]:
    prefix = workdir / "stats"
    argv = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", base_url,
        "--csv", str(prefix), "--only-summary", "--stop-timeout", "2", "--loglevel", "ERROR",
    ]  # fmt: skip
    subprocess.run(argv, capture_output=True, timeout=seconds + 60, check=False)
    rows = {row["Name"]: row for row in csv.DictReader((workdir / "stats_stats.csv").open())}
    claim, complete = rows["/tasks/next"], rows["/tasks/[id]/complete"]
    return {
        "pairs_per_s": float(complete["Requests/s"]),
        "requests_per_s": float(rows["Aggregated"]["Requests/s"]),
        "completes": int(complete["Request Count"]),
        "failures": int(claim["Failure Count"]) + int(complete["Failure Count"]),
        "claim_p50_ms": float(claim["50%"]),
        "claim_p99_ms": float(claim["99%"]),
        "complete_p99_ms": float(complete["99%"]),
    }


def measure(name: str, redis_url: str, args: argparse.Namespace) -> dict[str, Any]:
    impl, app = TARGETS[name]
    prefill(impl, redis_url, args.prefill if name != "bare" else 0)
    settings = ServeSettings(impl=Impl(impl), redis_url=redis_url, lease_timeout=300.0)
    with (
        Deployment(settings, api_procs=2, janitors=0, app=app) as dep,
        tempfile.TemporaryDirectory() as tmp,
    ):
        time.sleep(1.0)  # let both workers finish importing before the clock starts
        load = os.getloadavg()[0]
        result = run_locust(dep.base_url, args.users, args.seconds, Path(tmp))
    result["load_avg_before"] = round(load, 2)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.api", description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="each round measures every target")
    parser.add_argument("--prefill", type=int, default=30_000, help="tasks queued per run")
    parser.add_argument("--targets", default=",".join(TARGETS))
    args = parser.parse_args(argv)
    names = args.targets.split(",")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with EmbeddedRedis() as server:
        for round_no in range(1, args.rounds + 1):  # interleaved: a noisy minute hits all
            for name in names:
                r = measure(name, server.url, args)
                runs[name].append(r)
                print(f"round {round_no} {name:>10}: {r['pairs_per_s']:6.0f} claim+complete/s  "
                      f"(p99 claim {r['claim_p99_ms']:.0f} ms, failures {r['failures']}, "
                      f"load {r['load_avg_before']})", flush=True)  # fmt: skip
    median = {n: statistics.median(r["pairs_per_s"] for r in rs) for n, rs in runs.items()}
    print("median claim+complete/s: " + ", ".join(f"{n} {v:.0f}" for n, v in median.items()))
    ratios = _ratios(median)
    for key, value in ratios.items():
        print(f"{key:>16}: {value:.2f}")
    OUT.mkdir(exist_ok=True)
    report = {
        "command": "python -m benchmarks.api "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "load_generator": f"locust FastHttpUser, 1 process, {args.users} users, "
        f"{args.seconds} s per run",
        "server": "uvicorn, 2 worker processes, 127.0.0.1; embedded redis-server",
        "cores": os.cpu_count(),
        "median_pairs_per_s": median,
        "ratios": ratios,
        "runs": runs,
    }
    (OUT / "api.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _ratios(median: dict[str, float]) -> dict[str, float]:
    pairs = [("naive", "bare"), ("safe", "bare"), ("safe-async", "bare"), ("safe", "naive"),
             ("safe-async", "safe")]  # fmt: skip
    return {
        f"{a}/{b}": round(median[a] / median[b], 3)
        for a, b in pairs
        if a in median and b in median and median[b] > 0
    }


if __name__ == "__main__":
    raise SystemExit(main())
