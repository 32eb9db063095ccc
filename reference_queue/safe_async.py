"""The safe queue's hot operations on ``redis.asyncio``, for the API's event loop.

Same Lua scripts, same KEYS/ARGV built by the same :class:`~reference_queue.safe.SafeQueue`
methods (``claim_call``, ``finish_call``, ``heartbeat_call``), same result parsing: only
the round trip is awaited instead of blocking. Chosen by measurement over plain ``def``
endpoints on the thread pool (``benchmarks/api.py``: 2,169 vs about 1,600
claim+complete/s on this machine): the thread hop costs more than the Redis work. Faults apply as in
:func:`~harness.contract.drive` (the safe operations have only ``before_<op>``).
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig

from harness.contract import Claim, Outcome, TaskId, WorkerId
from reference_queue.client import bounded_options
from reference_queue.faults import Faults
from reference_queue.safe import SCRIPTS, SafeQueue, ScriptCall, script_source


def bounded_async_client(
    url: str, *, timeout: float = 1.0, max_connections: int = 64
) -> aioredis.Redis:
    """The asyncio twin of :func:`reference_queue.client.bounded_client` (no retries).

    Maintenance notifications off: redis-py 8's default ("auto") skips the pool's
    stale-connection check, so after a Redis restart the first command would go out on
    a dead idle connection and fail (a spurious 503) instead of reconnecting.
    """
    return aioredis.Redis.from_url(
        url,
        retry=Retry(NoBackoff(), 0),
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
        **bounded_options(timeout, max_connections),
    )


class AsyncSafe:
    """Awaitable claim / complete / fail / heartbeat over a :class:`SafeQueue`."""

    def __init__(self, queue: SafeQueue, client: aioredis.Redis, faults: Faults) -> None:
        self.queue = queue
        self.client = client
        self.faults = faults
        self._scripts = {name: client.register_script(script_source(name)) for name in SCRIPTS}

    async def _run(self, op: str, call: ScriptCall) -> Any:
        await self.faults.ahit(f"before_{op}")
        return await self._scripts[call.script](keys=call.keys, args=call.args)

    async def claim(self, worker: WorkerId) -> Claim | None:
        return self.queue.claim_result(await self._run("claim", self.queue.claim_call(worker)))

    async def complete(self, task_id: TaskId, token: str | None, result: str | None) -> Outcome:
        call = self.queue.finish_call(task_id, token, "complete", result or "")
        return Outcome(await self._run("complete", call))

    async def fail(self, task_id: TaskId, token: str | None, error: str, retry: bool) -> Outcome:
        call = self.queue.finish_call(task_id, token, "retry" if retry else "fail", error)
        return Outcome(await self._run("fail", call))

    async def heartbeat(self, worker: WorkerId) -> int:
        return int(await self._run("heartbeat", self.queue.heartbeat_call(worker)))

    async def close(self) -> None:
        await self.client.aclose()
