"""When each rule of the explorer's state machine is enabled, and what it draws.

A rule's precondition reads the world (the queue's own view of every task after the
latest step, and the actor); it is sharp, so the rules enabled at any moment are few
and each can change something. :func:`harness.explorer.machine.machine_for` attaches
one rule per actor and kind of step, from the tables at the end of this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from harness.contract import TaskStatus, TaskView, TimeSource, declared
from harness.explorer.actors import Action, Actor
from harness.explorer.world import World

# ---- the rules' arguments: drawn from the machine's state, printed by Hypothesis --------

# What an argument may be, in the world as it is (the rule's precondition says there is
# at least one option).
Options = Callable[[World], Sequence[Any]]


def _held_by(actor: str) -> Options:
    """A task the actor holds a claim of."""
    return lambda w: [c.task_id for c in w.actors[actor].held]


def _submitted(w: World) -> Sequence[str]:
    return w.submitted


def _retry(_: World) -> Sequence[bool]:
    return (False, True)


def options(actor: str, action: Action) -> dict[str, Options]:
    """Each argument of the rule and its options (drawn by ``machine._EveryRule``)."""
    match action:
        case Action.COMPLETE:
            return {"task": _held_by(actor)}
        case Action.FAIL:
            return {"task": _held_by(actor), "retry": _retry}
        case Action.RESUBMIT:
            return {"task": _submitted}
        case _:
            return {}


def arguments(actor: str, action: Action) -> dict[str, SearchStrategy[Any]]:
    """The same options as strategies, as Hypothesis's ``rule()`` declares arguments."""

    def strategy(of: Options) -> SearchStrategy[Any]:
        return st.runner().flatmap(lambda m: st.sampled_from(of(m.world)))

    return {name: strategy(of) for name, of in options(actor, action).items()}


# ---- when each rule is enabled, from the world and the actor (None for the clock) -------

Enabled = Callable[[World, Any], bool]


def _views(w: World) -> Mapping[str, TaskView | None]:
    """Where each task was after the latest step, as the queue itself reported it."""
    return w.trace.records[-1].views if w.trace.records else {}


class _Latest:
    """What the latest views say, worked out once: one step's preconditions ask it about
    ten times (each record's views are a new mapping, so identity tells a new step)."""

    views: object = None
    pending = False
    processing: tuple[str, ...] = ()


def _latest(w: World) -> type[_Latest]:
    views = _views(w)
    if views is not _Latest.views:
        _Latest.pending = any(
            v is not None and (v.pending_copies > 0 or v.status is TaskStatus.PENDING)
            for v in views.values()
        )
        _Latest.processing = tuple(
            t
            for t, v in views.items()
            if v is not None and (v.in_processing or v.status is TaskStatus.PROCESSING)
        )
        _Latest.views = views
    return _Latest


def _pending(w: World) -> bool:
    return _latest(w).pending


def _processing(w: World) -> tuple[str, ...]:
    return _latest(w).processing


def _fresh(a: Actor) -> bool:
    return a.idle and not a.held


def _first_fresh(w: World, a: Actor) -> bool:
    """Symmetry: actors of one role that are idle and hold nothing are interchangeable,
    so only the first of them starts an operation (the others would only rename it)."""
    if not _fresh(a):
        return True
    for other in w.actors.values():
        if other is a:
            return True
        if other.role is a.role and _fresh(other):
            return False
    return True


def _claimable(w: World, a: Actor) -> bool:
    """Holding nothing (a worker runs one task at a time, as the note's workers do), and
    some task is pending (a claim of an empty queue changes nothing)."""
    return _fresh(a) and _pending(w) and _first_fresh(w, a)


def _rescuable(w: World, a: Actor) -> bool:
    """Idle, and some task is processing (a rescue has something to look at)."""
    return a.idle and bool(_processing(w)) and _first_fresh(w, a)


def busy(_: World, a: Actor) -> bool:
    """An operation in flight: one more round trip, or a crash between two."""
    return not a.idle


def _reporting(_: World, a: Actor) -> bool:
    """Idle and holding a claim to report on (or to heartbeat)."""
    return a.idle and bool(a.held)


def _room(w: World, a: Actor) -> bool:
    """Room for a new task, and none is waiting: the producer feeds a queue that ran dry
    (an example starts with one or two tasks; more waiting adds length, not races)."""
    return a.idle and len(w.submitted) < w.config.max_tasks and not _pending(w)


def _resubmittable(w: World, a: Actor) -> bool:
    # Without idempotent submit a second submit of one id is a second task: the
    # caller's duplicate, not the queue's race.
    return a.idle and bool(w.submitted) and bool(declared(w.queue, "idempotent_submit"))


def lease_live(w: World, _: None) -> bool:
    """Some processing task's lease has not expired yet, so a clock jump would expire it.
    The model's expiry is trusted only when every time source of the queue follows the
    injected clock; a library timing its leases on real time gets a jump whenever some
    task is processing (the model cannot see when its leases run out)."""
    processing = _processing(w)
    if not processing or w.on_clock_advance is not None or _real_time(w):
        return bool(processing)
    now = w.clock.now()
    for task_id in processing:
        task = w.model.tasks.get(task_id)
        owner = task.owner if task is not None else None
        if owner is None or (not owner.released and owner.expires_at >= now):
            return True
    return False


def _real_time(w: World) -> bool:
    sources = declared(w.queue, "time_sources").values()
    return any(TimeSource(s) is TimeSource.REAL for s in sources)


# A crash is offered only between two round trips of an operation: a worker dying
# while idle with claims held loses the same as dying inside its next report.
WORKER_RULES: dict[Action, Enabled] = {
    Action.CLAIM: _claimable,
    Action.HEARTBEAT: _reporting,
    Action.COMPLETE: _reporting,
    Action.FAIL: _reporting,
    Action.STEP: busy,
    Action.CRASH: busy,
}
JANITOR_RULES: dict[Action, Enabled] = {
    Action.RESCUE: _rescuable,
    Action.STEP: busy,
    Action.CRASH: busy,
}
PRODUCER_RULES: dict[Action, Enabled] = {
    Action.SUBMIT: _room,
    Action.RESUBMIT: _resubmittable,
    Action.STEP: busy,
}
