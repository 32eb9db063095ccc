"""Ageing what a library timed on real time when the injected clock moves.

rq and kombu take their timestamps from ``time.time()`` (registry scores, unacked
indexes, lock and key expiries) and cannot be handed a clock. When the explorer moves
its injected clock forward by ``s`` seconds, :class:`RealTimeAger` makes the same
amount of time pass for the library's state instead: every score in the named sorted
sets is lowered by ``s``, every timestamp stored as a key's value (``stamped``) too,
and every key under the library's prefixes that has a TTL
loses ``s`` seconds of it (a key whose TTL runs out is deleted, as Redis would have).
The library's own code then judges "expired" against real time as it always does.

It follows the clock rather than counting calls: :meth:`sync` ages by however far the
clock ran ahead of real time since the last sync, so calling it from
``on_clock_advance`` and again before an operation never ages twice, and a wall clock
(the in-process Locust load) ages nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import redis

from harness.contract import Clock

ZsetKeys = Callable[[], Sequence[str]]
MIN_AGE_S = 0.01


class RealTimeAger:
    def __init__(
        self,
        client: redis.Redis,
        clock: Clock,
        *,
        zsets: ZsetKeys,
        prefixes: Sequence[str],
        stamped: Sequence[str] = (),
        excluded_scores: Sequence[float] = (),
    ) -> None:
        self.client, self.clock = client, clock
        self.zsets, self.prefixes, self.stamped = zsets, tuple(prefixes), tuple(stamped)
        self.excluded = frozenset(excluded_scores)
        self.seen, self.seen_real = clock.now(), time.time()
        self.aged_s = 0.0  # total real time made to pass, for reports

    def sync(self) -> float:
        """Age by how far the clock ran ahead of real time since the last sync (a wall
        clock never does: the library sees that time pass by itself); returns it."""
        now, real = self.clock.now(), time.time()
        seconds = (now - self.seen) - (real - self.seen_real)
        self.seen, self.seen_real = now, real
        if seconds >= MIN_AGE_S:  # below: two readings of the same clock, not a jump
            self._age(seconds)
            self.aged_s += seconds
        return max(seconds, 0.0)

    def _age(self, seconds: float) -> None:
        for key in self.zsets():
            entries: list[tuple[Any, float]] = self.client.zrange(key, 0, -1, withscores=True)  # type: ignore[assignment]
            moved: dict[Any, float] = {
                member: float(score) - seconds
                for member, score in entries
                if score not in self.excluded and abs(float(score)) != float("inf")
            }
            if moved:
                self.client.zadd(key, moved)
        for pattern in self.stamped:  # string keys holding an epoch timestamp
            for key in self.client.scan_iter(match=pattern, count=500):
                value = self.client.get(key)
                if value is not None:
                    self.client.set(key, float(value) - seconds, keepttl=True)
        for prefix in self.prefixes:
            for key in self.client.scan_iter(match=f"{prefix}*", count=500):
                ttl_ms = int(self.client.pttl(key))
                if ttl_ms < 0:
                    continue  # no expiry (or gone since the scan)
                left = ttl_ms - int(seconds * 1000)
                if left <= 0:
                    self.client.delete(key)
                else:
                    self.client.pexpire(key, left)
