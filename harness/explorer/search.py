"""Running the machine: one search per target, and replaying a counterexample.

:func:`search` runs the generic machine under Hypothesis with a
:class:`~harness.explorer.oracle.Target` (e.g. "fail only on ``stale_completion``") so
the shrinker keeps the same kind of violation while it minimises, and returns the
minimal failing run's :class:`~harness.explorer.world.World` (its trace and history).
:func:`replay` performs a literal list of steps on a fresh database — what the
generated regression tests call. :func:`judge_history` lets the analyzer's checks
(``harness.checks.check_history``) judge a run's history as well as the model.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as Settings
from hypothesis.internal.conjecture import engine
from hypothesis.reporting import with_reporter
from hypothesis.stateful import run_state_machine_as_test

from harness.checks import Verdict, check_history
from harness.checks.verdicts import Kind
from harness.contract import ManualClock
from harness.explorer.actors import Step
from harness.explorer.machine import (
    Exploration,
    HistoryJudge,
    QueueFactory,
    Sink,
    ViolationFound,
    machine_for,
)
from harness.explorer.minimize import minimize
from harness.explorer.oracle import Finding, Phase, Target
from harness.explorer.trace import Stage
from harness.explorer.world import World, WorldConfig
from harness.history import frame_from_events


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResult:
    target: Target
    seed: int
    world: World | None  # the minimal failing run, None when nothing was found
    examples: int
    steps: int
    elapsed_s: float
    first_failure_s: float | None

    @property
    def found(self) -> bool:
        return self.world is not None

    def findings(self) -> list[Finding]:
        return [f for f in self.world.findings if self.target.matches(f)] if self.world else []

    def length(self) -> int:
        """Steps (setup excluded, drain included) up to the first matching finding."""
        if self.world is None:
            return 0
        records = [r for r in self.world.trace.records if r.stage is not Stage.SETUP]
        for n, record in enumerate(records, start=1):
            if any(self.target.matches(f) for f in record.findings):
                return n
        return len(records)  # found by the final exactly-once judgement


@contextlib.contextmanager
def shrink_limit(seconds: float) -> Iterator[None]:
    """Bound Hypothesis's shrinking time (its own limit is five minutes).

    Hypothesis reads this module constant when shrinking starts; it offers no setting.
    """
    before = engine.MAX_SHRINKING_SECONDS
    engine.MAX_SHRINKING_SECONDS = seconds  # type: ignore[assignment]
    try:
        yield
    finally:
        engine.MAX_SHRINKING_SECONDS = before


def search(
    client: redis.Redis,
    factory: QueueFactory,
    *,
    target: Target,
    settings: Settings,
    seed: int,
    config: WorldConfig | None = None,
    shrink_seconds: float = 20.0,
    judge: HistoryJudge | None = None,
) -> SearchResult:
    """Search for a run with a finding matching ``target``; minimal one if found."""
    sink = Sink()
    exploration = Exploration(
        client=client,
        factory=factory,
        sink=sink,
        config=config or WorldConfig(),
        target=target,
        judge_history=judge,
    )
    machine = hypothesis_seed(seed)(machine_for(exploration))
    chosen = Settings(settings, derandomize=False)  # the seed decides, for reproducibility
    world: World | None = None
    with shrink_limit(shrink_seconds), with_reporter(_quiet):
        try:
            run_state_machine_as_test(machine, settings=chosen)
        except ViolationFound:
            world = sink.failing  # the final replay of the minimal example
    if sink.world is not None:
        sink.steps += len(sink.world.trace.records)
    if world is not None:
        world = minimize(client, factory, world, target, config=config)
    return SearchResult(
        target=target,
        seed=seed,
        world=world,
        examples=sink.examples,
        steps=sink.steps,
        elapsed_s=time.perf_counter() - sink.started,
        first_failure_s=sink.first_failure_s,
    )


def _quiet(_: Any) -> None:
    """Hypothesis's own printout of the failing program: the trace replaces it."""


def replay(
    client: redis.Redis,
    factory: QueueFactory,
    steps: Sequence[Step | str],
    *,
    setup: Sequence[Step | str] = (),
    config: WorldConfig | None = None,
    drain: bool = True,
) -> World:
    """Perform literal steps on a freshly flushed database; then drain and judge.

    Steps impossible at their turn are skipped, so a counterexample found on one queue
    replays on another (the regression test keeps working once the race is fixed).
    """
    client.flushdb()
    clock = ManualClock()
    world = World(factory(client, clock), clock, config or WorldConfig())
    for stage, items in ((Stage.SETUP, setup), (Stage.SEARCH, steps)):
        world.stage = stage
        for item in items:
            step = item if isinstance(item, Step) else Step.parse(item)
            # Skipped when impossible: a fixed queue may finish an op in fewer round
            # trips ("step" with nothing in flight) or hand out a different task.
            if world.allows(step):
                world.perform(step)
    world.stage = Stage.SEARCH
    if drain:
        world.drain()
    return world


def judge_history(events: list[dict[str, Any]], lease_timeout: float) -> list[Finding]:
    """The analyzer's verdict on a run's history, as model findings (op ``history``)."""
    if not events:
        return []
    report = check_history(frame_from_events(events), lease_timeout=lease_timeout, drained=True)
    out: list[Finding] = []
    for kind, result in report.results.items():
        if result.verdict is not Verdict.FAIL:
            continue
        out += [
            Finding(
                kind=Kind(kind),
                task_id=v.task_id,
                op="history",
                prior=Phase.PENDING,
                explanation=f"history check: {v.explanation}",
            )
            for v in result.violations
        ]
    return out
