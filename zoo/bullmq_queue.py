"""BullMQ's Python client (PyPI ``bullmq``) behind the harness's queue contract.

Every operation is the library's own call, stepped one Redis round trip at a time by
:mod:`zoo.aioloop`:

- submit: ``Queue.add(name, data, {"jobId": id, "attempts": N})`` (``addStandardJob`` Lua),
  after ``Queue.getJobState`` to tell a new id from an existing one;
- claim: ``Worker.moveToActive(token)``: one script sets ``<job>:lock`` = token, PX lockDuration;
- complete: ``Job.moveToCompleted(value, token)``: ``moveToFinished`` refuses a foreign token;
- fail: ``Job.moveToFailed(err, token)``: ``retryJob`` while attempts remain, else
  ``moveToFinished`` (``retry=False`` raises BullMQ's ``UnrecoverableError``);
- heartbeat: ``backend.extendLocks(ids, tokens, lockDuration)``, what ``LockManager`` renews;
- rescue_expired: ``backend.moveStalledJobsToWait(maxStalledCount, stalledInterval)``;
- inspect: ``Queue.getJobState`` (getState Lua), the job hash, the lock's holder and TTL.

One BullMQ ``Worker`` (no processor, not running) per harness worker id; tokens are
``<worker id>:<n>`` as BullMQ's own run loop makes them (``<worker.id>:<postfix>``).

Time: BullMQ times a job's lock and the stalled check's gate with Redis key expiries
(``PX``), i.e. Redis's real clock; its job timestamps come from ``time.time()``. None follows
the injected clock, so :meth:`BullmqQueue.on_clock_advance` ages what BullMQ timed: it
shortens every lock's and the ``stalled-check`` key's TTL by the advance, deleting those that
would have expired. Each claim, completion, retry and stalled check is a single Lua script, so
BullMQ has no crash point inside them; only ``submit`` (a state read before the add) and
``inspect`` take more than one round trip.
"""

from __future__ import annotations

import itertools
import json
import weakref
from collections.abc import Mapping
from typing import Any

import redis
from bullmq import Queue, UnrecoverableError, Worker
from bullmq.job import Job
from redis.asyncio import Redis as AsyncRedis

from harness.contract import (
    Claim,
    Clock,
    DeliveryPromise,
    Outcome,
    Promise,
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
from zoo.aioloop import close_soon, name_scripts, run, stepped

__all__ = ["BullmqQueue"]

QUEUE_NAME = "zoo"
JOB_NAME = "task"
ATTEMPTS = 1000  # a failure with retry=True goes back to wait; retry=False is UnrecoverableError

# moveToFinished / retryJob error codes, as BullMQ's Python client words them (scripts.py).
_REFUSALS: tuple[tuple[str, Outcome], ...] = (
    ("Missing lock", Outcome.LEASE_LOST),  # -2: the lock expired; nobody holds the job
    ("Lock mismatch", Outcome.LEASE_LOST),  # -6: another worker's token holds it
    ("is not in the", Outcome.NOT_PROCESSING),  # -3: not in the active list
    ("Missing key for job", Outcome.NOT_FOUND),  # -1
)

_STATUS: dict[str, TaskStatus] = {
    "wait": TaskStatus.PENDING,
    "waiting": TaskStatus.PENDING,
    "paused": TaskStatus.PENDING,
    "prioritized": TaskStatus.PENDING,
    "delayed": TaskStatus.PENDING,
    "waiting-children": TaskStatus.PENDING,
    "active": TaskStatus.PROCESSING,
    "completed": TaskStatus.COMPLETED,
    "failed": TaskStatus.FAILED,
    "unknown": TaskStatus.MISSING,
}


def async_client(client: redis.Redis) -> AsyncRedis:
    """An asyncio client (decoded, as BullMQ needs) to the server the harness's client uses."""
    kwargs = client.connection_pool.connection_kwargs
    return AsyncRedis(
        host=kwargs.get("host", "127.0.0.1"),
        port=kwargs.get("port", 6379),
        db=kwargs.get("db", 0),
        password=kwargs.get("password"),
        decode_responses=True,
    )


class BullmqQueue:
    """BullMQ (Python client) stepped per round trip; see the module docstring."""

    name = "bullmq"
    decode_responses = True
    status_map: Mapping[str, TaskStatus] = _STATUS
    time_sources: Mapping[str, TimeSource] = {
        "job lock expiry (<job>:lock PX lockDuration)": TimeSource.REAL,
        "stalled-check gate (stalled-check PX stalledInterval)": TimeSource.REAL,
        "job timestamps (timestamp, processedOn, finishedOn: time.time())": TimeSource.REAL,
    }
    promise = Promise(
        kind=DeliveryPromise.AT_LEAST_ONCE,
        source="https://docs.bullmq.io/ (What is BullMQ), bullmq 3.4.4 / Python client",
        quote=(
            "Exactly once queue semantics, i.e., attempts to deliver every message exactly one "
            "time, but it will deliver at least once in the worst case scenario*."
        ),
    )
    upstream_issues: Mapping[str, str] = {}

    def __init__(
        self,
        client: redis.Redis,
        *,
        clock: Clock | None = None,
        lease_timeout: float = 30.0,
        max_stalled_count: int = 1,
    ) -> None:
        self.clock = clock or WallClock()
        self.lock_ms = max(1, round(lease_timeout * 1000))
        self.lease_timeout = self.lock_ms / 1000
        self.max_stalled_count = max_stalled_count
        self._sync = client
        self._client = async_client(client)
        # The explorer drops adapters without closing them: close their connections then.
        self._closer = weakref.finalize(self, close_soon, self._client.aclose)
        self._opts: dict[str, Any] = {
            "connection": self._client,
            "autorun": False,
            "lockDuration": self.lock_ms,
            "stalledInterval": self.lock_ms,  # BullMQ's defaults keep the two equal (30 s)
            "maxStalledCount": max_stalled_count,
        }
        self._queue: Queue = run(self._make_queue())
        self._janitor: Worker = run(self._make_worker(WorkerId("janitor")))
        self._workers: dict[WorkerId, Worker] = {}
        self._tokens = itertools.count(1)
        commands = self._janitor.redisConnection.commands  # type: ignore[union-attr]
        name_scripts({script.sha: name for name, script in commands.items()})
        self._held: dict[tuple[WorkerId, str], Job] = {}

    async def _make_queue(self) -> Queue:
        return Queue(QUEUE_NAME, {"connection": self._client})

    async def _make_worker(self, name: WorkerId) -> Worker:
        return self._new_worker(name)

    def _new_worker(self, name: WorkerId) -> Worker:
        """A BullMQ worker with no processor (the harness plays its run loop); on the loop."""
        return Worker(QUEUE_NAME, None, {**self._opts, "name": name})  # type: ignore[arg-type]

    def _worker(self, worker: WorkerId) -> Worker:
        if worker not in self._workers:
            self._workers[worker] = self._new_worker(worker)
        return self._workers[worker]

    def _key(self, suffix: str) -> str:
        return str(self._queue.toKey(suffix))

    # ---- operations ---------------------------------------------------------------------

    def submit(self, payload: str, task_id: TaskId | None = None) -> Steps[Submitted]:
        return stepped(self._submit(payload, task_id), clock=self.clock)

    async def _submit(self, payload: str, task_id: TaskId | None) -> Submitted:
        existed = task_id is not None and await self._queue.getJobState(task_id) != "unknown"
        opts: dict[str, Any] = {"attempts": ATTEMPTS}
        if task_id is not None:
            opts["jobId"] = task_id
        job = await self._queue.add(JOB_NAME, {"payload": payload}, opts)  # type: ignore[arg-type]
        return Submitted(task_id=TaskId(str(job.id)), created=not existed)

    def claim(self, worker: WorkerId) -> Steps[Claim | None]:
        return stepped(self._claim(worker), clock=self.clock)

    async def _claim(self, worker: WorkerId) -> Claim | None:
        bull = self._worker(worker)
        token = f"{worker}:{next(self._tokens)}"
        job = await bull.moveToActive(token)
        if job is None:
            return None
        self._held[(worker, str(job.id))] = job
        bull.lockManager.track_job(str(job.id), token, int(self.clock.now() * 1000))
        return Claim(
            task_id=TaskId(str(job.id)),
            payload=str((job.data or {}).get("payload", "")),
            attempt=int(job.attemptsStarted or 1),
            token=token,
            expires_at=self.clock.now() + self.lease_timeout,
        )

    def complete(
        self, task_id: TaskId, worker: WorkerId, token: str | None, result: str | None = None
    ) -> Steps[Outcome]:
        return stepped(self._finish(task_id, worker, token, result=result), clock=self.clock)

    def fail(
        self, task_id: TaskId, worker: WorkerId, token: str | None, error: str, retry: bool
    ) -> Steps[Outcome]:
        err = Exception(error) if retry else UnrecoverableError(error)
        return stepped(self._finish(task_id, worker, token, error=err), clock=self.clock)

    async def _finish(
        self,
        task_id: TaskId,
        worker: WorkerId,
        token: str | None,
        *,
        result: str | None = None,
        error: Exception | None = None,
    ) -> Outcome:
        job = self._held.get((worker, task_id)) or await Job.fromId(self._queue, task_id)
        if job is None:
            return Outcome.NOT_FOUND
        bull_token = token or "0"  # BullMQ's "0" skips the lock check: only without a token
        try:
            if error is None:
                await job.moveToCompleted(result, bull_token)
                outcome = Outcome.COMPLETED
            else:
                await job.moveToFailed(error, bull_token)
                retried = not isinstance(error, UnrecoverableError) and job.attemptsMade < ATTEMPTS
                outcome = Outcome.PENDING if retried else Outcome.FAILED
        except TypeError as refused:
            outcome = _refusal(refused)
        self._release(worker, task_id)
        return outcome

    def _release(self, worker: WorkerId, task_id: str) -> None:
        self._held.pop((worker, task_id), None)
        if worker in self._workers:
            self._workers[worker].lockManager.untrack_job(task_id)

    def heartbeat(self, worker: WorkerId) -> Steps[int]:
        return stepped(self._heartbeat(worker), clock=self.clock)

    async def _heartbeat(self, worker: WorkerId) -> int:
        if worker not in self._workers:
            return 0
        manager = self._workers[worker].lockManager
        ids = list(manager.get_tracked_job_ids())
        if not ids:
            return 0
        tokens = [manager.tracked_jobs[i]["token"] for i in ids]
        refused = await self._workers[worker].backend.extendLocks(ids, tokens, self.lock_ms)
        return len(ids) - len(refused or [])

    def rescue_expired(self) -> Steps[list[TaskId]]:
        return stepped(self._rescue(), clock=self.clock)

    async def _rescue(self) -> list[TaskId]:
        stalled = await self._janitor.backend.moveStalledJobsToWait(
            self.max_stalled_count, self.lock_ms
        )
        return [TaskId(str(job_id)) for job_id in stalled or []]

    def inspect(self, task_id: TaskId) -> Steps[TaskView | None]:
        return stepped(self._inspect(task_id), clock=self.clock)

    async def _inspect(self, task_id: TaskId) -> TaskView | None:
        state = str(await self._queue.getJobState(task_id))
        data = await self._queue.backend.getJobData(task_id)
        if data is None and state == "unknown":
            return None
        data = data or {}
        lock = f"{self._key(task_id)}:lock"
        found, ttl_ms = await self._client.get(lock), await self._client.pttl(lock)
        holder = str(found) if found else None
        status = _STATUS.get(state, TaskStatus.MISSING)
        queued = await self._client.lpos(self._key("wait"), task_id, count=0)
        return TaskView(
            task_id=task_id,
            status=status,
            record_status=state,
            attempts=int(data.get("ats") or 0),
            worker_id=holder.rsplit(":", 1)[0] if holder else None,
            pending_copies=len(queued) if isinstance(queued, list) else 0,
            in_processing=status is TaskStatus.PROCESSING,
            lease_expires_at=self.clock.now() + ttl_ms / 1000 if ttl_ms and ttl_ms > 0 else None,
            raw_state=state,
            extra=_extra(data, holder),
        )

    def stats(self) -> Steps[QueueStats]:
        return stepped(self._stats(), clock=self.clock)

    async def _stats(self) -> QueueStats:
        counts = await self._queue.getJobCounts(
            "wait", "paused", "prioritized", "delayed", "active", "completed", "failed"
        )
        pending = sum(counts.get(k, 0) for k in ("wait", "paused", "prioritized", "delayed"))
        return QueueStats(
            pending=pending,
            processing=counts.get("active", 0),
            completed=counts.get("completed", 0),
            failed=counts.get("failed", 0),
        )

    # ---- time ---------------------------------------------------------------------------

    def on_clock_advance(self, seconds: float) -> None:
        """Age what BullMQ timed with Redis expiries: job locks and the stalled-check gate."""
        run(self._age(round(seconds * 1000)))

    async def _age(self, advance_ms: int) -> None:
        keys = [k async for k in self._client.scan_iter(match=self._key("*:lock"))]
        keys.append(self._key("stalled-check"))
        for key in keys:
            left = await self._client.pttl(key)
            if left < 0:
                continue
            if left <= advance_ms:
                await self._client.delete(key)
            else:
                await self._client.pexpire(key, left - advance_ms)

    def close(self) -> None:
        """Close the library's connections (the adapter is unusable afterwards)."""
        self._closer.detach()
        run(self._client.aclose())


def _refusal(refused: TypeError) -> Outcome:
    message = str(refused)
    for fragment, outcome in _REFUSALS:
        if fragment in message:
            return outcome
    raise refused


def _extra(data: Mapping[str, str], holder: str | None) -> dict[str, Any]:
    extra: dict[str, Any] = {"lock_token": holder}
    named = {"stc": "stalled_count", "failedReason": "failed_reason", "defa": "deferred_failure"}
    for field, name in named.items():
        if data.get(field):
            extra[name] = data[field]
    if data.get("returnvalue"):
        extra["returnvalue"] = json.loads(data["returnvalue"])
    return extra
