"""Benchmark: the Redis ceiling vs the safe queue's claim+complete from Python.

    python -m benchmarks.redis_ceiling [--tasks 100000] [--clients 50]

Baselines, measured in this run against the same embedded redis-server:
- ``redis-benchmark`` (C, 50 clients, no pipelining) for PING, LPUSH, RPOP, and an
  ``EVALSHA`` of the safe queue's own claim script (the "Lua-claim ceiling");
- skipped, and said so, when ``redis-benchmark`` is not installed (Debian: redis-tools).

Measured: the safe queue's claim then complete, driven through ``drive()`` exactly as
the API drives it, by ``--clients`` concurrent clients (threads spread over one
process per core). An *op* is one queue operation (a claim or a complete), so
ops/s = 2 * tasks/s. Target: safe ops/s >= 0.5 * the Lua-claim ceiling.
Writes benchmarks/out/redis_ceiling.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from harness.contract import TaskId, WorkerId, drive
from harness.redis_server import EmbeddedRedis
from reference_queue import connect, make_queue
from reference_queue.safe import script_source

OUT = Path(__file__).parent / "out"
TARGET = 0.5


def prefill(url: str, n: int) -> None:
    client = connect(url)
    client.flushdb()
    queue = make_queue("safe", client)
    pipe_every = 1000
    for start in range(0, n, pipe_every):
        for i in range(start, min(n, start + pipe_every)):
            drive(queue.submit("{}", TaskId(f"t{i}")))
    client.close()


def redis_benchmark(url_port: int, clients: int, n: int, *command: str) -> float:
    """requests/s reported by redis-benchmark for one command."""
    out = subprocess.run(
        ["redis-benchmark", "-p", str(url_port), "-c", str(clients), "-n", str(n), "-q",
         "--csv", *command],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    last = [line for line in out.stdout.splitlines() if line.strip()][-1]
    return float(last.split(",")[1].strip('"'))


def lua_claim_ceiling(server: EmbeddedRedis, clients: int, n: int) -> float:
    prefill(server.url, n)
    client = connect(server.url)
    sha = client.script_load(script_source("claim"))
    client.close()
    return redis_benchmark(
        server.port, clients, n, "EVALSHA", sha, "3", "queue:pending", "queue:processing",
        "queue:token_seq", "", "", "bench-worker", "30",
    )  # fmt: skip


def _drain(url: str, threads: int, counter: Any) -> None:
    """One process: ``threads`` clients claiming and completing until the queue is empty."""
    client = connect(url, max_connections=threads + 4)
    queue = make_queue("safe", client)

    def work(n: int) -> None:
        worker = WorkerId(f"w{os.getpid()}-{n}")
        done = 0
        while (claim := drive(queue.claim(worker))) is not None:
            drive(queue.complete(claim.task_id, worker, claim.token, "ok"))
            done += 1
        with counter.get_lock():
            counter.value += done

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def safe_queue_ops(url: str, clients: int, n: int) -> float:
    prefill(url, n)
    procs_n = max(1, os.cpu_count() or 1)
    counter = mp.Value("q", 0)
    per = [clients // procs_n + (1 if i < clients % procs_n else 0) for i in range(procs_n)]
    procs = [mp.Process(target=_drain, args=(url, k, counter)) for k in per]
    began = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - began
    assert counter.value == n, f"completed {counter.value} of {n}"
    return 2 * n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    results: dict[str, Any] = {"clients": args.clients, "tasks": args.tasks}
    with EmbeddedRedis() as server:
        if shutil.which("redis-benchmark"):
            for cmd in ("PING", "LPUSH", "RPOP"):
                results[f"redis_{cmd.lower()}_per_s"] = redis_benchmark(
                    server.port, args.clients, args.tasks, "-t", cmd.lower()
                )
            results["lua_claim_per_s"] = lua_claim_ceiling(server, args.clients, args.tasks)
        else:
            print("redis-benchmark not installed (Debian: apt-get install redis-tools): "
                  "no C baseline this run")  # fmt: skip
        results["safe_ops_per_s"] = safe_queue_ops(server.url, args.clients, args.tasks)
    if "lua_claim_per_s" in results:
        ratio = results["safe_ops_per_s"] / results["lua_claim_per_s"]
        results.update(ratio=ratio, target=TARGET, met=ratio >= TARGET)
    for key, value in results.items():
        print(f"{key:>22}: {value:,.3f}" if isinstance(value, float) else f"{key:>22}: {value}")
    OUT.mkdir(exist_ok=True)
    (OUT / "redis_ceiling.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
