"""What ``harness verify`` says: the verdict line, and each counterexample told as the
hunt tells one — the note's table and a pasteable regression test.

A counterexample's steps are replayed from the start on a flushed database (the
search keeps no history), with the explorer's own ``replay``, so the table and the
test are exactly what the generated regression test will do.
"""

from __future__ import annotations

import redis

from harness.explorer.machine import QueueFactory
from harness.explorer.search import replay
from harness.explorer.story import MEANING, regression_test, steps_table
from harness.explorer.world import WorldConfig
from harness.verify.engine import Bounds, Counterexample, VerifyResult


def scope(bounds: Bounds) -> str:
    return f"{bounds.workers} workers, {bounds.janitors} janitors, {bounds.tasks} tasks"


def verdict_line(outcome: VerifyResult) -> str:
    bounds = outcome.bounds
    states = len(outcome.seen)
    if outcome.interrupted or outcome.timed_out:
        why = "interrupted" if outcome.interrupted else "out of time"
        return (
            f"{why}: no violation in the {states} distinct states seen; depth "
            f"{outcome.depth_done} of {bounds.depth} fully explored ({scope(bounds)})"
        )
    if not outcome.found:
        reached = outcome.depth_done
        cut = "" if reached >= bounds.depth else f" (every state reached by depth {reached})"
        return (
            f"no violation in all {states} distinct states up to depth {bounds.depth}"
            f"{cut} ({scope(bounds)})"
        )
    kinds = ", ".join(f"{label(c)} at depth {len(c.path)}" for c in outcome.found)
    return f"violation found: {kinds} ({states} distinct states explored; {scope(bounds)})"


def label(found: Counterexample) -> str:
    """The target, or for the catch-all target the kind that was found."""
    if found.target.kind is None:
        return str(found.findings[0].kind)
    return found.target.label()


def tell(
    client: redis.Redis,
    factory: QueueFactory,
    outcome: VerifyResult,
    found: Counterexample,
    *,
    impl: str,
    lease_timeout: float,
    found_by: str = "harness verify",
) -> str:
    """One counterexample as markdown: meaning, table, regression test."""
    bounds = outcome.bounds
    config = WorldConfig(workers=bounds.workers, janitors=bounds.janitors, max_tasks=bounds.tasks)
    world = replay(client, factory, found.path, setup=outcome.setup, config=config, drain=False)
    first = found.findings[0]
    test = regression_test(impl, first.kind, world, lease_timeout=lease_timeout)
    test = test.replace("`harness hunt", f"`{found_by}")  # the story module names the hunt
    return "\n".join(
        [
            f"## {label(found)}: {len(found.path)} steps (shortest: breadth-first)",
            "",
            f"**What it means:** {MEANING[first.kind]}.",
            "",
            f"**What happened:** {first.explanation}.",
            "",
            steps_table(world, found.target),
            "",
            "Regression test (paste into `tests/`; it fails while the race is there):",
            "",
            "```python",
            test,
            "```",
            "",
        ]
    )
