"""The Redis client of the deployment's processes (API, janitor): bounded and retry-free.

Bounded: every connect and read gives up after ``timeout`` seconds, so an API request
answers 503 within about that long when Redis is down or paused — never a hang.
Retry-free: redis-py 6+ retries a failed command three times with exponential backoff
by default, which would stretch a 503 to several seconds and silently re-send a
non-idempotent ``RPOP`` (the note's F2 is a deliberate, visible fault, not a default).
"""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def bounded_options(timeout: float, max_connections: int) -> dict[str, Any]:
    """Decoded strings, ``timeout``-second sockets, a bounded pool; shared with the
    asyncio twin (:func:`reference_queue.safe_async.bounded_async_client`). Each adds
    its own no-retry policy: the sync and asyncio ``Retry`` classes differ."""
    return {
        "decode_responses": True,
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "max_connections": max_connections,
    }


def bounded_client(url: str, *, timeout: float = 1.0, max_connections: int = 64) -> redis.Redis:
    """A decoded-strings client with ``timeout``-second sockets and no retries."""
    return redis.Redis.from_url(
        url, retry=Retry(NoBackoff(), 0), **bounded_options(timeout, max_connections)
    )
