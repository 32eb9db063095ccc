"""A counterexample told for engineers: the note's table, and a regression test.

:func:`steps_table` renders a minimal run's steps in the design note's own style —
``Time | Worker A | Worker B | Janitor | Queue state`` — one row per step, workers
lettered in order of appearance, every janitor in the Janitor column, and the queue
state as the queue itself reported it after the step. :func:`regression_test` writes a
ready-to-paste pytest test that replays the literal steps and asserts the kind of
violation is gone (public names and the pytest plugin's fixtures only). Pure: no redis, no I/O.
"""

from __future__ import annotations

import string

from harness.checks.verdicts import Kind
from harness.explorer.actors import Role, Step
from harness.explorer.oracle import Target
from harness.explorer.trace import Stage, StepRecord
from harness.explorer.world import World

# Plain-language meaning of each kind, for the report (the analyzer explains events).
MEANING: dict[Kind, str] = {
    Kind.LOST: "an acknowledged task vanished: it is neither pending, processing, "
    "completed nor failed, so no worker will ever run it",
    Kind.DUPLICATE_COMPLETION: "one task was accepted as completed twice: its effects "
    "happened twice",
    Kind.STALE_COMPLETION: "a worker whose claim had been superseded (re-queued by the "
    "janitor, or claimed by another worker) still had its report accepted",
    Kind.RESURRECTION: "a completed task went back to the queue and was (or will be) run again",
    Kind.DOUBLE_CLAIM: "two workers can hold the same task at once (here: the task "
    "sits in the pending list more than once)",
    Kind.UNEXPECTED: "a worker was handed a task id nobody submitted",
    Kind.AUDIT_MISMATCH: "the queue's own state contradicts what it acknowledged "
    "(e.g. a completed task now marked failed)",
    Kind.STUCK: "a task is still pending or processing after a healthy worker and "
    "janitor drained the queue",
}


def steps_table(world: World, target: Target) -> str:
    """The run's steps (setup folded into the first row) as a markdown table."""
    records = [r for r in world.trace.records if r.stage is not Stage.SETUP]
    hits = [i for i, r in enumerate(records) if any(target.matches(f) for f in r.findings)]
    rest = records[hits[0] + 1 :] if hits else []
    if rest and all(r.stage is Stage.DRAIN for r in rest):
        records = records[: hits[0] + 1]  # the drain after the proof adds nothing
    workers = _letters(records, world)
    header = ["Time", *(f"Worker {letter}" for letter in workers.values()), "Janitor"]
    header.append("Queue state")
    setup_state = next(
        (r.state for r in reversed(world.trace.records) if r.stage is Stage.SETUP), ""
    )
    rows = [["T0", *([""] * len(workers)), "", f"(submitted) {setup_state}"]]
    for n, record in enumerate(records, start=1):
        row = [""] * len(header)
        row[0] = f"T{n}" + (" (drain)" if record.stage is Stage.DRAIN else "")
        column = _column(record.step, world, workers)
        row[column] = _cell(record)
        row[-1] = record.state
        if any(target.matches(f) for f in record.findings):
            row[-1] += " ⚠ " + "; ".join(str(f.kind) for f in record.findings if target.matches(f))
            row = [f"**{c}**" if c else c for c in row]
        rows.append(row)
    if rest and records[-1] is not rest[-1]:
        rows.append(["…", *([""] * (len(header) - 2)), f"(the drain goes on: {len(rest)} steps)"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _letters(records: list[StepRecord], world: World) -> dict[str, str]:
    out: dict[str, str] = {}
    for record in records:
        actor = world.actors.get(record.step.actor)
        if actor is not None and actor.role is Role.WORKER and actor.name not in out:
            out[actor.name] = string.ascii_uppercase[len(out) % 26]
    return out


def _column(step: Step, world: World, workers: dict[str, str]) -> int:
    if step.actor in workers:
        return 1 + list(workers).index(step.actor)
    return 1 + len(workers)  # janitors, the producer and the clock share this column


def _cell(record: StepRecord) -> str:
    actor = record.step.actor
    who = "" if actor.startswith("W") or actor in ("D", "clock") else f"{actor}: "
    return f"{who}{record.did}"


def regression_test(impl: str, kind: Kind, world: World, *, lease_timeout: float) -> str:
    """Pytest source replaying the literal steps; fails while the violation is there.

    It imports only :mod:`harness.testing` and takes the fixtures of qharness's pytest
    plugin, so it runs unchanged in any project that installs qharness.
    """
    setup = [str(s) for s in world.trace.steps(Stage.SETUP)]
    steps = [str(s) for s in world.trace.steps(Stage.SEARCH)]
    name = f"test_no_{kind}_{impl}".replace(":", "_").replace(".", "_")
    return "\n".join(
        [
            "import redis",
            "",
            "from harness.testing import QueueFactoryMaker, findings_of, replay",
            "",
            f"SETUP = {setup!r}",
            "STEPS = [",
            *(f"    {s!r}," for s in steps),
            "]",
            "",
            "",
            f"def {name}(",
            "    qharness_redis: redis.Redis, qharness_queue_factory: QueueFactoryMaker",
            ") -> None:",
            f'    """Found by `harness hunt --impl {impl}`: {kind}."""',
            f"    factory = qharness_queue_factory({impl!r}, lease_timeout={lease_timeout!r})",
            "    world = replay(qharness_redis, factory, STEPS, setup=SETUP)",
            f'    assert findings_of(world, "{kind}") == []',
            "",
        ]
    )
