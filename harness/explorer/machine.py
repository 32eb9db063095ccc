"""The one generic Hypothesis state machine: rules are single steps of named actors.

:func:`machine_for` builds a ``RuleBasedStateMachine`` class for an
:class:`Exploration` (a Redis client, a queue factory, the actors, and a
:class:`~harness.explorer.oracle.Target` saying which findings fail the run). It has one
weighted rule, ``act``, which draws a kind of step and the actor that takes it (see
:func:`_add_rules` for why), so Hypothesis prints a shrunk run as ``state.act(...)``
calls; the readable form of a counterexample is the story and the note-style table the
explorer writes. The steps:

- workers ``W0..``: claim / complete / fail (retry or not) / heartbeat — each starts an
  operation and performs its first round trip — then ``step`` (one more round trip)
  or ``crash`` (abandon the op and every claim held, between any two steps);
- janitors ``J0..``: rescue_expired, step, crash;
- the producer: submit a new id, resubmit an existing one, step;
- the clock: jump past the lease, so leases expire on demand.

Each example flushes the database first. After every step the model judges the
answers and the queue's state; at the end a healthy worker and janitor drain the queue
and exactly-once is judged, as is the history (by the analyzer, when one is given).
No rule knows any bug: what fails a run is only the target's filter over findings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import redis
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from harness.contract import ManualClock, TaskQueue, TaskView
from harness.explorer.actors import Action, Step
from harness.explorer.oracle import Finding, Target
from harness.explorer.trace import Stage
from harness.explorer.world import PRODUCER, World, WorldConfig
from harness.queues import build_queue, queue_class

T = TypeVar("T")
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
            ex.client.flushdb()  # every example starts from an empty queue
            clock = ManualClock()
            self.world = World(ex.factory(ex.client, clock), clock, ex.config)
            self.failed = False
            self.quiet: frozenset[Action] = frozenset()
            ex.sink.begin(self.world)

        @initialize(tasks=st.integers(1, 2), quiet=st.frozensets(st.sampled_from(SWARM)))
        def submit_initial_tasks(self, tasks: int, quiet: frozenset[Action]) -> None:
            self.quiet = quiet  # swarm testing: kinds of step this example never takes
            for _ in range(tasks):
                self.world.run_to_end(Step(actor=PRODUCER, action=Action.SUBMIT))
            self.world.stage = Stage.SEARCH

        def do(self, step: Step) -> None:
            self.judge(self.world.perform(step))

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

    _add_rules(QueueMachine)
    return QueueMachine


# How often each kind of step is drawn, among those possible now. Generic, not per bug:
# operations in flight are advanced and claims reported more often than new operations
# start, and the disruptive steps (crash, clock, janitor) are rarer, so a run does
# not lose or expire every task before anything interesting can happen to it.
WEIGHTS: dict[Action, int] = {
    Action.STEP: 6,
    Action.CLAIM: 4,
    Action.COMPLETE: 3,
    Action.FAIL: 3,
    Action.RESCUE: 2,
    Action.ADVANCE: 2,
    Action.CRASH: 1,
    Action.HEARTBEAT: 1,
    Action.SUBMIT: 1,
    Action.RESUBMIT: 1,
}

# Swarm testing (Groce et al.): each example leaves out a random subset of these, so
# some runs never crash, some never fail, ... and bugs that need long undisturbed
# stretches of the other steps are reached far more often.
SWARM = (
    Action.CRASH,
    Action.HEARTBEAT,
    Action.FAIL,
    Action.SUBMIT,
    Action.RESUBMIT,
    Action.RESCUE,
    Action.ADVANCE,
)


# The weighted list an action is drawn from. Fixed (not rebuilt from what is possible
# now) and filtered, so a choice keeps its meaning when the shrinker deletes steps.
ACTION_CHOICES: tuple[Action, ...] = tuple(a for a, w in WEIGHTS.items() for _ in range(w))


# Built once: a strategy per step would cost more than the step's Redis round trip.
_ACTION_INDEX = st.integers(0, len(ACTION_CHOICES) - 1)
_ACTOR_INDEX = st.integers(0, 31)
_WHICH = st.integers(0, 3)


def _first_valid(items: Sequence[T], start: int, valid: Callable[[T], bool]) -> T:
    """The first valid item at or after ``start`` (cyclically): a drawn index keeps its
    meaning as far as possible when the shrinker changes the state around it."""
    for k in range(len(items)):
        item = items[(start + k) % len(items)]
        if valid(item):
            return item
    raise AssertionError("no valid choice: the rule's precondition should have held")


def _add_rules(cls: type[Any]) -> None:
    """One rule, ``act``: draw a kind of step (weighted), then which actor takes it.

    (One rule per actor and action would make Hypothesis pick uniformly among ~30
    rules, most of them idle noise; the decisive steps would be too rare.)
    """

    def possible(self: Any) -> bool:
        return any(self.world.options(a) for a in WEIGHTS if a not in self.quiet)

    def act(self: Any, data: st.DataObject) -> None:
        world = self.world
        offered = {a: world.options(a) for a in WEIGHTS if a not in self.quiet}
        choice = data.draw(_ACTION_INDEX, label="action")
        action = _first_valid(ACTION_CHOICES, choice, lambda a: bool(offered.get(a)))
        options = offered[action]
        names = {o.actor for o in options}
        actor = _first_valid(
            world.names, data.draw(_ACTOR_INDEX, label="actor"), names.__contains__
        )
        mine = [o for o in options if o.actor == actor]
        step = mine[data.draw(_WHICH, label="which") % len(mine)] if mine[1:] else mine[0]
        if action is Action.FAIL:
            step = replace(step, retry=data.draw(st.booleans(), label="retry"))
        self.do(step)

    act.__name__ = act.__qualname__ = "act"
    cls.act = rule(data=st.data())(precondition(possible)(act))
