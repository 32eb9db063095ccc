"""The abstract users: Jepsen actors on Locust's FastHttpUser.

Each user is an actor (``worker-7``); each life of it is a Jepsen process
(``worker-7.0@host:pid``) doing one op at a time. A crash records a ``crash`` info
event, abandons whatever the actor held, and the actor carries on as a new process
(``worker-7.1@...``) with a new worker id, as a restarted worker would.

The concrete classes live in the public files (``worker.py``, ...); keeping the
bases here, ``abstract = True``, stops Locust from counting them twice.
"""

from __future__ import annotations

import logging
import random
import re
import time
from typing import Any, ClassVar

import gevent
from locust import constant, tag, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser
from locust.user.wait_time import constant_throughput

from harness.events import EventType, Op
from harness.locust import lifecycle  # noqa: F401  (registers the options and run roles with Locust)
from harness.locust.client import Lease, QueueClient
from harness.locust.context import ProcessContext, context_for
from harness.recorder import process_name

logger = logging.getLogger(__name__)

SUBMIT_ATTEMPTS = 4  # a producer retries a lost answer this often, with the same id
RATE_LIMITED_RETRIES = 5  # a completion refused with 429 is re-sent this often after backoff
IDLE_WHEN_SPENT = 1.0  # seconds a producer sleeps between checks once the budget is spent
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9._:-]")


class QueueUser(FastHttpUser):
    """An actor with a process identity, a random stream and an instrumented client."""

    abstract = True
    actor: ClassVar[str] = "user"
    wait_time = constant(0)
    network_timeout = 10.0  # an answer later than this is "unknown" (info), as in Jepsen
    connection_timeout = 5.0

    def on_start(self) -> None:
        ctx = context_for(self.environment)
        if ctx is None:
            raise StopUser  # the run could not start (bad settings); lifecycle has said why
        self.ctx: ProcessContext = ctx
        self.settings = ctx.settings
        self.number = ctx.next_number(self.actor)
        self.incarnation = 0
        self.rng = random.Random()
        self.api = QueueClient(
            self.client,
            ctx.history,
            api_key=self.settings.api_key,
            admin_key=self.settings.admin_key,
        )

    @property
    def process(self) -> str:
        return process_name(self.actor, f"{self.number}.{self.incarnation}")

    @property
    def worker_id(self) -> str:
        """The process id in the contract's id alphabet (no ``@``)."""
        return _UNSAFE_ID_CHARS.sub("-", self.process)

    def crash(self, lease: Lease | None) -> None:
        """Die here: record it, then come back as a new process."""
        self.ctx.history.write(
            {
                "process": self.process,
                "type": str(EventType.INFO),
                "f": str(Op.CRASH),
                "time_ns": time.time_ns(),
                "task_id": lease.task_id if lease else None,
                "worker_id": self.worker_id,
            }
        )
        self.incarnation += 1


class WorkerBase(QueueUser):
    """Claim, work (heartbeating), then complete or fail; may crash mid-task."""

    abstract = True
    actor = "worker"

    @tag("worker")
    @task
    def work(self) -> None:
        _, lease = self.api.claim(self.process, self.worker_id)
        if lease is None:
            answer = self.api.last_answer
            limited = answer is not None and answer.rate_limited
            backoff = answer.backoff if answer is not None and limited else 0.0
            gevent.sleep(max(self.settings.poll_interval, backoff))
            return
        self.handle(lease)

    def handle(self, lease: Lease) -> None:
        duration = self.settings.task_duration.sample(self.rng)
        if self.rng.random() < self.settings.crash_probability:
            self.busy(duration * self.rng.random())
            self.crash(lease)
            return
        self.busy(duration)
        self.finish(lease)

    def busy(self, seconds: float) -> None:
        """Work for ``seconds``, heartbeating every --heartbeat-interval meanwhile."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            gevent.sleep(min(left, self.settings.heartbeat_interval))
            if end - time.monotonic() > 0:
                # a 429 needs no extra wait: the next heartbeat is an interval away
                self.api.heartbeat(self.process, self.worker_id)

    def finish(self, lease: Lease) -> None:
        """Report the outcome; a 429 had no effect (recorded as ``fail``) and the lease is
        still held, so the same report is sent again after Retry-After, a few times."""
        failing = self.rng.random() < self.settings.fail_probability
        retry = failing and self.rng.random() < 0.5
        for _ in range(1 + RATE_LIMITED_RETRIES):
            if failing:
                answer = self.api.fail(
                    self.process, self.worker_id, lease, "simulated failure", retry
                )
            else:
                answer = self.api.complete(
                    self.process, self.worker_id, lease, {"by": self.worker_id}
                )
            if not answer.rate_limited:
                return
            gevent.sleep(answer.backoff)


class SlowWorkerBase(WorkerBase):
    """Sometimes stalls without heartbeats past its lease (a paused process), then
    completes anyway: the janitor races of the note (F4, F5, F6)."""

    abstract = True
    actor = "slow-worker"

    def handle(self, lease: Lease) -> None:
        if self.rng.random() >= self.settings.slow_probability:
            super().handle(lease)
            return
        gevent.sleep(self.stall_seconds(lease))
        self.finish(lease)

    def stall_seconds(self, lease: Lease) -> float:
        """Until the lease has surely expired and a janitor has had its chance."""
        if lease.expires_at is not None:
            left = max(0.0, lease.expires_at - time.time())
            lease_seconds = left
        else:
            lease_seconds = self.settings.stall_lease
        grace = max(0.5, 0.25 * lease_seconds) + self.settings.janitor_interval
        return lease_seconds + grace


class ProducerBase(QueueUser):
    """Submits the budget's ids; retries a lost answer with the same id; now and then
    resubmits an id on purpose (the contract makes that a no-op)."""

    abstract = True
    actor = "producer"

    def wait_time(self) -> float:  # type: ignore[override]
        rate = self.settings.producer_rate if hasattr(self, "settings") else None
        return constant_throughput(rate)(self) if rate else 0.0

    @tag("producer")
    @task
    def produce(self) -> None:
        task_id = self.ctx.ids.take()
        if task_id is None:
            gevent.sleep(IDLE_WHEN_SPENT)
            return
        payload = {"task": task_id, "work": self.settings.task_duration.sample(self.rng)}
        self.submit_until_answered(task_id, payload)
        self.ctx.ids.settle()
        if self.rng.random() < self.settings.resubmit_probability:
            self.api.submit(self.process, task_id, payload)

    def submit_until_answered(self, task_id: str, payload: Any) -> None:
        for attempt in range(SUBMIT_ATTEMPTS):
            if self.api.submit(self.process, task_id, payload).outcome is not EventType.INFO:
                return
            gevent.sleep(0.05 * 2**attempt)


class JanitorTriggerBase(QueueUser):
    """Runs the deployment's janitor through ``POST /admin/janitor/run`` (admin key only)."""

    abstract = True
    actor = "janitor"
    _warned: ClassVar[bool] = False

    @tag("janitor")
    @task
    def sweep(self) -> None:
        if not self.settings.admin_key:
            if not JanitorTriggerBase._warned:
                JanitorTriggerBase._warned = True
                logger.info("JanitorTrigger idle: no --admin-key (or QHARNESS_ADMIN_KEY) given")
            gevent.sleep(5.0)
            return
        self.api.janitor_run(self.process)
        gevent.sleep(self.settings.janitor_interval)
