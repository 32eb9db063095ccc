"""Per-worker rate limiting for the worker endpoints, with its state in Redis.

A sliding-window log: one sorted set per worker (``ratelimit:<worker>``) holds the
times of its admitted requests in the last window; a request is admitted when fewer
than ``limit`` remain. One Lua script does trim + count + add in one round trip, so
the limit holds across every API process (and host) sharing the Redis, and the clock
is Redis ``TIME`` (no skew between API hosts). Exact: never more than ``limit``
admitted in any window-long interval. Memory: at most ``limit`` entries per worker,
expiring with the window.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass

import redis

from reference_queue.errors import QueueError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d*\.?\d*)\s*([smh])\s*$")

# KEYS[1] the worker's zset; ARGV: window seconds, limit, a unique member.
# Returns {1, 0} when admitted, else {0, ms until the oldest entry leaves the window}.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1]) * 1000
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window))
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, math.max(1, tonumber(oldest[2]) + window - now)}
"""


class RateSpecError(QueueError, ValueError):
    """A rate limit spec is not ``N/s``, ``N/m``, ``N/h`` (or ``N/10s``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Rate:
    limit: int  # requests admitted per window
    window: float  # seconds

    @classmethod
    def parse(cls, spec: str) -> Rate:
        """``"10/s"`` → 10 per second; ``"600/m"``; ``"5/10s"`` → 5 per 10 seconds."""
        match = _SPEC.match(spec)
        if match is None:
            raise RateSpecError(f"rate limit {spec!r}: expected N/s, N/m, N/h or N/10s")
        count, amount, unit = match.groups()
        window = (float(amount) if amount else 1.0) * _UNITS[unit]
        if int(count) < 1 or window <= 0:
            raise RateSpecError(f"rate limit {spec!r}: need N >= 1 and a positive window")
        return cls(limit=int(count), window=window)


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    allowed: bool
    retry_after: int  # whole seconds (>= 1) until a request would be admitted; 0 if allowed


class RateLimiter:
    """Admits or refuses one request of a worker; one Redis round trip each."""

    def __init__(self, client: redis.Redis, rate: Rate, *, prefix: str = "") -> None:
        self.rate = rate
        self.prefix = prefix
        self._script = client.register_script(_SCRIPT)

    def check(self, key: str) -> Verdict:
        allowed, wait_ms = self._script(
            keys=[f"{self.prefix}ratelimit:{key}"],
            args=[repr(self.rate.window), self.rate.limit, uuid.uuid4().hex],
        )
        if allowed:
            return Verdict(allowed=True, retry_after=0)
        return Verdict(allowed=False, retry_after=max(1, math.ceil(int(wait_ms) / 1000)))
