"""``harness replay``: a violation found under load, reproduced step by step.

    harness replay RUN_DIR --violation KIND-N [--impl naive|safe|module:Class]
                   [--depth D] [--budget S] [--out FILE]

Reads ``RUN_DIR/violations.json`` (written by ``harness analyze``) and the history,
takes the N-th violation of KIND, and searches the step-level schedules of the same
queue code consistent with the observed order of that task's ops
(``harness.verify.replay``). Prints the shortest reproducing schedule as the note's
table with a regression test (also to ``--out``, default
``RUN_DIR/replay-KIND-N.md``), or says that no consistent schedule reproduces it.
``--impl`` defaults to the run's (``run.json``). Exit 1 reproduced (a violation of
the queue code), 0 not reproduced within the bounds, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import redis

from harness.analyze import read_run_info
from harness.exitcodes import ExitCode
from harness.explorer.actors import Action
from harness.explorer.machine import queue_factory
from harness.explorer.oracle import Target
from harness.redis_server import redis_for
from harness.verify.engine import Bounds, Verifier, VerifyResult
from harness.verify.replay import Program, ProgramPolicy, program_of, read_violation
from harness.verify.story import tell

# The steps a replay takes: the program's ops, their round trips, crashes, the clock.
REPLAY_ACTIONS = (
    Action.ADVANCE,
    Action.CRASH,
    Action.STEP,
    Action.CLAIM,
    Action.COMPLETE,
    Action.FAIL,
    Action.RESCUE,
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "replay",
        help="reproduce a load run's violation as a step-level schedule",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--violation", required=True, help="KIND-N, e.g. stale_completion-1")
    p.add_argument("--impl", help="naive, safe or module:Class (default: the run's)")
    p.add_argument("--depth", type=int, help="most steps (default: from the task's ops)")
    p.add_argument("--budget", type=float, default=60.0, help="seconds (default 60)")
    p.add_argument("--out", type=Path, help="report file (default RUN_DIR/replay-KIND-N.md)")
    p.set_defaults(handler=run)


def bounds_for(program: Program, depth: int | None, budget: float) -> Bounds:
    return Bounds(
        workers=max(1, len(program.workers)),
        janitors=len(program.janitors),
        tasks=1,
        depth=depth or min(4 * len(program.ops) + 4, 24),
        actions=REPLAY_ACTIONS,
        targets=(Target(kind=program.kind),),
        budget_s=budget,
    )


def run(args: argparse.Namespace) -> int:
    violation = read_violation(args.run_dir, args.violation)
    info = read_run_info(args.run_dir)
    impl = args.impl or str(info.get("impl", ""))
    lease = float(info.get("lease_timeout") or 30.0)
    factory = queue_factory(impl, lease_timeout=lease)  # a bad --impl: ConfigError, exit 2
    program = program_of(args.run_dir, violation)
    bounds = bounds_for(program, args.depth, args.budget)
    print(f"replaying {args.violation} ({program.kind} on {program.task_id}): "
          f"{len(program.ops)} ops by {len(program.workers)} worker(s) and "
          f"{len(program.janitors)} janitor(s)", file=sys.stderr)  # fmt: skip
    with redis_for() as url:
        client = redis.Redis.from_url(url, decode_responses=True)
        try:
            verifier = Verifier(client, factory, bounds, ProgramPolicy(program))
            outcome = verifier.run()
            verifier.close()
            text = _text(client, factory, outcome, args.violation, impl=impl, lease=lease)
        finally:
            client.close()
    print(text)
    out: Path = args.out or args.run_dir / f"replay-{args.violation}.md"
    out.write_text(text + "\n")
    if outcome.interrupted:
        return ExitCode.INTERRUPTED
    return ExitCode.VIOLATIONS if outcome.found else ExitCode.PASS


def _text(
    client: redis.Redis, factory: Any, outcome: VerifyResult, ref: str, *, impl: str, lease: float
) -> str:
    if not outcome.found:
        why = "out of time" if outcome.timed_out else f"up to depth {outcome.depth_done}"
        return (
            f"not reproduced: no step-level schedule of {impl} consistent with the observed "
            f"order reproduces {ref} ({len(outcome.seen)} distinct states, {why}). The "
            "violation may come from outside the queue code (the API layer, a client's "
            "retry, clock skew) or from ops on other tasks."
        )
    found = outcome.found[0]
    head = f"reproduced {ref} in {len(found.path)} steps (the shortest consistent schedule)"
    story = tell(client, factory, outcome, found, impl=impl, lease_timeout=lease,
                 found_by=f"harness replay {ref}")  # fmt: skip
    return head + "\n\n" + story
