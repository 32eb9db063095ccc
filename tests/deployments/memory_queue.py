"""An in-memory leased task queue, one lock around every operation.

Leases run on the wall clock and expire lazily: every operation first re-queues the
tasks whose lease has passed (a visibility timeout, as in SQS). Heartbeats extend the
worker's leases. Fencing is the variable under test:

- ``Fencing.TOKEN``: a completion or failure is accepted only with the current claim's
  token while the task is processing — exactly-once completion holds;
- ``Fencing.STATUS``: accepted whenever the task is processing, whoever holds it. A
  worker whose lease expired and whose task was claimed again can still complete it
  while the new holder works on it: the catalogue's F5, open only for the new holder's
  processing time.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Fencing(StrEnum):
    TOKEN = "token"
    STATUS = "status"


class Refusal(StrEnum):
    NOT_FOUND = "not_found"
    NOT_PROCESSING = "not_processing"
    LEASE_LOST = "lease_lost"


@dataclass(slots=True, kw_only=True)
class Task:
    task_id: str
    payload: Any
    status: str = "pending"  # pending / processing / completed / failed
    attempts: int = 0
    worker_id: str | None = None
    token: str | None = None
    deadline: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Leased:
    task_id: str
    payload: Any
    attempt: int
    token: str
    expires_at: float


@dataclass(slots=True)
class MemoryQueue:
    """The queue; ``lease_timeout`` in seconds; ``fencing`` as in the module docstring."""

    lease_timeout: float = 2.0
    fencing: Fencing = Fencing.TOKEN
    tasks: dict[str, Task] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)  # FIFO: append, pop(0)
    processing: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tokens: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def submit(self, task_id: str, payload: Any) -> bool:
        """True when created, False when that id exists (nothing enqueued)."""
        with self._lock:
            if task_id in self.tasks:
                return False
            self.tasks[task_id] = Task(task_id=task_id, payload=payload)
            self.pending.append(task_id)
            return True

    def claim(self, worker_id: str) -> Leased | None:
        with self._lock:
            now = self._expire()
            if not self.pending:
                return None
            task = self.tasks[self.pending.pop(0)]
            self.processing.add(task.task_id)
            task.status, task.worker_id = "processing", worker_id
            task.attempts += 1
            task.token = str(next(self._tokens))
            task.deadline = now + self.lease_timeout
            return Leased(
                task_id=task.task_id,
                payload=task.payload,
                attempt=task.attempts,
                token=task.token,
                expires_at=task.deadline,
            )

    def finish(self, task_id: str, token: str | None, outcome: str) -> str | Refusal:
        """``outcome``: completed / failed / pending (retry). The new status, or a refusal."""
        with self._lock:
            self._expire()
            task = self.tasks.get(task_id)
            if task is None:
                return Refusal.NOT_FOUND
            if task.status != "processing":
                return Refusal.NOT_PROCESSING
            if self.fencing is Fencing.TOKEN and token != task.token:
                return Refusal.LEASE_LOST
            task.status, task.token, task.worker_id = outcome, None, None
            self.processing.discard(task_id)
            if outcome == "pending":
                self.pending.append(task_id)
            return outcome

    def heartbeat(self, worker_id: str) -> int:
        with self._lock:
            now = self._expire()
            held = (self.tasks[task_id] for task_id in self.processing)
            mine = [t for t in held if t.worker_id == worker_id]
            for task in mine:
                task.deadline = now + self.lease_timeout
            return len(mine)

    def view(self, task_id: str) -> Task | None:
        with self._lock:
            self._expire()
            task = self.tasks.get(task_id)
            return None if task is None else Task(**{k: getattr(task, k) for k in Task.__slots__})

    def counts(self) -> dict[str, int]:
        with self._lock:
            self._expire()
            out = dict.fromkeys(("pending", "processing", "completed", "failed"), 0)
            for task in self.tasks.values():
                out[task.status] += 1
            return out

    def _expire(self) -> float:
        """Re-queue every task whose lease has passed; returns now."""
        now = time.time()
        for task_id in [t for t in self.processing if self.tasks[t].deadline <= now]:
            task = self.tasks[task_id]
            task.status, task.token, task.worker_id = "pending", None, None
            self.processing.discard(task_id)
            self.pending.append(task_id)
        return now
