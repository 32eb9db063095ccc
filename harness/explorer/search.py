"""Running the machine: one search per target, and replaying a counterexample.

:func:`search` runs the generic machine under Hypothesis with a
:class:`~harness.explorer.oracle.Target` (e.g. "fail only on ``stale_completion``") so
the shrinker keeps the same kind of violation while it minimises, and returns the
minimal failing run's :class:`~harness.explorer.world.World` (its trace and history).
:func:`replay` performs a literal list of steps on a fresh database — what the
generated regression tests call. :func:`judge_history` lets the analyzer's checks
(``harness.checks.check_history``) judge a run's history as well as the model.

A search can be given a ``deadline`` (a ``time.perf_counter()`` instant): it is checked
before every round trip of the queue, so a long example (a library that waits in real
time) ends mid-run and the search stops there, having found nothing; once a run has
failed, shrinking is bounded by ``shrink_seconds`` instead.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as Settings
from hypothesis.errors import Flaky
from hypothesis.internal.conjecture import engine, providers
from hypothesis.internal.constants_ast import Constants
from hypothesis.reporting import with_reporter
from hypothesis.stateful import run_state_machine_as_test

from harness.checks import Verdict, check_history
from harness.checks.audit_state import Audit, audit_from_json
from harness.checks.verdicts import Kind
from harness.contract import ManualClock, Outcome, Steps, TaskQueue, TaskStatus, TaskView
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
from harness.explorer.riding import riding_pool
from harness.explorer.trace import Stage
from harness.explorer.world import World, WorldConfig
from harness.history import frame_from_events


class OutOfTime(BaseException):
    """The search's deadline passed in the middle of an example.

    A ``BaseException``, as ``KeyboardInterrupt`` is: Hypothesis does not take it for a
    failure of the run (which it would shrink) but lets it end the whole search at once.
    """


# The queue's operations: each round trip of each is a point where the deadline is checked.
OPERATIONS = ("submit", "claim", "complete", "fail", "heartbeat", "rescue_expired", "inspect",
              "stats")  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResult:
    target: Target
    seed: int
    world: World | None  # the minimal failing run, None when nothing was found
    examples: int
    steps: int
    elapsed_s: float
    first_failure_s: float | None
    # Steps up to the first failing example: a seed decides it, so unlike the time it
    # measures the search whatever the load (``benchmarks/explorer_steps.py``).
    first_failure_steps: int | None = None
    out_of_time: bool = False  # the deadline ended the search in the middle of an example
    # Completions and failures the queue refused during the search, by outcome (e.g. a
    # fencing token check answering ``lease_lost``): what a fence did while nothing broke.
    refused: dict[str, int] = field(default_factory=dict)
    program: tuple[str, ...] = ()  # Hypothesis's reproduction: ``state.w0_claim()``...

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


@contextlib.contextmanager
def module_independent() -> Iterator[None]:
    """Make the examples a seed generates independent of which modules are imported.

    Hypothesis now and then draws an integer from the constants it finds in the source
    of the *local* modules imported so far (``providers._get_local_constants``), and
    caches the pools it derives from them for the whole process. Which of the project's
    modules are imported when a search starts depends on what ran before it (in a test
    run: which tests this xdist worker was given), so the same seed produced different
    examples from one run to the next: the bounded zoo test found saq's double run in
    one process and missed it in another. Here the local pool is empty during the
    search (Hypothesis's global constants still apply) and the derived pools are
    rebuilt on the way in and out. Hypothesis offers no setting for this.
    """
    before = providers._get_local_constants
    providers._get_local_constants = Constants  # each call: a new, empty pool
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = before
        providers.CONSTANTS_CACHE.cache.clear()


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
    deadline: float | None = None,
) -> SearchResult:
    """Search for a run with a finding matching ``target``; minimal one if found.

    With a ``deadline``, no new round trip starts after it until a run has failed (the
    example in progress is abandoned, as a crash would leave it, and the search ends);
    shrinking and then the final minimisation get ``shrink_seconds`` each (without a
    deadline, the minimisation runs to its end).
    """
    # One connection held for the whole search: a round trip skips the pool (its lock
    # and the readiness check it makes of a connection before each command). The pool is
    # the search's own: its connections carry the views behind the queue's commands.
    pool = riding_pool(client.connection_pool)
    own = redis.Redis(connection_pool=pool, single_connection_client=True)
    with contextlib.closing(pool), contextlib.closing(own):
        sink, refused = Sink(), Counter[str]()
        exploration = Exploration(
            client=own,
            factory=_instrumented(factory, sink, deadline, refused),
            sink=sink,
            config=config or WorldConfig(),
            target=target,
            judge_history=judge,
        )
        machine = hypothesis_seed(seed)(machine_for(exploration))
        # The seed decides, for reproducibility. Against a deadline the first failing run
        # ends the generation (Hypothesis would go on looking for other bugs of the kind).
        chosen = Settings(settings, derandomize=False, report_multiple_bugs=deadline is None)
        world: World | None = None
        out_of_time = False
        program: tuple[str, ...] = ()
        with shrink_limit(shrink_seconds), module_independent(), with_reporter(_quiet):
            try:
                run_state_machine_as_test(machine, settings=chosen)
            except ViolationFound as exc:
                world = sink.failing  # the final replay of the minimal example
                program = program_of(getattr(exc, "__notes__", ()))
            except Flaky:
                # A queue whose runs depend on real time (a library's background task) can
                # replay a prefix differently while Hypothesis shrinks. The last failing run
                # still happened: keep it; the caller's replay on a fresh Redis confirms it.
                world = sink.failing
            except OutOfTime:
                out_of_time = True
        if sink.world is not None:
            sink.steps += len(sink.world.trace.records)
        if world is not None:
            until = None if deadline is None else time.perf_counter() + shrink_seconds
            world = minimize(own, factory, world, target, config=config, deadline=until)
    return SearchResult(
        target=target,
        seed=seed,
        world=world,
        examples=sink.examples,
        steps=sink.steps,
        elapsed_s=time.perf_counter() - sink.started,
        first_failure_s=sink.first_failure_s,
        first_failure_steps=sink.first_failure_steps,
        out_of_time=out_of_time,
        refused=dict(refused),
        program=program,
    )


def _instrumented(
    factory: QueueFactory, sink: Sink, deadline: float | None, refused: Counter[str]
) -> QueueFactory:
    """The factory, its queues checking the deadline before each round trip (until a
    run has failed: from then on Hypothesis is shrinking, bounded on its own) and
    tallying the completions and failures they refuse."""

    def check() -> None:
        if deadline is not None and sink.failing is None and time.perf_counter() >= deadline:
            raise OutOfTime

    def make(client: redis.Redis, clock: ManualClock) -> TaskQueue:
        check()
        queue = factory(client, clock)
        for name in OPERATIONS:
            operation = getattr(queue, name)
            tally = refused if name in ("complete", "fail") else None
            # A queue class with __slots__ refuses this: its examples then end only
            # between examples, where the check above runs.
            with contextlib.suppress(AttributeError):
                setattr(queue, name, functools.partial(_checked, operation, check, tally))
        return queue

    return make


def _checked(
    operation: Callable[..., Steps[Any]],
    check: Callable[[], None],
    tally: Counter[str] | None,
    *args: Any,
) -> Steps[Any]:
    """The operation's round trips, each preceded by ``check``; a check that raises
    closes the operation there (as a crash between two round trips would)."""
    check()  # before the operation exists: nothing of it started, nothing to close
    steps = operation(*args)
    with contextlib.closing(steps):
        while True:
            try:
                point = next(steps)
            except StopIteration as stop:
                value = stop.value
                if tally is not None and isinstance(value, Outcome) and not value.accepted:
                    tally[str(value)] += 1
                return value
            yield point
            check()


def _quiet(_: Any) -> None:
    """Hypothesis's own reports while searching: the trace tells the run instead."""


def program_of(notes: Sequence[str]) -> tuple[str, ...]:
    """Hypothesis's reproduction of the minimal example, from the notes it adds to the
    failure (``state = QueueMachine()`` ... ``state.teardown()``): a program that replays
    the run on the class :func:`machine_for` builds for the same exploration."""
    lines = [line for note in notes for line in str(note).splitlines()]
    starts = [i for i, line in enumerate(lines) if line.startswith("state = ")]
    if not starts:
        return ()
    return tuple(line for line in lines[starts[-1] :] if line.startswith("state"))


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


def judge_history(
    events: list[dict[str, Any]],
    lease_timeout: float,
    final: Mapping[str, TaskView | None] | None = None,
) -> list[Finding]:
    """The analyzer's verdict on a run's history, as model findings (op ``history``).

    ``final``: the queue's view of each task after the drain, read by the checks as a
    deployment's ``audit.json`` is (a task the queue failed on its own, e.g. dead-lettered
    after too many expirations, has no event in the history that says so).
    """
    if not events:
        return []
    audit = None if final is None else audit_of(final)
    report = check_history(
        frame_from_events(events), audit=audit, lease_timeout=lease_timeout, drained=True
    )
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


def audit_of(final: Mapping[str, TaskView | None]) -> Audit:
    """The queue's final view of each task in the shape of ``audit.json`` (contract)."""
    tasks = {
        task_id: {"status": str(TaskStatus.MISSING)}
        if view is None
        else {
            "status": str(view.status),
            "attempts": view.attempts,
            "record_status": view.record_status,
            "pending_copies": view.pending_copies,
            "in_processing": view.in_processing,
        }
        for task_id, view in final.items()
    }
    return audit_from_json({"tasks": tasks})
