"""The one generic Hypothesis state machine: a rule per actor and kind of step.

:func:`machine_for` builds a ``RuleBasedStateMachine`` class for an
:class:`Exploration` (a Redis client, a queue factory, the actors, and a
:class:`~harness.explorer.oracle.Target` saying which findings fail the run). Its rules
are generated per actor, so Hypothesis prints a failing run as the steps themselves, a
program that replays it on a machine class built for the same exploration::

    state = QueueMachine()
    state.submit_initial_tasks(tasks=1, quiet=frozenset())
    state.w0_claim()
    state.w0_step()
    state.w0_step()
    state.clock_advance()
    state.j0_rescue()
    state.j0_step()
    state.w0_complete(task='t0')
    state.w0_step()
    state.teardown()

- workers ``w0..``: ``claim`` / ``heartbeat`` / ``complete(task)`` / ``fail(task, retry)``
  start an operation and perform its first round trip; ``step`` is one more round trip
  of the operation in flight; ``crash`` abandons it and every claim held;
- janitors ``j0..``: ``rescue``, ``step``, ``crash``;
- the producer ``p``: ``submit`` a new id, ``resubmit(task)`` an existing one, ``step``;
- ``clock_advance``: time jumps past the lease (lease + 1 s), so leases expire on demand.

Each rule's precondition is sharp, so the rules enabled at any moment are few and each
can change something: an actor with an operation in flight can only ``step`` or
``crash`` (crashes happen between two round trips); a worker claims only while it
holds nothing and some task is pending, and reports or heartbeats only claims it
holds; a janitor rescues only while some task is processing; the producer submits
only to a queue that ran dry; the clock moves only while some lease is live (any
processing task's, for a queue timing leases on real time; or when nothing else can
happen; the preconditions are in :mod:`harness.explorer.rules`). Idle actors of one
role holding nothing are interchangeable, so only the first of them may start an
operation. Hypothesis chooses uniformly among the enabled rules; its own per-rule swarm
flags are turned off (:class:`_EveryRule` says why) and each example instead leaves
out a random set of kinds of step (``quiet``), so some runs never crash, some never
fail, some never rescue: bugs needing long undisturbed stretches of the other steps
are reached far more often.

Each example flushes the database first. After every step the model judges the
answers and the queue's state; at the end a healthy worker and janitor drain the queue
and exactly-once is judged, as is the history (by the analyzer, when one is given).
No rule knows any bug: what fails a run is only the target's filter over findings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import redis
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    RuleStrategy,
    initialize,
    precondition,
    rule,
)

from harness.contract import (
    ManualClock,
    TaskQueue,
    TaskView,
)
from harness.explorer.actors import Action, Step
from harness.explorer.oracle import Finding, Target
from harness.explorer.rules import (
    JANITOR_RULES,
    PRODUCER_RULES,
    WORKER_RULES,
    Enabled,
    arguments,
    lease_live,
)
from harness.explorer.trace import Stage
from harness.explorer.world import (
    CLOCK,
    PRODUCER,
    World,
    WorldConfig,
    janitor_names,
    worker_names,
)
from harness.queues import build_queue, queue_class

QueueFactory = Callable[[redis.Redis, ManualClock], TaskQueue]
# (events, lease, the queue's final view of each task) -> findings
HistoryJudge = Callable[[list[dict[str, Any]], float, Mapping[str, TaskView | None]], list[Finding]]


def queue_factory(impl: str, *, lease_timeout: float = 30.0) -> QueueFactory:
    """``naive``, ``safe`` or ``module:Class``; raises ``ConfigError`` early. The queue
    gets a Redis client in the mode its class declares (``decode_responses``)."""
    cls = queue_class(impl)

    def make(client: redis.Redis, clock: ManualClock) -> TaskQueue:
        return build_queue(cls, client, clock=clock, lease_timeout=lease_timeout)

    return make


class ViolationFound(AssertionError):
    """A finding matched the target: Hypothesis shrinks the run that raised it."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("; ".join(f"{f.kind} {f.task_id}: {f.explanation}" for f in findings))
        self.findings = findings


@dataclass(slots=True)
class Sink:
    """What the examples leave behind, across a whole search (mutable, one per search)."""

    started: float = field(default_factory=time.perf_counter)
    examples: int = 0
    steps: int = 0
    first_failure_s: float | None = None
    first_failure_steps: int | None = None  # steps taken up to the first failing example's end
    world: World | None = None  # the latest example's; after a failed search, the minimal one
    failing: World | None = None  # the latest example that failed

    def begin(self, world: World) -> None:
        if self.world is not None:
            self.steps += len(self.world.trace.records)
        self.examples += 1
        self.world = world

    def failed(self, world: World) -> None:
        if self.first_failure_s is None:
            self.first_failure_s = time.perf_counter() - self.started
            self.first_failure_steps = self.steps + len(world.trace.records)
        self.failing = world


@dataclass(frozen=True, slots=True, kw_only=True)
class Exploration:
    client: redis.Redis
    factory: QueueFactory
    sink: Sink
    config: WorldConfig = field(default_factory=WorldConfig)
    target: Target = field(default_factory=Target)
    judge_history: HistoryJudge | None = None


def machine_for(ex: Exploration) -> type[RuleBasedStateMachine]:
    """A fresh machine class for this exploration (rules generated per actor)."""

    class QueueMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self._rules_strategy = _EveryRule(self)  # see _EveryRule: our swarm is per kind
            ex.client.flushdb()  # every example starts from an empty queue
            clock = ManualClock()
            self.world = World(ex.factory(ex.client, clock), clock, ex.config)
            self.failed = False
            self.quiet: frozenset[str] = frozenset()
            # each rule's precondition answered for the world as it is; emptied by a step
            self.answers: dict[str, bool] = {}
            ex.sink.begin(self.world)

        @initialize(tasks=st.integers(1, 2), quiet=st.frozensets(st.sampled_from(SWARM)))
        def submit_initial_tasks(self, tasks: int, quiet: frozenset[str]) -> None:
            self.quiet = quiet  # swarm testing: kinds of step this example never takes
            for _ in range(tasks):
                self.world.run_to_end(Step(actor=PRODUCER, action=Action.SUBMIT))
            self.world.stage = Stage.SEARCH
            self.answers.clear()

        def do(self, step: Step) -> None:
            try:
                found = self.world.perform(step)
            finally:
                self.answers.clear()  # the world changed: every precondition is asked anew
            self.judge(found)

        def judge(self, found: list[Finding]) -> None:
            matching = [f for f in found if ex.target.matches(f)]
            if matching:
                self.failed = True
                ex.sink.failed(self.world)
                raise ViolationFound(matching)

        def teardown(self) -> None:
            if self.failed:
                return
            self.judge(self.world.drain())
            if ex.judge_history is not None:
                events = self.world.history.events
                final = self.world.views()
                self.judge(ex.judge_history(events, self.world.queue.lease_timeout, final))

    _add_rules(QueueMachine, ex.config)
    return QueueMachine


# Swarm testing (Groce et al.): each example leaves out a random subset of these kinds
# of step, so some runs never crash, some never fail, ... and bugs that need long
# undisturbed stretches of the other steps are reached far more often.
SWARM: tuple[str, ...] = tuple(
    str(a)
    for a in (
        Action.CRASH,
        Action.HEARTBEAT,
        Action.FAIL,
        Action.SUBMIT,
        Action.RESUBMIT,
        Action.RESCUE,
        Action.ADVANCE,
    )
)


class _EveryFlag:
    def is_enabled(self, name: str) -> bool:
        return True


class _EveryRule(RuleStrategy):
    """Hypothesis's rule choice without its own swarm testing.

    Hypothesis turns each rule *name* off at random per example. A race here needs
    seven or eight distinct rules (``w0_claim``, ``w0_step``, ``clock_advance``,
    ``j0_rescue``, ``j0_step``, ``w0_complete``...) all on at once, which per-name flags
    allow in about one example in eight; the machine's own swarm (``quiet``, per kind of
    step) keeps the benefit without that cost. Measured in ``benchmarks/explorer.py``.

    Its rule choice asks candidate rules' preconditions through Hypothesis's bookkeeping
    for its observability reports, about 24 times a step here; this asks them directly
    (each answer is kept until the next step: ``QueueMachine.answers``). The draws
    themselves are Hypothesis's, so a seed gives the same examples as without it.
    """

    def __init__(self, machine: RuleBasedStateMachine) -> None:
        super().__init__(machine)
        self.enabled_rules_strategy = st.just(_EveryFlag())  # type: ignore[arg-type]

    def is_valid(self, rule: Any) -> bool:
        if rule.bundles:  # (the machine has none; Hypothesis's check if one is added)
            return bool(super().is_valid(rule))
        return all(p(self.machine) for p in rule.preconditions)


Gate = Callable[[Any], bool]
RuleDecorator = Callable[[Callable[..., None]], Callable[..., None]]


def _add_rules(cls: type[Any], config: WorldConfig) -> None:
    gates: list[Gate] = []
    for name in worker_names(config):
        gates += [_add_rule(cls, name, a, when) for a, when in WORKER_RULES.items()]
    for name in janitor_names(config):
        gates += [_add_rule(cls, name, a, when) for a, when in JANITOR_RULES.items()]
    gates += [_add_rule(cls, PRODUCER, a, when) for a, when in PRODUCER_RULES.items()]
    # The clock also moves when no other rule can (every task finished or lost, nothing
    # left to submit): Hypothesis needs some rule to run until the example ends.
    _add_rule(cls, CLOCK, Action.ADVANCE, lease_live, otherwise=gates)


def rule_name(actor: str, action: Action) -> str:
    """``w0_claim``, ``j1_rescue``, ``p_submit``, ``clock_advance``..."""
    return f"{actor.lower()}_{action}"


def _add_rule(
    cls: type[Any], actor: str, action: Action, when: Enabled, otherwise: Sequence[Gate] = ()
) -> Gate:
    """Attach the rule ``<actor>_<action>``; returns its precondition."""
    name = rule_name(actor, action)

    def enabled(self: Any) -> bool:
        answers: dict[str, bool] = self.answers
        answer = answers.get(name)
        if answer is None:
            answer = answers[name] = _enabled(self)
        return answer

    def _enabled(self: Any) -> bool:
        world: World = self.world
        if action not in self.quiet and when(world, world.actors.get(actor)):
            return True
        return bool(otherwise) and not any(gate(self) for gate in otherwise)

    def take(self: Any, task: str | None = None, retry: bool = False) -> None:
        self.do(Step(actor=actor, action=action, task_id=task, retry=retry))

    take.__name__ = take.__qualname__ = name
    enabled.__name__ = enabled.__qualname__ = f"{name}_enabled"
    drawn: dict[str, Any] = arguments(actor, action)  # (rule()'s overloads want literals)
    as_rule = cast(RuleDecorator, rule(**drawn))
    setattr(cls, name, as_rule(precondition(enabled)(take)))
    return enabled
