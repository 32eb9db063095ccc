"""saq (Redis queue) behind the harness's queue contract, stepped per Redis round trip.

Every operation is saq's own call (``saq.queue.redis.RedisQueue``), stepped by
:mod:`zoo.aioloop` so that each of saq's separate round trips is a crash point:

- submit: ``Queue.enqueue(Job(key=id, ...))`` (one Lua script; ``None`` when the key exists);
- claim: what ``Worker.process`` does before running the function: ``Queue.dequeue`` (BLMOVE
  queued -> active, then GET), then ``job.started = now(); job.attempts += 1;
  job.worker_id = ...; await job.update(status=ACTIVE)`` (SET, PUBLISH);
- complete: ``job.finish(Status.COMPLETE)``; fail: ``job.retry(error)`` when asked to retry and
  ``job.retryable``, else ``job.finish(Status.FAILED)``, as ``Worker.process`` decides;
- heartbeat: ``job.update()`` on each job the worker holds (saq's documented heartbeat);
- rescue_expired: ``Queue.sweep(lock, abort)``, stepped inside (scan script, abort MULTI,
  LREM, the refresh GET, retry/finish MULTI); ``abort`` is None (see SWEEP_ABORT_WAIT_S);
- inspect: the job record and whether its id is in the queued / active lists.

saq has no fencing token (``Claim.token`` is ``None``): finish and retry overwrite the record
whoever calls them. Jobs run with ``heartbeat`` = the lease (saq sweeps an active job whose
``touched`` is older) and ``timeout=0`` (no run-time limit), so a heartbeating job is never
swept; ``retries`` is saq's default 1 (a swept job is aborted, not retried) unless given.

Time: saq reads the clock through ``saq.utils.now``/``now_seconds``, imported by name into its
modules; this module re-points those names at a function that follows the injected clock of
the adapter whose coroutine is running (``zoo.aioloop.CLOCK``) and real time otherwise. The
sweep lock (SETEX ``lock`` seconds) and completed jobs' TTL are Redis expiries, aged by
:meth:`SaqQueue.on_clock_advance`.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from typing import Any

import redis
import saq.job
import saq.queue.base
import saq.queue.redis
import saq.utils
import saq.worker
from redis.asyncio import Redis as AsyncRedis
from saq.job import Job, Status
from saq.queue.redis import RedisQueue

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
from zoo.aioloop import CLOCK, close_soon, run, stepped

__all__ = ["SaqQueue"]

QUEUE_NAME = "zoo"
FUNCTION = "task"
DEQUEUE_TIMEOUT_S = 0.01  # BLMOVE's timeout: 0 would block forever on an empty queue
SWEEP_LOCK_S = 60  # Worker's default sweep timer (timers["sweep"]), passed as the lock
# How long sweep waits (real time, on pub/sub) for an aborted job to end: saq's default is
# 5 s. Here no worker reacts to an abort (nor can any actor move while a step runs), so
# the wait can only time out, after which saq re-reads nothing: the same round trips as
# not waiting at all (``Job.refresh(None)``: "if None, don't wait"). Waiting would only
# add real time, and a chance that a message published steps earlier, routed late by
# saq's pub/sub task, ends the wait and adds a GET: runs that do not replay alike.
SWEEP_ABORT_WAIT_S = None

_REAL_NOW = saq.utils.now


def _now_ms() -> int:
    clock = CLOCK.get()
    return round(clock.now() * 1000) if clock is not None else _REAL_NOW()


def _now_s() -> float:
    clock = CLOCK.get()
    return clock.now() if clock is not None else time.time()


def _follow_injected_clock() -> None:
    """Re-point saq's imported ``now`` names (idempotent; real time outside an adapter)."""
    for module in (saq.utils, saq.job, saq.queue.base, saq.queue.redis, saq.worker):
        if hasattr(module, "now"):
            module.now = _now_ms  # type: ignore[attr-defined]
        if hasattr(module, "now_seconds"):
            module.now_seconds = _now_s  # type: ignore[attr-defined]


_follow_injected_clock()

_TERMINAL: dict[str, TaskStatus] = {
    Status.COMPLETE: TaskStatus.COMPLETED,
    Status.FAILED: TaskStatus.FAILED,
    Status.ABORTED: TaskStatus.FAILED,
}


class SaqQueue:
    """saq stepped per round trip; see the module docstring."""

    name = "saq"
    decode_responses = False
    # A key is unique only while its job is incomplete: enqueueing a finished job's key runs
    # it again, as saq intends. So one id submitted twice may be two tasks (contract §3's
    # idempotent submit does not hold), and the explorer must not call that a resurrection.
    idempotent_submit = False
    status_map: Mapping[str, TaskStatus] = {
        "queued+queued": TaskStatus.PENDING,
        "active+active": TaskStatus.PROCESSING,
        "complete": TaskStatus.COMPLETED,
        "failed": TaskStatus.FAILED,
        "aborted": TaskStatus.FAILED,
        "aborting": TaskStatus.MISSING,
    }
    time_sources: Mapping[str, TimeSource] = {
        "job timestamps and stuck test (saq.utils.now, re-pointed)": TimeSource.INJECTED,
        "sweep lock (SETEX, Redis expiry)": TimeSource.REAL,
        "finished job record TTL (SETEX job.ttl)": TimeSource.REAL,
    }
    promise = Promise(
        kind=DeliveryPromise.AT_MOST_ONCE,
        source=(
            "saq README (https://github.com/tobymao/saq, 'Comparison to ARQ') and saq/job.py "
            "Job docstring, saq 0.26.4"
        ),
        quote=(
            "Heartbeat monitor for abandoned jobs ... Sweeping stuck jobs; retries (int): the "
            "maximum number of attempts to retry a job, defaults to 1"
        ),
    )
    # A sweep between BLMOVE and the ACTIVE update sweeps a job whose record says "queued"
    # (tests/zoo/test_saq_queue.py): the same trace as these reports.
    upstream_issues: Mapping[str, str] = {
        "double_claim": "tobymao/saq#124: Random sweeping of jobs",
        "duplicate_completion": "tobymao/saq#277: The task was swept during execution",
    }

    def __init__(
        self,
        client: redis.Redis,
        *,
        clock: Clock | None = None,
        lease_timeout: float = 30.0,
        retries: int = 1,
    ) -> None:
        self.clock = clock or WallClock()
        self.heartbeat_s = max(1, round(lease_timeout))  # saq's heartbeat is whole seconds
        self.lease_timeout = float(self.heartbeat_s)
        self.retries = retries
        kwargs = client.connection_pool.connection_kwargs
        self._client = AsyncRedis(
            host=kwargs.get("host", "127.0.0.1"), port=kwargs.get("port", 6379),
            db=kwargs.get("db", 0), password=kwargs.get("password"),
        )  # fmt: skip
        self._queue: RedisQueue = run(self._make_queue())
        # The explorer drops adapters without closing them: close their connections then.
        self._closer = weakref.finalize(self, close_soon, self._queue.disconnect)
        self._held: dict[tuple[WorkerId, str], Job] = {}

    async def _make_queue(self) -> RedisQueue:
        return RedisQueue(self._client, name=QUEUE_NAME)

    def _steps(self, coro: Any) -> Steps[Any]:
        return stepped(coro, clock=self.clock)

    # ---- operations ---------------------------------------------------------------------

    def submit(self, payload: str, task_id: TaskId | None = None) -> Steps[Submitted]:
        return self._steps(self._submit(payload, task_id))

    async def _submit(self, payload: str, task_id: TaskId | None) -> Submitted:
        job = Job(
            function=FUNCTION,
            kwargs={"payload": payload},
            timeout=0,
            heartbeat=self.heartbeat_s,
            retries=self.retries,
        )
        if task_id is not None:
            job.key = task_id
        created = await self._queue.enqueue(job)
        return Submitted(task_id=TaskId(job.key), created=created is not None)

    def claim(self, worker: WorkerId) -> Steps[Claim | None]:
        return self._steps(self._claim(worker))

    async def _claim(self, worker: WorkerId) -> Claim | None:
        job = await self._queue.dequeue(timeout=DEQUEUE_TIMEOUT_S)
        if job is None:
            return None
        # saq/worker.py Worker.process, before it runs the function:
        job.started = _now_ms()  # saq.worker.now, re-pointed at the same function
        job.attempts += 1
        job.worker_id = worker
        await job.update(status=Status.ACTIVE)
        self._held[(worker, job.key)] = job
        return Claim(
            task_id=TaskId(job.key),
            payload=str((job.kwargs or {}).get("payload", "")),
            attempt=job.attempts,
            token=None,
            expires_at=self.clock.now() + self.heartbeat_s,
        )

    def complete(
        self, task_id: TaskId, worker: WorkerId, token: str | None, result: str | None = None
    ) -> Steps[Outcome]:
        return self._steps(self._finish(task_id, worker, result=result))

    def fail(
        self, task_id: TaskId, worker: WorkerId, token: str | None, error: str, retry: bool
    ) -> Steps[Outcome]:
        return self._steps(self._finish(task_id, worker, error=error, retry=retry))

    async def _finish(
        self,
        task_id: TaskId,
        worker: WorkerId,
        *,
        result: str | None = None,
        error: str | None = None,
        retry: bool = False,
    ) -> Outcome:
        job = self._held.pop((worker, task_id), None) or await self._queue.job(task_id)
        if job is None:
            return Outcome.NOT_FOUND
        if error is None:
            await job.finish(Status.COMPLETE, result=result)
            return Outcome.COMPLETED
        if retry and job.retryable:
            await job.retry(error)
            return Outcome.PENDING
        await job.finish(Status.FAILED, error=error)
        return Outcome.FAILED

    def heartbeat(self, worker: WorkerId) -> Steps[int]:
        return self._steps(self._heartbeat(worker))

    async def _heartbeat(self, worker: WorkerId) -> int:
        held = [job for (holder, _), job in self._held.items() if holder == worker]
        for job in held:
            await job.update()  # saq: "a heartbeat can be triggered manually ... job.update()"
        return len(held)

    def rescue_expired(self) -> Steps[list[TaskId]]:
        return self._steps(self._sweep())

    async def _sweep(self) -> list[TaskId]:
        # saq types ``abort`` as float; it hands it to Job.refresh, which takes None.
        swept = await self._queue.sweep(lock=SWEEP_LOCK_S, abort=SWEEP_ABORT_WAIT_S)  # type: ignore[arg-type]
        return [TaskId(self._queue.job_key_from_id(job_id)) for job_id in swept]

    def inspect(self, task_id: TaskId) -> Steps[TaskView | None]:
        return self._steps(self._inspect(task_id))

    async def _inspect(self, task_id: TaskId) -> TaskView | None:
        # The harness's own reading of saq's keys (not a saq operation): one round trip.
        job_id = self._queue.job_id(task_id)
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.get(job_id)
            pipe.lpos(self._queue._queued, job_id, count=0)
            pipe.lpos(self._queue._active, job_id, count=0)
            record, queued, active = await pipe.execute()
        job = self._queue.deserialize(record)
        if job is None:
            return None
        copies = len(queued) if isinstance(queued, list) else 0
        in_active = bool(active)
        record = str(job.status.value)
        place = "+queued" if copies else "+active" if in_active else ""
        return TaskView(
            task_id=task_id,
            status=_status(record, copies, in_active),
            record_status=record,
            attempts=job.attempts,
            worker_id=job.worker_id,
            pending_copies=copies,
            in_processing=in_active,
            lease_expires_at=job.touched / 1000 + self.heartbeat_s if in_active else None,
            raw_state=record + place,
            extra={"error": job.error} if job.error else {},
        )

    def stats(self) -> Steps[QueueStats]:
        return self._steps(self._stats())

    async def _stats(self) -> QueueStats:
        finished = {Status.COMPLETE: 0, Status.FAILED: 0, Status.ABORTED: 0}
        async for job in self._queue.iter_jobs(statuses=list(finished)):
            finished[job.status] += 1
        return QueueStats(
            pending=await self._queue.count("queued"),
            processing=await self._queue.count("active"),
            completed=finished[Status.COMPLETE],
            failed=finished[Status.FAILED] + finished[Status.ABORTED],
        )

    # ---- time ---------------------------------------------------------------------------

    def on_clock_advance(self, seconds: float) -> None:
        """Age the sweep lock (a Redis expiry) by the advance; job times follow the clock."""
        run(self._age(round(seconds * 1000)))

    async def _age(self, advance_ms: int) -> None:
        key = self._queue._sweep
        left = await self._client.pttl(key)
        if 0 <= left <= advance_ms:
            await self._client.delete(key)
        elif left > advance_ms:
            await self._client.pexpire(key, left - advance_ms)

    def close(self) -> None:
        self._closer.detach()
        run(self._queue.disconnect())


def _status(record: str, copies: int, in_active: bool) -> TaskStatus:
    if copies:
        return TaskStatus.PENDING
    if in_active:
        return TaskStatus.PROCESSING
    return _TERMINAL.get(record, TaskStatus.MISSING)
