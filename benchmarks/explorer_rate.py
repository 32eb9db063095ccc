"""Explorer steps per CPU-second on the safe queue, for comparing two checkouts.

One search of the safe queue (nothing to find: every example runs its full length plus
the drain), seed 0, timed with ``time.process_time()`` (this process only; the embedded
Redis runs beside it). Run it in each checkout, in turn, several rounds in one sitting
(the machine is shared: compare medians of one run, not figures across runs)::

    python -m benchmarks.explorer_rate [--examples 300]
    cd OLD && PYTHONPATH=OLD python /path/to/benchmarks/explorer_rate.py --examples 300

It also runs against the code of 2026-11-28 (c2858e0, when issue 18 was filed), whose
modules had other names (``profiles``, ``model``).
"""

from __future__ import annotations

import argparse
import json
import time

import redis
from hypothesis import settings

from harness.explorer.machine import queue_factory
from harness.explorer.search import search
from harness.redis_server import redis_for

try:
    from harness.explorer.hypothesis_profiles import profile
    from harness.explorer.oracle import Target
except ImportError:  # the code of 2026-11-28
    from harness.explorer.model import Target  # type: ignore[no-redef,import-not-found]
    from harness.explorer.profiles import profile  # type: ignore[no-redef,import-not-found]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300)
    args = parser.parse_args()
    with redis_for() as url:
        client = redis.Redis.from_url(url, decode_responses=True)
        chosen = settings(profile("dev"), max_examples=args.examples, stateful_step_count=40)
        cpu, wall = time.process_time(), time.perf_counter()
        result = search(client, queue_factory("safe"), target=Target(), settings=chosen, seed=0)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(json.dumps({"steps": result.steps, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
                      "steps_per_cpu_s": round(result.steps / cpu)}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
