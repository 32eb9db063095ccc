"""The plug-in contract for queues (DESIGN.md §11), owned by the harness.

Anything that wants to be searched (`harness hunt`), verified (`harness verify`) or put
in the zoo (`harness zoo`) implements :class:`TaskQueue` with the values below. The
reference queues implement it exactly as a third-party adapter would: they import this
module and nothing else from ``harness``. This module imports nothing from the rest of
the harness and no I/O library.

Operations are steppable generators. Each performs one Redis round trip per step and
*yields the name of the point it stopped at* between round trips (the naive claim yields
``"after_pop"`` between its RPOP and its start MULTI), returning its result via
``StopIteration``. So the same code can be

- driven to the end by production (:func:`drive`), which also applies configured fault
  points (delay / abort) at each yield; or
- stepped one round trip at a time by the explorer, which may abandon a generator
  between two steps to simulate a crash.

An operation that needs a single round trip never yields.

What an adapter declares besides its operations (all optional class attributes, with the
defaults the harness assumes when they are absent):

``decode_responses: bool = True``
    The Redis client the harness hands the constructor decodes replies to ``str`` when
    true; a library that stores binary (rq pickles its jobs) sets it to ``False`` and
    gets a ``bytes`` client built from the same connection.
``lease_timeout: float``
    The lease (or visibility timeout, or age limit) the queue *actually runs with*,
    read from the instance after construction. Reports and regression tests state this
    value, not the command line's ``--lease-timeout`` (a library may round it up).
``status_map: Mapping[str, TaskStatus]``
    How the library's own states (its raw spelling, e.g. ``"started"``,
    ``"finished+failed_registry"``) map onto the harness's statuses. ``inspect`` fills
    :attr:`TaskView.raw_state` with the library's state and reports are shown with both.
``time_sources: Mapping[str, TimeSource]``
    Every timestamp the library takes, and whether it follows the injected clock
    (:attr:`TimeSource.INJECTED`) or runs on real time (:attr:`TimeSource.REAL`). When a
    queue has real-time sources, the explorer calls its ``on_clock_advance(seconds)``
    (if defined) after moving the injected clock, so the adapter can age what its
    library timed on its own (e.g. rewrite a registry score or a key's TTL).
``promise: Promise``
    The delivery promise the queue is judged against, with its source.
``idempotent_submit: bool = True``
    Whether submitting an id that already exists is a no-op (DESIGN.md §3). A library
    without idempotent submit sets it to ``False``: a second submit of one id is then a
    second task, so the explorer never resubmits an id to it (what follows would be the
    caller's duplicate, not the queue's race).
``write_only: Mapping[str, tuple[str, ...]] = {}``
    Hash fields the queue's operations write and never read back (timestamps kept for
    people, a result), by key pattern (``fnmatch``, the full key name): e.g.
    ``{"task:*": ("created_at", "result")}``. ``harness verify`` leaves them out of a
    state's fingerprint, so states that differ only there are explored once; sound
    exactly when the declaration is true (nothing the queue does depends on them).
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NewType, Protocol, TypeVar, runtime_checkable

__all__ = [
    "Claim",
    "Clock",
    "DeliveryPromise",
    "FaultPoints",
    "ManualClock",
    "Outcome",
    "Promise",
    "QueueStats",
    "Steps",
    "Submitted",
    "TaskId",
    "TaskQueue",
    "TaskStatus",
    "TaskView",
    "TimeSource",
    "WallClock",
    "WorkerId",
    "declared",
    "drive",
]

TaskId = NewType("TaskId", str)
WorkerId = NewType("WorkerId", str)

T = TypeVar("T")
Steps = Generator[str, None, T]
"""An operation in progress: yields fault-point names between round trips, returns T."""


class Outcome(StrEnum):
    """What a complete or fail did. The last three had definitely no effect."""

    COMPLETED = "completed"
    PENDING = "pending"  # failed with retry: back in the pending list
    FAILED = "failed"  # terminally failed (or dead-lettered after max attempts)
    LEASE_LOST = "lease_lost"  # stale or missing fencing token
    NOT_PROCESSING = "not_processing"  # the task is not being processed
    NOT_FOUND = "not_found"  # no such task

    @property
    def accepted(self) -> bool:
        return self in (Outcome.COMPLETED, Outcome.PENDING, Outcome.FAILED)


class TaskStatus(StrEnum):
    """Where a task really is (contract: ``GET /tasks/{id}``)."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    MISSING = "missing"  # its record says pending/processing but it is in neither


class TimeSource(StrEnum):
    """Whether a timestamp a queue takes can be driven by the explorer."""

    INJECTED = "injected"  # follows the clock handed to the constructor
    REAL = "real"  # the library reads real time (or Redis TIME) and cannot be told otherwise


class DeliveryPromise(StrEnum):
    """What a queue promises about delivery (DESIGN.md §12)."""

    AT_MOST_ONCE = "at-most-once"
    AT_LEAST_ONCE = "at-least-once"
    EXACTLY_ONCE_COMPLETION = "exactly-once-completion"


@dataclass(frozen=True, slots=True, kw_only=True)
class Promise:
    """A delivery promise with where it was promised (a quote and its location)."""

    kind: DeliveryPromise = DeliveryPromise.EXACTLY_ONCE_COMPLETION
    source: str = "default: what the harness assumes when nothing is declared"
    quote: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Submitted:
    task_id: TaskId
    created: bool  # False: that id already existed, nothing was enqueued


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    task_id: TaskId
    payload: str  # the JSON text the producer submitted
    attempt: int
    token: str | None  # fencing token; None when the queue has none
    expires_at: float | None  # lease deadline, epoch seconds; None without leases


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskView:
    """A task's real whereabouts, from list/set membership as well as its record."""

    task_id: TaskId
    status: TaskStatus
    record_status: str  # what the task's own record says
    attempts: int
    worker_id: str | None
    pending_copies: int  # how many times the id is queued (a naive queue can push twice)
    in_processing: bool
    lease_expires_at: float | None = None
    raw_state: str | None = None  # the library's own spelling of where the task is
    extra: Mapping[str, Any] = field(default_factory=dict)  # anything else worth showing


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueStats:
    pending: int
    processing: int
    completed: int
    failed: int


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class WallClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not go backwards")
        self._now += seconds


@runtime_checkable
class FaultPoints(Protocol):
    """Called at every named point an operation passes; may sleep or raise to abort."""

    def hit(self, point: str) -> None: ...


class TaskQueue(Protocol):
    """What the API, the janitor, the explorer and the verifier need of a queue.

    The constructor the harness calls is ``cls(redis_client, *, clock=..., lease_timeout=...,
    **options)``; keyword arguments a class does not accept are not passed.
    """

    name: str
    lease_timeout: float

    def submit(self, payload: str, task_id: TaskId | None = None) -> Steps[Submitted]: ...
    def claim(self, worker: WorkerId) -> Steps[Claim | None]: ...
    def complete(
        self, task_id: TaskId, worker: WorkerId, token: str | None, result: str | None = None
    ) -> Steps[Outcome]: ...
    def fail(
        self, task_id: TaskId, worker: WorkerId, token: str | None, error: str, retry: bool
    ) -> Steps[Outcome]: ...
    def heartbeat(self, worker: WorkerId) -> Steps[int]: ...
    def rescue_expired(self) -> Steps[list[TaskId]]: ...
    def inspect(self, task_id: TaskId) -> Steps[TaskView | None]: ...
    def stats(self) -> Steps[QueueStats]: ...


_DEFAULTS: dict[str, Any] = {
    "decode_responses": True,
    "status_map": {},
    "time_sources": {},
    "promise": Promise(),
    "idempotent_submit": True,
    "write_only": {},
}


def declared(queue_or_class: object, name: str) -> Any:
    """An optional declaration of a queue (see the module docstring), or its default."""
    if name not in _DEFAULTS:
        raise KeyError(f"{name!r} is not an optional declaration of the queue contract")
    return getattr(queue_or_class, name, _DEFAULTS[name])


def drive(steps: Steps[T], faults: FaultPoints | None = None, op: str | None = None) -> T:
    """Run an operation to the end, applying fault points on the way.

    ``op`` names the operation so the ``before_<op>`` fault point applies before the
    first round trip. An exception raised by a fault point (an injected abort) closes the
    generator: the operation dies at that point, as a crashed process would.
    """
    try:
        if faults is not None and op is not None:
            faults.hit(f"before_{op}")
        point = next(steps)
        while True:
            if faults is not None:
                faults.hit(point)
            point = next(steps)
    except StopIteration as stop:
        result: T = stop.value
        return result
    finally:
        steps.close()
