"""What the note should have built: leases, fencing tokens, one Lua script per operation.

- claim: one script pops, leases (deadline from Redis ``TIME``) and fences (a fresh
  token from ``INCR``) — a popped task is never "nowhere" (F1, F2).
- complete / fail: accepted only with the current token while the task is processing
  (compare-and-set); otherwise a definite ``lease_lost`` / ``not_processing`` (F5, F8).
- heartbeat: extends the leases the worker really holds, ``ZADD XX`` so a late
  heartbeat cannot re-insert a finished task (F11).
- rescue: one script re-queues only tasks whose lease expired and that are still
  processing; atomic, so several janitors may run at once (F4, F6, F7). After
  ``max_attempts`` claims a task is dead-lettered (status ``failed``).
- submit: idempotent by task id (F3).

Every operation is a single round trip, so none yields. Scripts are registered once
per queue; redis-py's ``Script`` re-loads a script after ``NOSCRIPT`` (e.g. a Redis
restart) by itself. ``clock=None`` means Redis ``TIME``; the explorer injects a clock.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import redis
from redis.commands.core import Script

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
    TaskView,
    WorkerId,
)
from reference_queue.inspect import inspect_task, queue_stats
from reference_queue.keys import Keys

logger = logging.getLogger(__name__)

RESCUE_BATCH = 1000  # tasks re-queued per janitor round trip (bounds the script's run time)
SCRIPTS = ("submit", "claim", "finish", "heartbeat", "rescue")


@dataclass(frozen=True, slots=True, kw_only=True)
class ScriptCall:
    """One EVALSHA: which script, its KEYS and ARGV (built once, run sync or async)."""

    script: str
    keys: list[str]
    args: list[Any]


@cache
def script_source(name: str) -> str:
    """A script's text with the shared prelude (``_now.lua``) in front."""
    folder = resources.files("reference_queue") / "lua"
    return (folder / "_now.lua").read_text() + "\n" + (folder / f"{name}.lua").read_text()


class SafeQueue:
    """Lease + fencing-token queue; same interface and key names as the naive one."""

    name = "safe"
    promise = Promise(
        kind=DeliveryPromise.EXACTLY_ONCE_COMPLETION,
        source="DESIGN.md §2 (the safe reference queue)",
        quote="complete/fail accepted only with the current token while the task is processing",
    )

    def __init__(
        self,
        client: redis.Redis,
        *,
        lease_timeout: float = 30.0,
        max_attempts: int = 5,
        clock: Clock | None = None,
        keys: Keys | None = None,
    ) -> None:
        if lease_timeout <= 0:
            raise ValueError("lease_timeout must be > 0")
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.redis = client
        self.lease_timeout = lease_timeout
        self.max_attempts = max_attempts
        self.clock = clock
        self.keys = keys or Keys()
        self._scripts = {name: self._script(name) for name in SCRIPTS}

    @property
    def write_only(self) -> dict[str, tuple[str, ...]]:
        """Fields no script reads back (``harness.contract``): the scripts read a record's
        status, token, worker_id, attempts and payload; deadlines come from the
        processing set's scores, never from ``lease_expires_at``; nothing reads a
        worker's ``last_active``."""
        records = ("created_at", "claimed_at", "lease_expires_at", "completed_at", "failed_at",
                   "result", "error")  # fmt: skip
        prefix = self.keys.prefix
        return {f"{prefix}task:*": records, f"{prefix}worker:*": ("last_active",)}

    def _script(self, name: str) -> Script:
        return self.redis.register_script(script_source(name))

    def _now(self) -> str:
        return "" if self.clock is None else repr(self.clock.now())

    def submit(self, payload: str, task_id: TaskId | None = None) -> Steps[Submitted]:
        yield from ()
        task_id = task_id or TaskId(uuid.uuid4().hex)
        created = self._scripts["submit"](
            keys=[self.keys.pending], args=[self._now(), self.keys.prefix, task_id, payload]
        )
        return Submitted(task_id=task_id, created=bool(created))

    # Each script call is built and parsed by one pair of methods below, shared by the
    # synchronous operations here and the asyncio facade (reference_queue.safe_async).

    def claim_call(self, worker: WorkerId) -> ScriptCall:
        return ScriptCall(
            script="claim",
            keys=[self.keys.pending, self.keys.processing, self.keys.token_seq],
            args=[self._now(), self.keys.prefix, worker, repr(self.lease_timeout)],
        )

    @staticmethod
    def claim_result(got: Any) -> Claim | None:
        if not got:
            return None
        task_id, payload, attempts, token, deadline = got
        return Claim(
            task_id=TaskId(task_id),
            payload=payload if payload is not None else "null",
            attempt=int(attempts),
            token=str(token),
            expires_at=float(deadline),
        )

    def finish_call(self, task_id: TaskId, token: str | None, action: str, text: str) -> ScriptCall:
        keys = self.keys
        return ScriptCall(
            script="finish",
            keys=[keys.processing, keys.pending, keys.failed, keys.completed_count],
            args=[self._now(), keys.prefix, task_id, token or "", action, text, self.max_attempts],
        )

    def heartbeat_call(self, worker: WorkerId) -> ScriptCall:
        return ScriptCall(
            script="heartbeat",
            keys=[self.keys.processing],
            args=[self._now(), self.keys.prefix, worker, repr(self.lease_timeout)],
        )

    def _run(self, call: ScriptCall) -> Any:
        return self._scripts[call.script](keys=call.keys, args=call.args)

    def claim(self, worker: WorkerId) -> Steps[Claim | None]:
        yield from ()
        return self.claim_result(self._run(self.claim_call(worker)))

    def _finish_op(self, task_id: TaskId, token: str | None, action: str, text: str) -> Outcome:
        return Outcome(self._run(self.finish_call(task_id, token, action, text)))

    def complete(
        self, task_id: TaskId, worker: WorkerId, token: str | None, result: str | None = None
    ) -> Steps[Outcome]:
        yield from ()
        return self._finish_op(task_id, token, "complete", result or "")

    def fail(
        self, task_id: TaskId, worker: WorkerId, token: str | None, error: str, retry: bool
    ) -> Steps[Outcome]:
        yield from ()
        return self._finish_op(task_id, token, "retry" if retry else "fail", error)

    def heartbeat(self, worker: WorkerId) -> Steps[int]:
        yield from ()
        return int(self._run(self.heartbeat_call(worker)))

    def rescue_expired(self) -> Steps[list[TaskId]]:
        """Re-queue expired leases; returns the re-queued ids (dead-lettered ones are logged)."""
        yield from ()
        requeued, dead = self._scripts["rescue"](
            keys=[self.keys.processing, self.keys.pending, self.keys.failed],
            args=[self._now(), self.keys.prefix, self.max_attempts, RESCUE_BATCH],
        )
        if dead:
            logger.warning("dead-lettered after %d attempts: %s", self.max_attempts, dead)
        return [TaskId(t) for t in requeued]

    def inspect(self, task_id: TaskId) -> Steps[TaskView | None]:
        return inspect_task(self.redis, self.keys, task_id)

    def stats(self) -> Steps[QueueStats]:
        return queue_stats(self.redis, self.keys)
