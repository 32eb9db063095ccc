"""Interleaving explorer speed: steps/s of the machine, time to each naive race.

1. Steps per second of the generic state machine against an embedded Redis (target
   >= 2,000), beside a same-run baseline of bare redis-py round trips (EVALSHA of a
   trivial script) measured before and after the search: a search on the safe queue
   (nothing to find, so every example runs its full length plus the drain); every
   step is one queue round trip (the state check's inspection rides behind the queue's
   command when it is a single one: ``harness.explorer.riding``) and the model's
   judgement. Steps counted include the
   setup and drain steps, which run the same code.
2. Time to the first counterexample for each naive race kind, median over 5 seeds
   (target <= 3 s each since issue 18, 10 s before), and the length of the shrunk
   counterexample (Hypothesis's shrinking bounded, then the literal-step minimiser).
   Each search may run well past the target (1,000 examples, about 25 s) so a slow find
   is measured as slow rather than cut off and reported as not found.

    python -m benchmarks.explorer [--seeds 5] [--examples 1000] [--rate-only]

Writes ``benchmarks/out/explorer.json`` (not with ``--rate-only``, which only prints, so
a quick look never replaces a full run's figures). The machine is shared: load from other
processes moves these figures; the load average is recorded beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import redis
from hypothesis import settings

from harness.explorer.hypothesis_profiles import profile
from harness.explorer.machine import queue_factory
from harness.explorer.oracle import Kind, Target
from harness.explorer.search import search
from harness.redis_server import redis_for

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "explorer.json"
STEPS_TARGET = 2_000.0
FIRST_TARGET_S = 3.0

RACES: dict[str, Target] = {
    "F1 lost": Target(kind=Kind.LOST),
    "F4/F5 stale_completion": Target(kind=Kind.STALE_COMPLETION, op="complete"),
    "F5 duplicate_completion": Target(kind=Kind.DUPLICATE_COMPLETION),
    "F6 resurrection": Target(kind=Kind.RESURRECTION, op="rescue"),
    "F7 double_claim": Target(kind=Kind.DOUBLE_CLAIM, op="rescue"),
    "F8 stale failure": Target(kind=Kind.STALE_COMPLETION, op="fail"),
    "F8 flipped completion": Target(kind=Kind.AUDIT_MISMATCH),
}


def bare_round_trips(client: redis.Redis, seconds: float = 3.0) -> float:
    """The same-run baseline: bare redis-py EVALSHA round trips per second (a trivial
    script, so the figure is the client + socket + server cost of one round trip)."""
    script = client.register_script("return 1")
    script()
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        script()
        count += 1
    return count / (time.perf_counter() - began)


def steps_per_second(client: redis.Redis, examples: int) -> dict[str, float]:
    before = bare_round_trips(client)
    chosen = settings(profile("dev"), max_examples=examples)
    result = search(client, queue_factory("safe"), target=Target(), settings=chosen, seed=0)
    rate = result.steps / result.elapsed_s
    baseline = (before + bare_round_trips(client)) / 2  # around the search: load drifts
    return {
        "steps": result.steps,
        "seconds": round(result.elapsed_s, 2),
        "steps_per_s": round(rate, 1),
        "ratio_to_target": round(rate / STEPS_TARGET, 2),
        "bare_round_trips_per_s": round(baseline, 1),
        "steps_per_round_trip": round(rate / baseline, 3),
    }


def time_to_races(client: redis.Redis, seeds: int, examples: int) -> dict[str, dict[str, object]]:
    chosen = settings(profile("dev"), max_examples=examples, stateful_step_count=40)
    out: dict[str, dict[str, object]] = {}
    for name, target in RACES.items():
        firsts: list[float] = []
        lengths: list[int] = []
        for seed in range(seeds):
            result = search(
                client,
                queue_factory("naive"),
                target=target,
                settings=chosen,
                seed=seed,
                shrink_seconds=2.0,
            )
            firsts.append(result.first_failure_s if result.first_failure_s is not None else 1e9)
            lengths.append(result.length())
        median = statistics.median(firsts)
        out[name] = {
            "found": sum(1 for f in firsts if f < 1e9),
            "seeds": seeds,
            "median_first_s": round(median, 2) if median < 1e9 else None,
            "ratio_to_target": round(median / FIRST_TARGET_S, 2) if median < 1e9 else None,
            "shrunk_lengths": lengths,
        }
        shown = f"{median:.2f}s" if median < 1e9 else "n/a (found in under half the seeds)"
        print(f"{name:28s} found {out[name]['found']}/{seeds}  median first {shown}  "
              f"shrunk lengths {lengths}", flush=True)  # fmt: skip
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--examples", type=int, default=1000, help="budget of each search")
    parser.add_argument(
        "--rate-only", action="store_true", help="only print the steps/s figure (writes nothing)"
    )
    args = parser.parse_args()
    with redis_for() as url:
        client = redis.Redis.from_url(url, decode_responses=True)
        rate = steps_per_second(client, examples=200)
        print(
            f"steps/s (safe, embedded Redis): {rate['steps_per_s']:.0f} "
            f"(target {STEPS_TARGET:.0f}, ratio {rate['ratio_to_target']}); bare redis-py "
            f"round trips/s in the same run: {rate['bare_round_trips_per_s']:.0f} "
            f"({rate['steps_per_round_trip']} steps per round trip's time)",
            flush=True,
        )
        if args.rate_only:
            return 0
        races = time_to_races(client, args.seeds, args.examples)
    report = {
        "steps": rate,
        "races": races,
        "loadavg": os.getloadavg(),
        "targets": {"steps_per_s": STEPS_TARGET, "first_s": FIRST_TARGET_S},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
