"""taskiq-redis's stream broker (``RedisStreamBroker``) behind the harness's queue contract.

One broker per harness worker id, with that id as its consumer name, ``xread_count=1`` (one
message per read, so every message a worker holds is one the harness saw it claim) and
``idle_timeout`` = the lease. The library's own calls:

- submit: ``broker.kick(BrokerMessage)`` (XADD); taskiq-redis has no idempotent submit, so a
  repeated id is a second message (``created`` is always true);
- claim: the next item of the worker's ``broker.listen()`` async generator: XREADGROUP, and,
  after a non-empty read, the broker's reclaim (a MULTI of lock SET, XAUTOCLAIM, lock release);
- complete / fail: the message's ``ack()`` (XACK, no owner check); a fail with retry first
  re-kicks a copy, as taskiq's ``SimpleRetryMiddleware`` does, then acks (a crash point between);
- heartbeat: nothing to call: the stream broker has no lease extension (returns 0);
- rescue_expired: nothing to call: XAUTOCLAIM runs inside each worker's ``listen()`` loop, so
  recovery happens in ``claim`` (returns ``[]``);
- inspect: the stream, the group's pending entries and the acks this adapter made.

``listen()`` loops forever; ``claim`` runs it as a task parked just before any XREADGROUP that
would find nothing undelivered, and then returns ``None`` (the generator is dropped there,
before sending, and a fresh ``listen()``, which starts at that same XREADGROUP, replaces it).
Claim's round trips are not crash points: each of them alone is the claim (the read, or the
reclaim whose entries the harness then sees delivered).

Time: the broker never reads a clock; XAUTOCLAIM compares entries' idle time, kept by Redis
on its real clock. :meth:`TaskiqQueue.on_clock_advance` ages every pending entry by the
advance (XCLAIM to its own consumer with ``IDLE``, ``JUSTID``: delivery counts unchanged).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import weakref
from collections.abc import AsyncGenerator, Callable, Coroutine, Mapping
from typing import Any, TypeVar

import redis
from taskiq.acks import AckableMessage
from taskiq.message import BrokerMessage
from taskiq_redis import RedisStreamBroker

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
from zoo.aioloop import BEFORE, close_soon, run, stepped

__all__ = ["TaskiqQueue"]

T = TypeVar("T")

STREAM = "zoo"
GROUP = "taskiq"  # the broker's default consumer group
XREAD_BLOCK_MS = 10


class TaskiqQueue:
    """taskiq-redis RedisStreamBroker; see the module docstring."""

    name = "taskiq-redis"
    decode_responses = True
    status_map: Mapping[str, TaskStatus] = {
        "undelivered": TaskStatus.PENDING,
        "pending-entry": TaskStatus.PROCESSING,
        "acked:completed": TaskStatus.COMPLETED,
        "acked:failed": TaskStatus.FAILED,
        "acked:retried": TaskStatus.PENDING,
    }
    time_sources: Mapping[str, TimeSource] = {
        "pending entry idle time (XAUTOCLAIM min-idle-time, Redis clock)": TimeSource.REAL,
    }
    promise = Promise(
        kind=DeliveryPromise.AT_LEAST_ONCE,
        source="taskiq-redis README, 'Stream' broker (https://github.com/taskiq-python/taskiq-redis)",
        quote=(
            "This broker **supports** acknowledgements and therefore is fine to use in cases "
            "when data durability is required."
        ),
    )
    # Stuck-until-something-new and unfenced XACK: no matching upstream issue found; #131
    # (leftover reclaim lock) does not reproduce in 1.2.4 (tests/zoo/test_taskiq_queue.py).
    upstream_issues: Mapping[str, str] = {}

    def __init__(
        self, client: redis.Redis, *, clock: Clock | None = None, lease_timeout: float = 30.0
    ) -> None:
        self.clock = clock or WallClock()
        self.idle_ms = max(1, round(lease_timeout * 1000))
        self.lease_timeout = self.idle_ms / 1000
        kwargs = client.connection_pool.connection_kwargs
        self._url = f"redis://{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}"
        self._url += f"/{kwargs.get('db', 0)}"
        self._sync = client
        self._brokers: dict[WorkerId, RedisStreamBroker] = {}
        self._listening: dict[WorkerId, AsyncGenerator[AckableMessage, None]] = {}
        self._next: dict[WorkerId, asyncio.Future[AckableMessage]] = {}
        self._acked: dict[str, str] = {}  # entry id -> completed / failed / retried
        self._producer = run(self._broker(WorkerId("producer")))
        # The explorer drops adapters without closing them: close their connections then.
        self._closer = weakref.finalize(self, close_soon, self._shutdown)

    async def _broker(self, worker: WorkerId) -> RedisStreamBroker:
        if worker not in self._brokers:
            broker = RedisStreamBroker(
                self._url,
                queue_name=STREAM,
                consumer_name=worker,
                consumer_id="0",
                xread_block=XREAD_BLOCK_MS,
                xread_count=1,
                idle_timeout=self.idle_ms,
            )
            await broker.startup()  # XGROUP CREATE (MKSTREAM); "already exists" is ignored
            self._brokers[worker] = broker
        return self._brokers[worker]

    # ---- operations ---------------------------------------------------------------------

    def submit(self, payload: str, task_id: TaskId | None = None) -> Steps[Submitted]:
        return stepped(self._kick(payload, task_id), clock=self.clock)

    async def _kick(self, payload: str, task_id: TaskId | None) -> Submitted:
        chosen = task_id or TaskId(self._producer.id_generator())
        body = json.dumps({"task_id": chosen, "payload": payload}).encode()
        message = BrokerMessage(task_id=chosen, task_name="zoo", message=body, labels={})
        await self._producer.kick(message)
        return Submitted(task_id=chosen, created=True)

    def claim(self, worker: WorkerId) -> Steps[Claim | None]:
        return stepped(self._claim(worker), clock=self.clock)

    async def _claim(self, worker: WorkerId) -> Claim | None:
        broker = await self._broker(worker)
        if self._last_delivered() == "":  # the database was flushed under us (the explorer)
            await broker._declare_consumer_group()  # what broker.startup() does
        idle = asyncio.Event()
        if worker not in self._next:
            listening = self._listening.setdefault(worker, broker.listen())
            self._next[worker] = self._advance(listening, idle)
        pending = self._next[worker]
        waiting: asyncio.Future[Any] = asyncio.ensure_future(idle.wait())
        either: set[asyncio.Future[Any]] = {pending, waiting}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if not pending.done():  # parked before an XREADGROUP that would find nothing
            pending.cancel()
            del self._next[worker], self._listening[worker]
            return None
        del self._next[worker]
        message = pending.result()
        body = json.loads(message.data)
        entry = self._entry_of(message)
        return Claim(
            task_id=TaskId(body["task_id"]),
            payload=str(body["payload"]),
            attempt=self._deliveries(entry),
            token=entry,
            expires_at=self.clock.now() + self.lease_timeout,
        )

    def _advance(
        self, listening: AsyncGenerator[AckableMessage, None], idle: asyncio.Event
    ) -> asyncio.Task[AckableMessage]:
        """The next item of ``listen()``, parked before an XREADGROUP with nothing to read."""

        async def before(command: str) -> None:
            if command == "xreadgroup" and not self._undelivered():
                idle.set()
                await asyncio.Event().wait()  # parked: cancelled there, nothing sent

        free = contextvars.Context()  # claim's own round trips are not gated (docstring)
        free.run(BEFORE.set, before)
        return asyncio.get_running_loop().create_task(anext_message(listening), context=free)

    def complete(
        self, task_id: TaskId, worker: WorkerId, token: str | None, result: str | None = None
    ) -> Steps[Outcome]:
        return stepped(self._ack(task_id, worker, token, "completed"), clock=self.clock)

    def fail(
        self, task_id: TaskId, worker: WorkerId, token: str | None, error: str, retry: bool
    ) -> Steps[Outcome]:
        how = "retried" if retry else "failed"
        return stepped(self._ack(task_id, worker, token, how), clock=self.clock)

    async def _ack(self, task_id: TaskId, worker: WorkerId, token: str | None, how: str) -> Outcome:
        if token is None:
            return Outcome.LEASE_LOST  # an entry id is the only handle XACK takes
        broker = await self._broker(worker)
        if how == "retried":  # SimpleRetryMiddleware: kick a copy, then ack the original
            payload = json.loads(self._entry_data(token) or "{}").get("payload", "")
            await self._kick(str(payload), task_id)
        await broker._ack_generator(id=token, queue_name=STREAM)()
        self._acked[token] = how
        return {"completed": Outcome.COMPLETED, "failed": Outcome.FAILED}.get(how, Outcome.PENDING)

    def heartbeat(self, worker: WorkerId) -> Steps[int]:
        return _at_once(lambda: 0)

    def rescue_expired(self) -> Steps[list[TaskId]]:
        return _at_once(list)

    def inspect(self, task_id: TaskId) -> Steps[TaskView | None]:
        return _at_once(lambda: self._view(task_id))

    def stats(self) -> Steps[QueueStats]:
        return _at_once(self._stats)

    def _stats(self) -> QueueStats:
        acked = list(self._acked.values())
        return QueueStats(
            pending=len(self._undelivered()),
            processing=len(self._pending_entries()),
            completed=acked.count("completed"),
            failed=acked.count("failed"),
        )

    # ---- Redis state, read with the harness's own (ungated) client ------------------------

    def _entries(self) -> list[tuple[str, dict[str, str]]]:
        return list(self._sync.xrange(STREAM) or [])  # type: ignore[arg-type]

    def _last_delivered(self) -> str:
        groups = self._sync.xinfo_groups(STREAM) if self._sync.exists(STREAM) else []
        found = [g for g in groups if g["name"] == GROUP]  # type: ignore[union-attr]
        return str(found[0]["last-delivered-id"]) if found else ""

    def _undelivered(self) -> list[str]:
        last = _id(self._last_delivered() or "0-0")
        return [entry for entry, _ in self._entries() if _id(entry) > last]

    def _pending_entries(self) -> dict[str, dict[str, Any]]:
        if not self._sync.exists(STREAM):
            return {}
        rows = self._sync.xpending_range(STREAM, GROUP, min="-", max="+", count=10_000)
        return {str(row["message_id"]): row for row in rows}  # type: ignore[union-attr]

    def _deliveries(self, entry: str) -> int:
        row = self._pending_entries().get(entry)
        return int(row["times_delivered"]) if row else 1

    def _entry_data(self, entry: str) -> str | None:
        found = self._sync.xrange(STREAM, min=entry, max=entry)
        return str(found[0][1]["data"]) if found else None  # type: ignore[index]

    @staticmethod
    def _entry_of(message: AckableMessage) -> str:
        ack = message.ack
        cells = dict(zip(ack.__code__.co_freevars, ack.__closure__ or (), strict=False))
        entry = cells["id"].cell_contents  # the broker's client is binary: bytes
        return entry.decode() if isinstance(entry, bytes) else str(entry)

    def _view(self, task_id: TaskId) -> TaskView | None:
        mine = [
            e for e, fields in self._entries() if json.loads(fields["data"])["task_id"] == task_id
        ]
        if not mine:
            return None
        undelivered, pel = set(self._undelivered()), self._pending_entries()
        latest = mine[-1]
        holders = [str(pel[e]["consumer"]) for e in mine if e in pel]
        copies = sum(1 for e in mine if e in undelivered)
        raw = (
            "pending-entry" if holders else "undelivered" if copies
            else f"acked:{self._acked.get(latest, 'completed')}"
        )  # fmt: skip
        return TaskView(
            task_id=task_id,
            status=self.status_map.get(raw, TaskStatus.MISSING),
            record_status=raw,
            attempts=sum(int(pel[e]["times_delivered"]) for e in mine if e in pel),
            worker_id=holders[0] if holders else None,
            pending_copies=copies,
            in_processing=bool(holders),
            raw_state=raw,
            extra={"entries": mine},
        )

    # ---- time ---------------------------------------------------------------------------

    def on_clock_advance(self, seconds: float) -> None:
        """Age every pending entry's idle time by the advance (its owner keeps it)."""
        for entry, row in self._pending_entries().items():
            idle = int(row["time_since_delivered"]) + round(seconds * 1000)
            self._sync.xclaim(
                STREAM, GROUP, str(row["consumer"]), 0, [entry], idle=idle, justid=True
            )

    def close(self) -> None:
        self._closer.detach()
        run(self._shutdown())

    @property
    def _shutdown(self) -> Callable[[], Coroutine[Any, Any, None]]:
        """A clean-up that holds the brokers, not the adapter (so a finalizer can hold it)."""
        return functools.partial(_shutdown, self._brokers, self._next)


async def _shutdown(
    brokers: Mapping[WorkerId, RedisStreamBroker], parked: Mapping[WorkerId, asyncio.Future[Any]]
) -> None:
    for pending in parked.values():
        pending.cancel()
    for broker in brokers.values():
        await broker.shutdown()


async def anext_message(listening: AsyncGenerator[AckableMessage, None]) -> AckableMessage:
    return await anext(listening)


def _at_once(compute: Callable[[], T]) -> Steps[T]:
    """An operation with no library round trip to step (reads use the harness's client)."""
    return compute()
    yield  # unreachable: makes this a generator, an operation that never stops between steps


def _id(entry: str) -> tuple[int, int]:
    ms, _, seq = entry.partition("-")
    return int(ms), int(seq or 0)
