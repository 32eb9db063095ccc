"""The API's circuit breaker for Redis: fail fast while Redis is known to be down.

One :class:`CircuitBreaker` per API process (state is not shared between processes:
each learns about an outage from its own requests, which costs at most ``threshold``
slow answers per process). States:

- ``closed``: every request talks to Redis; ``threshold`` consecutive connection or
  timeout errors open the breaker (``threshold=0`` turns the breaker off).
- ``open``: requests are refused at once with 503 (no connection attempt, so no
  socket timeouts pile up) until ``cooldown`` seconds have passed.
- ``half_open``: the first request after the cool-down goes to Redis as the probe
  (the others are still refused); its success closes the breaker, its failure
  re-opens it for another cool-down.

Only ``redis.ConnectionError`` / ``redis.TimeoutError`` count as failures: any other
outcome (an answer, a 404, a Lua error) proves Redis is reachable. ``/healthz`` pings
through :meth:`CircuitBreaker.probe`, which always asks Redis and so can close it early.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from enum import StrEnum

import redis

# A "Redis is unreachable" error; answers of any kind (including errors) are successes.
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


# The /metrics gauge's value of each state (documented in docs/deployment-options.md).
STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.OPEN: 1, BreakerState.HALF_OPEN: 2}


class BreakerOpen(Exception):
    """Raised instead of talking to Redis while the breaker is open."""


class CircuitBreaker:
    """Thread-safe (the safe API runs handlers on a thread pool)."""

    def __init__(
        self,
        *,
        threshold: int,
        cooldown: float,
        on_change: Callable[[BreakerState], None] = lambda state: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False  # a half-open probe is in flight

    @property
    def state(self) -> BreakerState:
        with self._lock:
            if self._state is BreakerState.OPEN and self._cooled_down():
                return BreakerState.HALF_OPEN  # the next request will be the probe
            return self._state

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        """Guard one request's Redis work: raises :class:`BreakerOpen` instead of trying."""
        if self.threshold <= 0:
            yield
            return
        self._admit()
        with self._recording():
            yield

    @contextlib.contextmanager
    def probe(self) -> Iterator[None]:
        """Guard a health check: always tries Redis, and records what it learnt."""
        if self.threshold <= 0:
            yield
            return
        with self._recording():
            yield

    @contextlib.contextmanager
    def _recording(self) -> Iterator[None]:
        try:
            yield
        except UNREACHABLE:
            self._failed()
            raise
        except BaseException:
            self._succeeded()  # Redis answered (or was never asked): not an outage
            raise
        self._succeeded()

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self.cooldown

    def _admit(self) -> None:
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return
            if self._state is BreakerState.OPEN and self._cooled_down() and not self._probing:
                self._set(BreakerState.HALF_OPEN)
                self._probing = True
                return
            raise BreakerOpen(f"circuit breaker {self._state}: Redis failed recently")

    def _failed(self) -> None:
        with self._lock:
            self._failures += 1
            self._probing = False
            if self._state is not BreakerState.CLOSED or self._failures >= self.threshold:
                self._opened_at = self._clock()
                self._set(BreakerState.OPEN)

    def _succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._probing = False
            self._set(BreakerState.CLOSED)

    def _set(self, state: BreakerState) -> None:
        if state is not self._state:
            self._state = state
            self._on_change(state)
