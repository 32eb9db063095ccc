"""Bounded verification speed (``harness verify``): issue 18's targets.

1. safe, 2 workers, 2 janitors, 2 tasks: the deepest level fully explored within 600 s
   (target: depth >= 10), with distinct states, steps taken and states/s.
2. naive's races (F1 lost, F4/F5 stale completion, F6 resurrection by the janitor, F7
   double claim by the janitor, F8 stale failure) with 2 workers, 2 janitors, 1 task:
   one breadth-first search with the five targets, so each is found at its minimal
   depth; the time at which each was found (target: all within 60 s).
3. The reductions: distinct states, expanded states and steps of the plain search,
   the visited set alone, and visited set + reductions, on naive at a small depth
   (same states and violations by construction; the test suite asserts it).
4. The abstractions (``harness.verify.fingerprint``): the search with exact states
   against the search with every abstraction, on safe and naive at a small depth: the
   states each tells apart and the steps each takes; both record the abstract states
   they reach, which must be the same set (the test suite asserts it too).

Every search reports wall seconds and this process's CPU seconds (the embedded Redis
server's CPU is not included), with the load average before and after.

    python -m benchmarks.verify [--safe-budget 600] [--safe-depth 10]

Writes ``benchmarks/out/verify.json``. The machine is shared; the load average is
recorded beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import redis

from harness.checks.verdicts import Kind
from harness.explorer.machine import queue_factory
from harness.explorer.oracle import Target
from harness.redis_server import redis_for
from harness.verify.engine import Bounds, Verifier, VerifyResult
from harness.verify.fingerprint import EXACT, FULL

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "verify.json"

RACES: dict[str, Target] = {
    "F1 lost": Target(kind=Kind.LOST),
    "F4/F5 stale_completion": Target(kind=Kind.STALE_COMPLETION, op="complete"),
    "F6 resurrection": Target(kind=Kind.RESURRECTION, op="rescue"),
    "F7 double_claim": Target(kind=Kind.DOUBLE_CLAIM, op="rescue"),
    "F8 stale failure": Target(kind=Kind.STALE_COMPLETION, op="fail"),
}


CPU: dict[int, float] = {}  # id(result) -> CPU seconds of its search


def search(client: redis.Redis, impl: str, bounds: Bounds) -> VerifyResult:
    verifier = Verifier(client, queue_factory(impl), bounds)
    began = time.process_time()
    try:
        outcome = verifier.run()
    finally:
        verifier.close()
    CPU[id(outcome)] = time.process_time() - began
    return outcome


def figures(outcome: VerifyResult) -> dict[str, Any]:
    elapsed = outcome.elapsed_s
    return {
        "cpu_seconds": round(CPU.get(id(outcome), 0.0), 1),
        "depth_done": outcome.depth_done,
        "states": len(outcome.seen),
        "expanded": outcome.expanded,
        "steps": outcome.transitions,
        "seconds": round(elapsed, 1),
        "states_per_s": round(len(outcome.seen) / elapsed, 1) if elapsed else None,
        "steps_per_s": round(outcome.transitions / elapsed, 1) if elapsed else None,
        "timed_out": outcome.timed_out,
    }


def safe_depth(client: redis.Redis, depth: int, budget: float) -> dict[str, Any]:
    bounds = Bounds(workers=2, janitors=2, tasks=2, depth=depth, budget_s=budget)
    load = os.getloadavg()
    outcome = search(client, "safe", bounds)
    out = figures(outcome) | {"violations": [str(c.target.label()) for c in outcome.found]}
    out |= {"loadavg_before": load, "loadavg_after": os.getloadavg()}
    print(f"safe 2W 2J 2T: {out}", flush=True)
    return out


def naive_races(client: redis.Redis, depth: int) -> dict[str, Any]:
    bounds = Bounds(workers=2, janitors=2, tasks=1, depth=depth, targets=tuple(RACES.values()))
    outcome = search(client, "naive", bounds)
    found = {c.target: c for c in outcome.found}
    races = {
        name: {
            "depth": len(found[t].path) if t in found else None,
            "found_after_s": round(found[t].elapsed_s, 1) if t in found else None,
            "steps": [str(s) for s in found[t].path] if t in found else [],
        }
        for name, t in RACES.items()
    }
    for name, race in races.items():
        print(f"  {name:24s} depth {race['depth']} after {race['found_after_s']}s", flush=True)
    return {"search": figures(outcome), "races": races}


def reductions(client: redis.Redis, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, cache, reduce in (("plain", False, False), ("cache", True, False),
                                ("cache+reduce", True, True)):  # fmt: skip
        bounds = Bounds(tasks=1, depth=depth, cache=cache, reduce=reduce, stop_at_first=False)
        outcome = search(client, "naive", bounds)
        out[name] = figures(outcome) | {"violating": outcome.violating}
        print(f"naive depth {depth} {name}: {out[name]}", flush=True)
    return out


def abstractions(client: redis.Redis) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for impl, depth in (("safe", 5), ("naive", 6)):
        small = Bounds(tasks=2, depth=depth, stop_at_first=False)
        exact = search(client, impl, replace(small, abstraction=EXACT, seen_as=FULL))
        merged = search(client, impl, replace(small, abstraction=FULL))
        exact_states = search(client, impl, replace(small, abstraction=EXACT))
        out[impl] = {
            "depth": depth,
            "exact": figures(exact_states) | {"violating": exact_states.violating},
            "abstracted": figures(merged) | {"violating": merged.violating},
            "same_abstract_states": exact.seen == merged.seen,
            "same_violations": exact.violating == merged.violating,
        }
        print(f"{impl} depth {depth} exact vs abstracted: {out[impl]}", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--safe-budget", type=float, default=600.0)
    parser.add_argument("--safe-depth", type=int, default=10)
    parser.add_argument("--race-depth", type=int, default=8)
    parser.add_argument("--reduction-depth", type=int, default=5)
    args = parser.parse_args()
    with redis_for() as url:
        client = redis.Redis.from_url(url, decode_responses=True)
        report = {
            "naive_races": naive_races(client, args.race_depth),
            "reductions": reductions(client, args.reduction_depth),
            "abstractions": abstractions(client),
            "safe": safe_depth(client, args.safe_depth, args.safe_budget),
            "loadavg": os.getloadavg(),
        }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
