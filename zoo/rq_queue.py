"""rq (2.x, synchronous) on trial, stepped between its own Redis round trips.

Every operation calls rq's own worker and registry methods in the order rq's
``Worker.work`` / ``execute_job`` / ``perform_job`` calls them, and yields between them
(a worker can die at each of these points):

- claim: ``Queue.dequeue_any`` (``LMOVE`` into the intermediate list, then the job's
  hash) · ``after_dequeue`` · ``Worker.prepare_execution`` (the execution enters the
  ``StartedJobRegistry`` with a score of now + heartbeat TTL) · ``after_prepare_execution``
  · ``Worker.prepare_job_execution`` (job status ``started``, ``LREM`` from the
  intermediate list);
- complete: ``Worker.handle_execution_ended`` · ``after_execution_ended`` ·
  ``Worker.handle_job_success`` (no ownership check: rq has no fencing token);
- fail: the same, then ``Worker.handle_job_failure`` (terminal: jobs are enqueued
  without ``Retry``, rq's default) or, with ``retry``, the job "returns"
  ``Retry(max=...)`` and ``Worker.handle_job_retry`` re-enqueues it;
- heartbeat: ``Worker.maintain_heartbeats`` for each job the worker holds (what the
  forking worker's monitor loop does every ``job_monitoring_interval``);
- rescue_expired: rq's maintenance, ``Worker.clean_registries`` step by step: the
  maintenance lock · ``clean_registries(queue)`` (``StartedJobRegistry.cleanup``: expired
  executions go to the ``FailedJobRegistry`` with ``AbandonedJobError``) · the
  intermediate list's cleanup (a job seen there twice, a minute apart, with no
  execution is failed) · the lock released.

Time: rq reads ``time.time()`` / ``datetime.now()`` itself. When the injected clock
moves, :class:`~zoo._aging.RealTimeAger` ages rq's state instead (registry scores,
intermediate first-seen stamps, key TTLs), so rq's own expiry logic sees the time pass.
Each worker of the explorer holds an rq ``Worker`` per claim (rq runs one job per
worker at a time; the explorer's workers may hold several).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import redis
from rq import Queue, Retry, Worker
from rq.job import Job, JobStatus
from rq.registry import clean_registries
from rq.utils import now

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
from zoo._aging import RealTimeAger
from zoo._client import binary_client

RQ_VERSION = __import__("rq").__version__
JOB_FUNC = "zoo.rq_queue.job"  # what the enqueued jobs call (never run: the harness "works")


def job(payload: str) -> str:
    """The job function rq records (the explorer's workers do the work themselves)."""
    return payload


@dataclass(slots=True)
class _Held:
    worker: Worker
    job: Job


class RqQueue:
    """rq's queue, worker and maintenance, stepped for the explorer."""

    name = "rq"
    decode_responses = False  # rq pickles its jobs
    status_map: ClassVar[Mapping[str, TaskStatus]] = {
        "queued": TaskStatus.PENDING,
        "queued+intermediate": TaskStatus.PROCESSING,  # dequeued, not yet started
        "started": TaskStatus.PROCESSING,
        "started+no_registry": TaskStatus.MISSING,
        "queued+no_list": TaskStatus.MISSING,
        "scheduled": TaskStatus.PENDING,
        "deferred": TaskStatus.PENDING,
        "finished": TaskStatus.COMPLETED,
        # Any of these "+failed_registry": also listed in rq's FailedJobRegistry (where
        # users find and requeue failures) while the job's own status says otherwise.
        # Still queued or running: that; otherwise failed, as far as anyone can tell.
        "failed": TaskStatus.FAILED,
        "stopped": TaskStatus.FAILED,
        "canceled": TaskStatus.FAILED,
    }
    time_sources: ClassVar[Mapping[str, TimeSource]] = {
        "StartedJobRegistry scores (time.time() + heartbeat TTL)": TimeSource.REAL,
        "intermediate list first-seen stamps (datetime.now())": TimeSource.REAL,
        "maintenance lock and job/execution key TTLs (Redis expiry)": TimeSource.REAL,
    }
    promise = Promise(
        kind=DeliveryPromise.AT_LEAST_ONCE,
        source="https://python-rq.org/docs/exceptions/ (Default: FailedJobRegistry) and "
        f"https://python-rq.org/docs/job_registries/; rq {RQ_VERSION}. No loss: a job "
        "ends finished or in the FailedJobRegistry, from where it can be retried",
        quote="The default safety net for RQ is the FailedJobRegistry. Every job that "
        "doesn't execute successfully is stored here, along with its exception "
        "information (type, value, traceback).",
    )
    distributions = ("rq", "redis")
    # No confirmed match: rq#2424 / rq#1507 end in the same state (a finished job listed
    # in FailedJobRegistry) by another path (a leftover registry entry after success,
    # fixed by rq PR #2466); here cleanup fails a live job first, then its late success
    # is accepted. Said in docs/real-queues.md, not claimed as a match.
    upstream_issues: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        client: redis.Redis,
        *,
        clock: Clock | None = None,
        job_timeout: int = 180,
        queue_name: str = "qharness",
        retry_max: int = 3,
    ) -> None:
        self.redis = binary_client(client)
        self.clock = clock or WallClock()
        self.queue = Queue(queue_name, connection=self.redis, default_timeout=job_timeout)
        self.retry_max = retry_max
        self.job_timeout = job_timeout
        probe = Worker([self.queue], connection=self.redis, name="qharness-probe")
        # What rq's forking worker gives an execution: min(timeout, monitoring) + 60 s.
        self.lease_timeout = float(min(job_timeout, probe.job_monitoring_interval) + 60)
        self._held: dict[tuple[str, str], _Held] = {}
        self._janitor = Worker([self.queue], connection=self.redis, name="qharness-janitor")
        self.ager = RealTimeAger(
            self.redis,
            self.clock,
            zsets=lambda: [self.queue.started_job_registry.key],
            prefixes=["rq:"],
            stamped=[f"{self.queue.intermediate_queue_key}:first_seen:*"],
        )

    def on_clock_advance(self, seconds: float) -> None:
        """The injected clock moved: age rq's real-time state by as much."""
        self.ager.sync()

    # ---- operations ------------------------------------------------------------------

    def submit(self, payload: str, task_id: TaskId | None = None) -> Steps[Submitted]:
        self.ager.sync()
        task_id = task_id or TaskId(uuid.uuid4().hex)
        if Job.exists(task_id, connection=self.redis):
            return Submitted(task_id=task_id, created=False)
        yield "after_exists_check"
        self.queue.enqueue(JOB_FUNC, payload, job_id=task_id)
        return Submitted(task_id=task_id, created=True)

    def claim(self, worker: WorkerId) -> Steps[Claim | None]:
        self.ager.sync()
        rq_worker = Worker(
            [self.queue], connection=self.redis, name=f"{worker}-{uuid.uuid4().hex[:8]}"
        )
        rq_worker.register_birth()  # type: ignore[no-untyped-call]  # as Worker.bootstrap does
        found = Queue.dequeue_any([self.queue], None, connection=self.redis)
        if found is None:
            return None
        rq_job, _queue = found
        yield "after_dequeue"
        rq_worker.prepare_execution(rq_job)
        yield "after_prepare_execution"
        rq_worker.prepare_job_execution(rq_job, remove_from_intermediate_queue=True)
        rq_job.started_at = now()  # as perform_job does, right after preparing
        self._held[(worker, rq_job.id)] = _Held(worker=rq_worker, job=rq_job)
        return Claim(
            task_id=TaskId(rq_job.id),
            payload=str(rq_job.args[0]) if rq_job.args else "null",
            attempt=(rq_job.number_of_retries or 0) + 1,
            token=None,  # rq has no fencing token
            expires_at=None,
        )

    def complete(
        self, task_id: TaskId, worker: WorkerId, token: str | None, result: str | None = None
    ) -> Steps[Outcome]:
        self.ager.sync()
        held = self._held.pop((worker, task_id), None)
        if held is None:
            return Outcome.NOT_PROCESSING
        held.worker.handle_execution_ended(held.job, self.queue, held.job.success_callback_timeout)
        yield "after_execution_ended"
        held.job._status = JobStatus.FINISHED  # as perform_job sets it before success handling
        held.worker.handle_job_success(held.job, self.queue, self.queue.started_job_registry)
        return Outcome.COMPLETED

    def fail(
        self, task_id: TaskId, worker: WorkerId, token: str | None, error: str, retry: bool
    ) -> Steps[Outcome]:
        self.ager.sync()
        held = self._held.pop((worker, task_id), None)
        if held is None:
            return Outcome.NOT_PROCESSING
        rq_worker, rq_job = held.worker, held.job
        rq_worker.handle_execution_ended(rq_job, self.queue, rq_job.failure_callback_timeout)
        yield "after_execution_ended"
        registry = self.queue.started_job_registry
        if retry and rq_worker.execution is not None:
            retries = rq_job.number_of_retries or 0
            rq_worker.handle_job_retry(
                rq_job, self.queue, Retry(max=self.retry_max), registry, rq_worker.execution
            )
            return Outcome.FAILED if retries >= self.retry_max else Outcome.PENDING
        rq_job._status = JobStatus.FAILED
        rq_worker.handle_job_failure(rq_job, self.queue, registry, exc_string=error)
        return Outcome.FAILED

    def heartbeat(self, worker: WorkerId) -> Steps[int]:
        self.ager.sync()
        yield from ()
        mine = [h for (w, _), h in self._held.items() if w == worker]
        for held in mine:
            held.worker.maintain_heartbeats(held.job)
        return len(mine)

    def rescue_expired(self) -> Steps[list[TaskId]]:
        self.ager.sync()
        if not self.queue.acquire_maintenance_lock():
            return []  # another janitor holds rq's maintenance lock
        yield "after_maintenance_lock"
        registry = self.queue.started_job_registry
        expired = [TaskId(j) for j in registry.get_expired_job_ids()]
        clean_registries(self.queue)
        yield "after_clean_registries"
        before = set(self.queue.intermediate_queue.get_job_ids())
        self.queue.intermediate_queue.cleanup(self._janitor, self.queue)
        after = set(self.queue.intermediate_queue.get_job_ids())
        yield "after_intermediate_cleanup"
        self.queue.release_maintenance_lock()  # type: ignore[no-untyped-call]
        return expired + [TaskId(j) for j in sorted(before - after)]

    def inspect(self, task_id: TaskId) -> Steps[TaskView | None]:
        """Where rq has the job: its hash, the queue list, the intermediate list, the
        started and failed registries, read in one pipelined round trip (read only)."""
        yield from ()
        pipe = self.redis.pipeline(transaction=True)  # one snapshot
        pipe.hmget(Job.key_for(task_id), ["status", "worker_name", "number_of_retries"])
        pipe.lpos(self.queue.key, task_id, count=0)
        pipe.lrange(self.queue.intermediate_queue_key, 0, -1)
        pipe.zrange(self.queue.started_job_registry.key, 0, -1)
        pipe.zscore(self.queue.failed_job_registry.key, task_id)
        fields, positions, intermediate_ids, started_entries, failed_score = pipe.execute()
        status_b, worker_b, retries_b = fields
        if status_b is None:
            return None  # no such job (or its hash expired)
        status = status_b.decode()
        copies = len(positions) if isinstance(positions, list) else 0
        intermediate = task_id.encode() in intermediate_ids
        registry = self.queue.started_job_registry
        started = task_id in {registry.parse_job_id(e) for e in started_entries}
        raw = _raw_state(status, copies=copies, intermediate=intermediate, started=started)
        if status != JobStatus.FAILED and failed_score is not None:
            # Listed as failed (e.g. by cleanup) while its own status says otherwise: a
            # late write of the worker that was deemed dead flipped it back.
            raw += "+failed_registry"
        return TaskView(
            task_id=task_id,
            status=self.status_of(raw),
            record_status=status,
            attempts=int(retries_b or 0) + (0 if status == JobStatus.QUEUED else 1),
            worker_id=worker_b.decode() if worker_b else None,
            pending_copies=copies,
            in_processing=started or intermediate,
            raw_state=raw,
            extra={"rq_version": RQ_VERSION},
        )

    def status_of(self, raw: str) -> TaskStatus:
        base, listed_failed, _ = raw.partition("+failed_registry")
        status = self.status_map.get(base, TaskStatus.MISSING)
        if listed_failed and status not in (TaskStatus.PENDING, TaskStatus.PROCESSING):
            return TaskStatus.FAILED
        return status

    def stats(self) -> Steps[QueueStats]:
        yield from ()
        return QueueStats(
            pending=self.queue.count,
            processing=len(self.queue.started_job_registry.get_job_ids(cleanup=False))
            + len(self.queue.intermediate_queue.get_job_ids()),
            completed=self.queue.finished_job_registry.get_job_count(cleanup=False),
            failed=self.queue.failed_job_registry.get_job_count(cleanup=False),
        )


def _raw_state(status: str, *, copies: int, intermediate: bool, started: bool) -> str:
    """rq's status, qualified by where the job really is (list, intermediate, registry)."""
    if status == JobStatus.QUEUED:
        if copies:
            return "queued"
        return "queued+intermediate" if intermediate else "queued+no_list"
    if status == JobStatus.STARTED:
        return "started" if started or intermediate else "started+no_registry"
    return status
