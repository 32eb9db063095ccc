"""Replay share (``harness replay``): how many of a load run's violations reproduce as
a step-level schedule of the same queue code (issue 18 target: >= 90 %).

    python -m benchmarks.replay RUN_DIR [--per-kind 3] [--budget 20]

Replays the first ``--per-kind`` violations of every kind in ``RUN_DIR/violations.json``
(made by e.g. ``harness run --impl naive --profile janitor_race``), each within the
budget, and writes ``benchmarks/out/replay.json``: per violation reproduced or not,
the schedule's length and the time taken.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import redis

from harness.analyze import read_run_info
from harness.commands.replay import bounds_for
from harness.explorer.machine import queue_factory
from harness.redis_server import redis_for
from harness.verify.engine import Verifier
from harness.verify.replay import ProgramPolicy, program_of, read_violation

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "replay.json"


def refs(run_dir: Path, per_kind: int) -> list[str]:
    listed = json.loads((run_dir / "violations.json").read_text())["violations"]
    counts: dict[str, int] = {}
    for v in listed:
        counts[v["kind"]] = counts.get(v["kind"], 0) + 1
    return [
        f"{kind}-{n}" for kind, total in counts.items() for n in range(1, min(total, per_kind) + 1)
    ]


def replay_one(client: redis.Redis, run_dir: Path, ref: str, budget: float) -> dict[str, Any]:
    info = read_run_info(run_dir)
    factory = queue_factory(str(info["impl"]), lease_timeout=float(info["lease_timeout"]))
    program = program_of(run_dir, read_violation(run_dir, ref))
    verifier = Verifier(client, factory, bounds_for(program, None, budget), ProgramPolicy(program))
    started = time.perf_counter()
    outcome = verifier.run()
    verifier.close()
    return {
        "violation": ref,
        "ops": len(program.ops),
        "reproduced": bool(outcome.found),
        "length": len(outcome.found[0].path) if outcome.found else None,
        "seconds": round(time.perf_counter() - started, 1),
        "timed_out": outcome.timed_out,
        "depth_done": outcome.depth_done,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--per-kind", type=int, default=3)
    parser.add_argument("--budget", type=float, default=20.0)
    args = parser.parse_args()
    results = []
    with redis_for() as url:
        client = redis.Redis.from_url(url, decode_responses=True)
        for ref in refs(args.run_dir, args.per_kind):
            results.append(replay_one(client, args.run_dir, ref, args.budget))
            print(results[-1], flush=True)
    share = sum(r["reproduced"] for r in results) / len(results) if results else 0.0
    report = {"run_dir": str(args.run_dir), "share": round(share, 3), "replays": results,
              "loadavg": os.getloadavg()}  # fmt: skip
    print(f"reproduced {share:.0%} of {len(results)} violations")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
