"""The queue interface: values, outcomes, and operations as steppable generators.

Every operation is a generator that performs one Redis round trip per step and
*yields the name of the point it stopped at* between round trips (e.g. the naive
claim yields ``"after_pop"`` between its RPOP and its start_processing MULTI). It
returns its result via ``StopIteration``. So the same code can be

- driven to the end by production (:func:`drive`, used by the API and the janitor),
  which also applies configured fault points (delay / abort) at each yield; or
- stepped one round trip at a time by the interleaving explorer, which may abandon a
  generator between two steps to simulate a crash.

An operation that needs a single round trip (every safe operation) never yields.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, NewType, Protocol, TypeVar

if TYPE_CHECKING:
    from reference_queue.faults import Faults

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
    LEASE_LOST = "lease_lost"  # stale or missing fencing token (safe only)
    NOT_PROCESSING = "not_processing"  # the task is not being processed (safe only)
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Submitted:
    task_id: TaskId
    created: bool  # False: that id already existed, nothing was enqueued


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    task_id: TaskId
    payload: str  # the JSON text the producer submitted
    attempt: int
    token: str | None  # fencing token (safe); None on naive
    expires_at: float | None  # lease deadline, epoch seconds (safe); None on naive


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskView:
    """A task's real whereabouts, from list/set membership as well as its record."""

    task_id: TaskId
    status: TaskStatus
    record_status: str  # what the task hash's `status` field says
    attempts: int
    worker_id: str | None
    pending_copies: int  # how many times the id is in the pending list (naive can push twice)
    in_processing: bool
    lease_expires_at: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueStats:
    pending: int
    processing: int
    completed: int
    failed: int


class TaskQueue(Protocol):
    """What the API, the janitor and the interleaving explorer need of a queue.

    Third-party queues plug into ``harness hunt --impl module:Class`` by satisfying
    this Protocol structurally.
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


def drive(steps: Steps[T], faults: Faults | None = None, op: str | None = None) -> T:
    """Run an operation to the end, applying fault points on the way.

    ``op`` names the operation so the ``before_<op>`` fault point applies before the
    first round trip. A :class:`~reference_queue.errors.FaultAbort` closes the
    generator (the operation dies at that point, as a crashed process would).
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
