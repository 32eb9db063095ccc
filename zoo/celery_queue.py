"""Celery 5 with kombu's Redis transport on trial (late acknowledgement), stepped.

Celery's worker with ``acks_late`` runs a task, stores its result, then acknowledges
the message; kombu's Redis transport emulates acknowledgements with an ``unacked``
hash and an ``unacked_index`` sorted set (score = delivery time) and redelivers what
stays unacknowledged past ``visibility_timeout`` (``QoS.restore_visible``). This
adapter makes those calls in that order and yields between them:

- submit: ``Celery.send_task`` (one ``LPUSH`` of the message);
- claim: kombu's ``Channel.basic_get`` taken apart at its one seam: ``Channel._get``
  (``RPOP``) · ``after_pop`` · ``QoS.append`` (``ZADD`` + ``HSET`` in a pipeline). These
  are the two lines of ``basic_get``, in its order, on kombu's own objects: a worker
  that dies between them has popped a message that is recorded nowhere;
- complete: ``backend.mark_as_done`` · ``after_store_result`` · ``Message.ack``
  (``ZREM`` + ``HDEL`` by delivery tag: no ownership check, and a restored message keeps
  its delivery tag);
- fail: ``mark_as_failure`` then ``ack`` (Celery's default ``acks_on_failure_or_timeout``);
  with retry, what ``Task.retry`` does: re-send the task under the same id, mark it
  ``RETRY``, then ack the old message;
- heartbeat: nothing to extend (kombu has no lease extension): 0;
- rescue_expired: ``QoS.restore_visible`` on every call (the worker throttles the scan
  to every ``unacked_restore_throttle``-th tick; the throttle is a rate, not a rule).

A crash abandons the worker's channel without closing it (closing would restore its
unacked messages, which a killed process never does). Time: kombu stamps deliveries
with ``time.time()``; :class:`~zoo._aging.RealTimeAger` ages the ``unacked_index`` scores
and key TTLs when the injected clock moves.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from queue import Empty
from typing import Any, ClassVar, cast

import redis
from celery import Celery
from celery import __version__ as CELERY_VERSION
from kombu import __version__ as KOMBU_VERSION

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
from zoo._client import binary_client, url_of

TASK_NAME = "qharness.job"
SUBMITTED_KEY = "qharness:zoo:submitted:{}"  # the producer's own record of ids it sent


@dataclass(slots=True)
class _Held:
    message: Any  # kombu.transport.virtual.Message


@cache
def _app(url: str, visibility_timeout: float) -> Celery:
    """One Celery app per server and timeout (cheap to reuse across explorer examples)."""
    app = Celery("qharness-zoo", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        broker_transport_options={"visibility_timeout": visibility_timeout},
        task_acks_late=True,
        broker_connection_retry_on_startup=False,
    )
    return app


class CeleryQueue:
    """Celery's producer, result backend and kombu's Redis channel, stepped."""

    name = "celery"
    decode_responses = False
    status_map: ClassVar[Mapping[str, TaskStatus]] = {
        "queued": TaskStatus.PENDING,
        "unacked": TaskStatus.PROCESSING,
        "SUCCESS": TaskStatus.COMPLETED,
        "FAILURE": TaskStatus.FAILED,
        "RETRY+nowhere": TaskStatus.MISSING,
        "PENDING+nowhere": TaskStatus.MISSING,
    }
    time_sources: ClassVar[Mapping[str, TimeSource]] = {
        "unacked_index scores (kombu QoS.append: time.time())": TimeSource.REAL,
        "restore_visible ceiling (time.time() - visibility_timeout)": TimeSource.REAL,
        "unacked_mutex and result key TTLs (Redis expiry)": TimeSource.REAL,
    }
    promise = Promise(
        kind=DeliveryPromise.AT_LEAST_ONCE,
        source="https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/"
        f"redis.html, Visibility Timeout (checked {CELERY_VERSION}); kombu {KOMBU_VERSION}; "
        "with task_acks_late=True (Celery's default acks early: at most once)",
        quote="The visibility timeout defines the number of seconds to wait for the worker "
        "to acknowledge the task before the message is redelivered to another worker.",
    )
    distributions = ("celery", "kombu", "redis")
    # Confirmed by reading the issue: the same RPOP-then-record window (its Redis trace
    # shows RPOP, then the MULTI that records the unacked delivery, which never came).
    upstream_issues: ClassVar[Mapping[str, str]] = {
        "lost": "celery/celery#7950: Celery worker deletes task from MQ during fetching "
        "after shutdown",
    }

    def __init__(
        self,
        client: redis.Redis,
        *,
        clock: Clock | None = None,
        visibility_timeout: float = 3600.0,
    ) -> None:
        self.redis = binary_client(client)
        self.clock = clock or WallClock()
        self.url = url_of(client)
        self.app = _app(self.url, visibility_timeout)
        self.queue_name: str = self.app.conf.task_default_queue
        self._connection = self.app.connection_for_read()
        self._channels: dict[str, Any] = {}
        self._held: dict[tuple[str, str], _Held] = {}
        # Delivery tags this adapter acked, in order: a rescue does not report a delivery
        # that left the unacked record because its holder acked it meanwhile.
        self._acks: list[str] = []
        janitor = self._channel("qharness-janitor")
        self.lease_timeout = float(janitor.visibility_timeout)
        self.unacked_key: str = janitor.unacked_key
        self.unacked_index_key: str = janitor.unacked_index_key
        self.ager = RealTimeAger(
            self.redis,
            self.clock,
            zsets=lambda: [self.unacked_index_key],
            prefixes=["unacked_mutex", "celery-task-meta-"],
        )

    def on_clock_advance(self, seconds: float) -> None:
        self.ager.sync()

    def _channel(self, worker: str) -> Any:
        channel = self._channels.get(worker)
        if channel is None:
            channel = self._channels[worker] = self._connection.channel()
            # A killed worker never restores its unacked messages on the way out, and an
            # abandoned channel must not either when it is collected.
            channel.qos.restore_at_shutdown = False
            self.app.amqp.queues[self.queue_name](channel).declare()
        return channel

    # ---- operations ------------------------------------------------------------------

    def submit(self, payload: str, task_id: TaskId | None = None) -> Steps[Submitted]:
        self.ager.sync()
        task_id = task_id or TaskId(uuid.uuid4().hex)
        if not self.redis.set(SUBMITTED_KEY.format(task_id), 1, nx=True):
            return Submitted(task_id=task_id, created=False)  # Celery does not dedupe ids
        yield "after_submitted_mark"
        self.app.send_task(TASK_NAME, args=[payload], task_id=task_id)
        return Submitted(task_id=task_id, created=True)

    def claim(self, worker: WorkerId) -> Steps[Claim | None]:
        self.ager.sync()
        channel = self._channel(worker)
        try:
            raw = channel._get(self.queue_name)  # basic_get, line 1: RPOP
        except Empty:  # kombu raises the standard library's queue.Empty
            return None
        yield "after_pop"
        message = channel.Message(raw, channel=channel)  # basic_get, line 2 (no Redis)
        channel.qos.append(message, message.delivery_tag)  # basic_get, line 3: ZADD + HSET
        headers = message.headers
        task_id = TaskId(headers["id"])
        self._held[(worker, task_id)] = _Held(message=message)
        return Claim(
            task_id=task_id,
            payload=str(message.decode()[0][0]),
            attempt=int(headers.get("retries") or 0) + 1,
            token=None,  # a delivery tag is not a fence: a restored message keeps it
            expires_at=None,
        )

    def complete(
        self, task_id: TaskId, worker: WorkerId, token: str | None, result: str | None = None
    ) -> Steps[Outcome]:
        self.ager.sync()
        held = self._held.pop((worker, task_id), None)
        if held is None:
            return Outcome.NOT_PROCESSING
        self.app.backend.mark_as_done(task_id, result)
        yield "after_store_result"
        self._ack(held)
        return Outcome.COMPLETED

    def fail(
        self, task_id: TaskId, worker: WorkerId, token: str | None, error: str, retry: bool
    ) -> Steps[Outcome]:
        self.ager.sync()
        held = self._held.pop((worker, task_id), None)
        if held is None:
            return Outcome.NOT_PROCESSING
        if retry:  # Task.retry: send the task again under the same id, then ack
            args, _, _ = held.message.decode()
            retries = int(held.message.headers.get("retries") or 0) + 1
            self.app.send_task(TASK_NAME, args=args, task_id=task_id, retries=retries)
            yield "after_resend"
            self.app.backend.mark_as_retry(task_id, RuntimeError(error))
            yield "after_store_result"
            self._ack(held)
            return Outcome.PENDING
        self.app.backend.mark_as_failure(task_id, RuntimeError(error))
        yield "after_store_result"
        self._ack(held)
        return Outcome.FAILED

    def _ack(self, held: _Held) -> None:
        """Ack a delivery, noting its tag (a rescue must not take it for a restore)."""
        self._acks.append(str(held.message.delivery_tag))
        held.message.ack()

    def heartbeat(self, worker: WorkerId) -> Steps[int]:
        yield from ()
        return 0  # kombu's Redis transport has no lease extension

    def rescue_expired(self) -> Steps[list[TaskId]]:
        self.ager.sync()
        channel = self._channel("qharness-janitor")
        before, aged = self._unacked_since(), self.ager.aged_s
        acks = len(self._acks)
        yield "after_scan"
        channel.qos.restore_visible(num=channel.unacked_restore_limit, interval=1)
        # restore_visible restored what was delivered before its own ceiling (now - the
        # visibility timeout, read inside it): a delivery gone since the scan, old enough
        # for a ceiling read by now, and not acked meanwhile was restored. (A ceiling read
        # at the scan missed deliveries that came of age while the restore ran: seen
        # under load as a crashed task brought back with no rescue recorded.)
        ceiling = time.time() - self.lease_timeout
        since = self.ager.aged_s - aged  # clock advances since the scan aged every delivery
        still = set(self.redis.hkeys(self.unacked_key))
        acked = set(self._acks[acks:])
        return [
            task_id
            for tag, (task_id, delivered) in before.items()
            if delivered - since <= ceiling and tag not in still and _text(tag) not in acked
        ]

    def _unacked_since(self) -> dict[Any, tuple[TaskId, float]]:
        """Unacked deliveries: delivery tag -> (task id, when delivered, as kombu scores it)."""
        rows = self.redis.zrange(self.unacked_index_key, 0, -1, withscores=True)
        delivered = dict(cast(list[tuple[Any, float]], rows))
        return {
            tag: (task_id, float(delivered[tag]))
            for tag, task_id in self._unacked().items()
            if tag in delivered
        }

    def _unacked(self) -> dict[Any, TaskId]:
        out: dict[Any, TaskId] = {}
        for tag, value in self.redis.hgetall(self.unacked_key).items():
            payload = json.loads(value)[0]
            out[tag] = TaskId(payload["headers"]["id"])
        return out

    def _queued(self) -> list[TaskId]:
        return [
            TaskId(json.loads(raw)["headers"]["id"])
            for raw in self.redis.lrange(self.queue_name, 0, -1)
        ]

    def inspect(self, task_id: TaskId) -> Steps[TaskView | None]:
        yield from ()
        if not self.redis.exists(SUBMITTED_KEY.format(task_id)):
            return None
        copies = self._queued().count(task_id)
        unacked = task_id in self._unacked().values()
        state = str(self.app.backend.get_state(task_id))
        if copies:
            raw = "queued"
        elif unacked:
            raw = "unacked"
        elif state in ("SUCCESS", "FAILURE"):
            raw = state
        else:
            raw = f"{state}+nowhere"
        return TaskView(
            task_id=task_id,
            status=self.status_map.get(raw, TaskStatus.MISSING),
            record_status=state,
            attempts=0,
            worker_id=None,
            pending_copies=copies,
            in_processing=unacked,
            raw_state=raw if raw.endswith("nowhere") or raw == state else f"{raw} ({state})",
            extra={"celery": CELERY_VERSION, "kombu": KOMBU_VERSION},
        )

    def stats(self) -> Steps[QueueStats]:
        yield from ()
        results = [
            str(self.app.backend.get_state(key.decode().rsplit(":", 1)[-1]))
            for key in self.redis.scan_iter(match=SUBMITTED_KEY.format("*"), count=500)
        ]
        return QueueStats(
            pending=int(self.redis.llen(self.queue_name)),
            processing=int(self.redis.hlen(self.unacked_key)),
            completed=results.count("SUCCESS"),
            failed=results.count("FAILURE"),
        )


def _text(tag: Any) -> str:
    """A delivery tag as the adapter's messages carry it (the client may answer bytes)."""
    return tag.decode() if isinstance(tag, bytes) else str(tag)
