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
heartbeat, some never submit more: bugs needing long undisturbed stretches of the other
steps are reached far more often.

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
    busy,
    lease_live,
    options,
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
            # the names of the rules enabled in the world as it is; forgotten by every step
            self.enabled_now: frozenset[str] | None = None
            ex.sink.begin(self.world)

        @initialize(tasks=st.integers(1, 2), quiet=st.frozensets(st.sampled_from(SWARM)))
        def submit_initial_tasks(self, tasks: int, quiet: frozenset[str]) -> None:
            self.quiet = quiet  # swarm testing: kinds of step this example never takes
            for _ in range(tasks):
                self.world.run_to_end(Step(actor=PRODUCER, action=Action.SUBMIT))
            self.world.stage = Stage.SEARCH
            self.enabled_now = None

        def do(self, step: Step) -> None:
            try:
                found = self.world.perform(step)
            finally:
                self.enabled_now = None  # the world changed: every precondition is asked anew
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
# undisturbed stretches of the other steps are reached far more often. Rescues, clock
# jumps and failure reports are never left out: almost every race needs a lease to run
# out and a janitor to act on it, and the note's F8 a failure report on top; leaving
# them out made most examples unable to reach those races (steps to the first
# counterexample fell 5 to 20 times once they were kept: benchmarks/NOTES.md).
SWARM: tuple[str, ...] = tuple(
    str(a)
    for a in (
        Action.CRASH,
        Action.HEARTBEAT,
        Action.SUBMIT,
        Action.RESUBMIT,
    )
)


class _EveryRule(RuleStrategy):
    """Hypothesis's rule choice, one draw per step, without its own swarm testing.

    Hypothesis turns each rule *name* off at random per example. A race here needs
    seven or eight distinct rules (``w0_claim``, ``w0_step``, ``clock_advance``,
    ``j0_rescue``, ``j0_step``, ``w0_complete``...) all on at once, which per-name flags
    allow in about one example in eight; the machine's own swarm (``quiet``, per kind of
    step) keeps the benefit without that cost. Measured in ``benchmarks/explorer.py``.

    Hypothesis's own draw tries random rules among all of them, then lists the enabled
    ones, asking each precondition about 24 times a step. This draws one index into the
    rules enabled now (computed once per step: ``QueueMachine.enabled``), then each
    argument as one index into its options (``rules.options``), not through a
    strategy built anew for every draw.
    """

    def do_draw(self, data: Any) -> tuple[Any, dict[str, Any]]:
        machine = cast(Any, self.machine)
        # Never empty: the clock's rule is enabled whenever no other is. (The machine has
        # no bundles, so preconditions are all there is to ask.)
        names = machine.enabled()
        enabled = machine.rule_lists.get(names)
        if enabled is None:
            enabled = machine.rule_lists[names] = [
                r for r in self.rules if r.function.__name__ in names
            ]
        rule = enabled[data.draw_integer(0, len(enabled) - 1)]
        arguments: dict[str, Any] = {}
        for name, options_of in machine.options[rule.function.__name__].items():
            options = options_of(machine.world)
            arguments[name] = options[data.draw_integer(0, len(options) - 1)]
        return rule, arguments


@dataclass(frozen=True, slots=True)
class _Gate:
    """When the rule ``name`` (``actor`` taking ``action``) is enabled."""

    name: str
    actor: str
    action: Action
    when: Enabled


@dataclass(frozen=True, slots=True)
class _ActorGates:
    """One actor's rules, split by what an operation in flight allows: ``busy`` names
    the rules enabled exactly while one is in flight (``step``, ``crash``); every other
    precondition in :mod:`harness.explorer.rules` requires the actor idle, so ``idle``'s
    are asked only then, each precondition once for the rules it gates (a worker's
    ``heartbeat``, ``complete`` and ``fail`` share one)."""

    actor: str
    busy: tuple[str, ...]
    idle: tuple[tuple[Enabled, tuple[str, ...]], ...]


def _by_actor(gates: Sequence[_Gate], quiet: frozenset[str]) -> tuple[_ActorGates, ...]:
    """The gates of the kinds of step an example does not leave out, per actor."""
    kept = [g for g in gates if g.action not in quiet]
    groups = []
    for actor in dict.fromkeys(g.actor for g in kept):
        own = [g for g in kept if g.actor == actor]
        idle: dict[Enabled, tuple[str, ...]] = {}
        for g in own:
            if g.when is not busy:
                idle[g.when] = (*idle.get(g.when, ()), g.name)
        groups.append(
            _ActorGates(actor, tuple(g.name for g in own if g.when is busy), tuple(idle.items()))
        )
    return tuple(groups)


def _enabled(world: World, quiet: frozenset[str], groups: Sequence[_ActorGates]) -> frozenset[str]:
    """The names of the rules enabled in ``world``. The clock also moves when no other
    rule can (every task finished or lost, nothing left to submit): Hypothesis needs
    some rule to run until the example ends."""
    names: list[str] = []
    actors = world.actors
    for group in groups:
        actor = actors[group.actor]
        if actor.in_flight is not None:
            names += group.busy
        else:
            for when, gated in group.idle:
                if when(world, actor):
                    names += gated
    if not names or (Action.ADVANCE not in quiet and lease_live(world, None)):
        names.append(rule_name(CLOCK, Action.ADVANCE))
    return frozenset(names)


RuleDecorator = Callable[[Callable[..., None]], Callable[..., None]]


def _add_rules(cls: type[Any], config: WorldConfig) -> None:
    roles = [(name, WORKER_RULES) for name in worker_names(config)]
    roles += [(name, JANITOR_RULES) for name in janitor_names(config)]
    roles += [(PRODUCER, PRODUCER_RULES)]
    gates = [
        _Gate(rule_name(actor, a), actor, a, when)
        for actor, table in roles
        for a, when in table.items()
    ]

    grouped: dict[frozenset[str], tuple[_ActorGates, ...]] = {}  # per kinds left out

    def enabled(self: Any) -> frozenset[str]:
        if self.enabled_now is None:
            groups = grouped.get(self.quiet)
            if groups is None:
                groups = grouped[self.quiet] = _by_actor(gates, self.quiet)
            self.enabled_now = _enabled(self.world, self.quiet, groups)
        names: frozenset[str] = self.enabled_now
        return names

    cls.enabled = enabled
    cls.options = {}  # rule name -> its arguments' options
    cls.rule_lists = {}  # enabled rule names -> those rules, in Hypothesis's order
    for gate in gates:
        _add_rule(cls, gate.actor, gate.action)
    _add_rule(cls, CLOCK, Action.ADVANCE)


def rule_name(actor: str, action: Action) -> str:
    """``w0_claim``, ``j1_rescue``, ``p_submit``, ``clock_advance``..."""
    return f"{actor.lower()}_{action}"


def _add_rule(cls: type[Any], actor: str, action: Action) -> None:
    """Attach the rule ``<actor>_<action>``, enabled when ``cls.enabled`` names it."""
    name = rule_name(actor, action)

    def enabled(self: Any) -> bool:
        return name in self.enabled()

    def take(self: Any, task: str | None = None, retry: bool = False) -> None:
        self.do(Step(actor=actor, action=action, task_id=task, retry=retry))

    take.__name__ = take.__qualname__ = name
    enabled.__name__ = enabled.__qualname__ = f"{name}_enabled"
    cls.options[name] = options(actor, action)
    drawn: dict[str, Any] = arguments(actor, action)  # (rule()'s overloads want literals)
    as_rule = cast(RuleDecorator, rule(**drawn))
    setattr(cls, name, as_rule(precondition(enabled)(take)))
