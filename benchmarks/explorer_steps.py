"""Explorer search power, independent of the machine's load: steps to the first
counterexample of each naive race, per seed.

A seed decides every example of a search on the naive queue (its clock is the injected
one), so the number of steps the search takes before its first failing example is the
same on any machine at any load: a measure of the search, not of the hardware. Time to
first counterexample is this figure divided by the steps/s of ``benchmarks/explorer.py``.
Compare two versions of the explorer by running this in each checkout.

    python -m benchmarks.explorer_steps [--seeds 5] [--examples 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import redis
from hypothesis import settings

from benchmarks.explorer import RACES
from harness.explorer.hypothesis_profiles import profile
from harness.explorer.machine import queue_factory
from harness.explorer.search import search
from harness.redis_server import redis_for

OUT = Path(__file__).resolve().parent / "out" / "explorer_steps.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--examples", type=int, default=300, help="budget of each search")
    args = parser.parse_args()
    chosen = settings(profile("dev"), max_examples=args.examples, stateful_step_count=40)
    out: dict[str, Any] = {}
    with redis_for() as url:
        client = redis.Redis.from_url(url, decode_responses=True)
        for name, target in RACES.items():
            steps: list[int | None] = []
            for seed in range(args.seeds):
                result = search(client, queue_factory("naive"), target=target,
                                settings=chosen, seed=seed, shrink_seconds=0.5)  # fmt: skip
                steps.append(result.first_failure_steps)
            found = [s for s in steps if s is not None]
            median = statistics.median(found) if len(found) * 2 > len(steps) else None
            out[name] = {"steps_to_first": steps, "found": len(found), "median": median}
            print(f"{name:28s} found {len(found)}/{args.seeds}  median steps to first "
                  f"{median if median is not None else 'n/a (under half)'}  {steps}",
                  flush=True)  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"examples": args.examples, "races": out}, indent=2) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
