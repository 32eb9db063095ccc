"""A tiny third-party queue adapter, written against ``harness.contract`` only.

It plays a library the harness does not own (think rq): it pickles its jobs (so it needs
a ``bytes`` Redis client), spells its states its own way (``queued``, ``started``,
``finished``, ``failed``), rounds short leases up to its own minimum, and times its
leases on real time, which the explorer cannot move: it declares that, and ages its
deadlines in ``on_clock_advance``. Its claim pops, then records the start in a second
round trip: a worker dying in between loses the task (what ``harness hunt`` finds).

docs/third-party-queue.md shows this file verbatim; a test keeps the two identical.
"""

from __future__ import annotations

import pickle
import time
from typing import Any, ClassVar

import redis

from harness.contract import (
    Claim,
    Clock,
    Outcome,
    QueueStats,
    Steps,
    Submitted,
    TaskId,
    TaskStatus,
    TaskView,
    TimeSource,
    WallClock,
    WorkerId,
)

MIN_LEASE = 45.0  # the library's own floor: shorter leases are rounded up


class TinyQueue:
    name = "tiny"
    decode_responses = False  # jobs are pickled: hand me a bytes client
    status_map: ClassVar[dict[str, TaskStatus]] = {
        "queued": TaskStatus.PENDING,
        "started": TaskStatus.PROCESSING,
        "finished": TaskStatus.COMPLETED,
        "failed": TaskStatus.FAILED,
    }
    time_sources: ClassVar[dict[str, TimeSource]] = {
        "enqueued_at": TimeSource.INJECTED,  # read from the clock it is given
        "lease_deadline": TimeSource.REAL,  # time.time(): the explorer cannot move it
    }

    def __init__(
        self, redis_client: redis.Redis, *, clock: Clock | None = None, lease_timeout: float = 30.0
    ) -> None:
        self.redis = redis_client
        self.clock = clock or WallClock()
        self.lease_timeout = max(lease_timeout, MIN_LEASE)  # what it really runs with

    # -- storage: one pickled record per job, a queued list, a started set by deadline --

    def _load(self, task_id: str) -> dict[str, Any] | None:
        blob = self.redis.get(f"tiny:job:{task_id}")
        return pickle.loads(blob) if blob is not None else None

    def _save(self, pipe: Any, task_id: str, job: dict[str, Any]) -> None:
        pipe.set(f"tiny:job:{task_id}", pickle.dumps(job))

    # -- the contract's operations ------------------------------------------------------

    def submit(self, payload: str, task_id: TaskId | None = None) -> Steps[Submitted]:
        yield from ()
        task_id = task_id or TaskId(f"job-{time.time_ns()}")
        job = {
            "payload": payload,
            "state": "queued",
            "attempts": 0,
            "worker": None,
            "enqueued_at": self.clock.now(),
        }
        if not self.redis.set(f"tiny:job:{task_id}", pickle.dumps(job), nx=True):
            return Submitted(task_id=task_id, created=False)
        self.redis.rpush("tiny:queued", task_id)
        return Submitted(task_id=task_id, created=True)

    def claim(self, worker: WorkerId) -> Steps[Claim | None]:
        popped = self.redis.lpop("tiny:queued")
        if popped is None:
            return None
        task_id = TaskId(popped.decode())
        yield "after_pop"  # the task is in no list now: a crash here loses it
        job = self._load(task_id) or {}
        job.update(state="started", worker=worker, attempts=job.get("attempts", 0) + 1)
        pipe = self.redis.pipeline()
        self._save(pipe, task_id, job)
        pipe.zadd("tiny:started", {task_id: time.time() + self.lease_timeout})
        pipe.execute()
        token = f"{task_id}/{job['attempts']}"
        return Claim(
            task_id=task_id,
            payload=job["payload"],
            attempt=job["attempts"],
            token=token,
            expires_at=None,
        )

    def complete(
        self, task_id: TaskId, worker: WorkerId, token: str | None, result: str | None = None
    ) -> Steps[Outcome]:
        return self._finish(task_id, token, "finished", retry=False)

    def fail(
        self, task_id: TaskId, worker: WorkerId, token: str | None, error: str, retry: bool
    ) -> Steps[Outcome]:
        return self._finish(task_id, token, "failed", retry=retry)

    def _finish(
        self, task_id: TaskId, token: str | None, state: str, retry: bool
    ) -> Steps[Outcome]:
        yield from ()
        job = self._load(task_id)
        if job is None:
            return Outcome.NOT_FOUND
        if job["state"] != "started":
            return Outcome.NOT_PROCESSING
        if token != f"{task_id}/{job['attempts']}":
            return Outcome.LEASE_LOST
        job["state"] = "queued" if retry else state
        pipe = self.redis.pipeline()
        self._save(pipe, task_id, job)
        pipe.zrem("tiny:started", task_id)
        if retry:
            pipe.rpush("tiny:queued", task_id)
        pipe.execute()
        if retry:
            return Outcome.PENDING
        return Outcome.COMPLETED if state == "finished" else Outcome.FAILED

    def heartbeat(self, worker: WorkerId) -> Steps[int]:
        yield from ()
        extended = 0
        for member in self.redis.zrange("tiny:started", 0, -1):
            job = self._load(member.decode())
            if job is not None and job["worker"] == worker:
                self.redis.zadd("tiny:started", {member: time.time() + self.lease_timeout}, xx=True)
                extended += 1
        return extended

    def rescue_expired(self) -> Steps[list[TaskId]]:
        yield from ()
        rescued: list[TaskId] = []
        for member in self.redis.zrangebyscore("tiny:started", "-inf", time.time()):
            task_id = TaskId(member.decode())
            job = self._load(task_id)
            if job is None or job["state"] != "started":
                continue
            job["state"] = "queued"
            pipe = self.redis.pipeline()
            self._save(pipe, task_id, job)
            pipe.zrem("tiny:started", task_id)
            pipe.rpush("tiny:queued", task_id)
            pipe.execute()
            rescued.append(task_id)
        return rescued

    def on_clock_advance(self, seconds: float) -> None:
        """The explorer moved the injected clock: age the deadlines taken on real time."""
        for member in self.redis.zrange("tiny:started", 0, -1):
            self.redis.zincrby("tiny:started", -seconds, member)

    def inspect(self, task_id: TaskId) -> Steps[TaskView | None]:
        yield from ()
        job = self._load(task_id)
        if job is None:
            return None
        copies = len(self.redis.lpos("tiny:queued", task_id, count=0) or [])
        started = self.redis.zscore("tiny:started", task_id) is not None
        if started:
            status = TaskStatus.PROCESSING
        elif copies:
            status = TaskStatus.PENDING
        elif job["state"] in ("finished", "failed"):
            status = self.status_map[job["state"]]
        else:
            status = TaskStatus.MISSING
        return TaskView(
            task_id=task_id,
            status=status,
            record_status=job["state"],
            attempts=job["attempts"],
            worker_id=job["worker"],
            pending_copies=copies,
            in_processing=started,
            raw_state=job["state"],
        )

    def stats(self) -> Steps[QueueStats]:
        yield from ()
        states = [
            self._load(k.decode().removeprefix("tiny:job:"))
            for k in self.redis.scan_iter("tiny:job:*")
        ]
        done = [j["state"] for j in states if j is not None]
        return QueueStats(
            pending=int(self.redis.llen("tiny:queued")),
            processing=int(self.redis.zcard("tiny:started")),
            completed=done.count("finished"),
            failed=done.count("failed"),
        )
