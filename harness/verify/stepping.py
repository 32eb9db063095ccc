"""The explorer's World, reading the whole database once per step.

After every step that talks to Redis the world needs every task's whereabouts (for
the model) and the verifier needs every key (for the fingerprint and a snapshot).
:class:`VerifyWorld` gets both from one round trip: it reads the whole database
(``fingerprint.RedisReader``) and, for the two reference queues, derives the views
from it with the queues' own ``view_of`` (record, pending copies, processing
membership: the same three facts ``reference_queue.inspect`` reads). Any other queue
is inspected through its own ``inspect`` as in the explorer, one extra round trip.

:class:`Light` saves and puts back the Python side of a state *with* operations in
flight (the generators are shared, not copied): good for undoing a step that left
every generator as it was — the clock moving, an idle actor crashing, or an idle actor
starting an operation. When such a step talks to Redis, ``rewind_to`` has the read
after it put the previous keys back in the same round trip, so undoing it costs no
round trip of its own.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from harness.contract import ManualClock, TaskId, TaskQueue, TaskView
from harness.explorer.actors import Actor, Step
from harness.explorer.oracle import Model
from harness.explorer.trace import HistoryLog, Trace
from harness.explorer.world import CLOCK, World, WorldConfig
from harness.verify.fingerprint import Dumped, RedisReader, RedisState
from reference_queue.inspect import view_of
from reference_queue.keys import Keys

_REFERENCE = ("reference_queue.naive", "reference_queue.safe")


class VerifyWorld(World):
    """A World whose views come with a full read of the database (``self.state``)."""

    def __init__(
        self, queue: TaskQueue, clock: ManualClock, config: WorldConfig, reader: RedisReader
    ) -> None:
        super().__init__(queue, clock, config)
        self.reader = reader
        self.clock_start = clock.now()  # the fingerprint recognises times by it
        self.state: RedisState = reader.read()
        # Keys to put back in the same round trip as the next read (see ``rewind``).
        self.rewind_to: Dumped | None = None
        keys = getattr(queue, "keys", None)
        reference = type(queue).__module__ in _REFERENCE and isinstance(keys, Keys)
        self._keys = keys if reference else None

    def views(self) -> dict[str, TaskView | None]:
        self.state, self.rewind_to = self.reader.read(self.rewind_to), None
        if self._keys is None:
            return super().views()
        return derived_views(self.state, self._keys, self.submitted)

    def starts_fresh(self, step: Step) -> bool:
        """Whether ``step`` leaves every generator in flight as it was (it starts a new
        operation, or moves the clock, or crashes an idle actor): then the state before
        it is the Redis keys read then plus a :class:`Light` copy."""
        return step.actor == CLOCK or self.actors[step.actor].idle


def derived_views(state: RedisState, keys: Keys, task_ids: list[str]) -> dict[str, TaskView | None]:
    pending = state.contents.get(keys.pending.encode(), ())
    processing = set(state.contents.get(keys.processing.encode(), ())[::2])
    views: dict[str, TaskView | None] = {}
    for task_id in task_ids:
        flat = state.contents.get(keys.task(task_id).encode())
        if not flat:
            views[task_id] = None
            continue
        record = {k.decode(): v.decode() for k, v in zip(flat[::2], flat[1::2], strict=True)}
        member = task_id.encode()
        copies = sum(1 for item in pending if item == member)
        views[task_id] = view_of(TaskId(task_id), record, copies, member in processing)
    return views


@dataclass(frozen=True, slots=True, kw_only=True)
class Light:
    """The Python side of a state, generators shared (see the module docstring)."""

    model: Model
    actors: dict[str, Actor]
    submitted: tuple[str, ...]
    now: float
    seq: int
    views: dict[str, TaskView | None] | None
    state: RedisState

    @classmethod
    def of(cls, world: VerifyWorld) -> Light:
        return cls(
            model=world.model.copy(),
            actors={name: _actor_copy(a) for name, a in world.actors.items()},
            submitted=tuple(world.submitted),
            now=world.clock.now(),
            seq=world._seq,
            views=dict(world._views) if world._views is not None else None,
            state=world.state,
        )

    def put_back(self, world: VerifyWorld) -> None:
        world.model = self.model.copy()
        world.actors = {name: _actor_copy(a) for name, a in self.actors.items()}
        world.submitted = list(self.submitted)
        world.clock._now = self.now  # the explorer's own ManualClock: set, not advanced
        world._seq = self.seq
        world._views = dict(self.views) if self.views is not None else None
        world.state = self.state
        world.history, world.trace, world.findings = HistoryLog(), Trace(), []


def _actor_copy(actor: Actor) -> Actor:
    flight = actor.in_flight
    if flight is not None:
        flight = copy.copy(flight)
        flight.points = list(flight.points)
    return Actor(
        name=actor.name,
        role=actor.role,
        incarnation=actor.incarnation,
        in_flight=flight,
        held=list(actor.held),
    )
