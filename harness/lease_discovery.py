"""Lease discovery: how long to stall when nobody says how long the lease is.

A slow worker outstays its lease to provoke the janitor races. When the claim carries no
``expires_at`` and no ``--lease-timeout`` was given, it cannot know what to outstay, so
the slow workers of one process share a :class:`StallLadder`: stalls double from
``first`` (0.5 s) up to ``cap``, and after each stall the worker looks at its task
(``GET /tasks/{id}``) and reports whether the deployment had taken it away (*outstayed*:
no longer processing for this worker) or not (*honoured*).

Several slow workers stall at once, so the ladder hands each the lowest rung above every
honoured stall that nobody is trying yet: the rungs are climbed in parallel, and a 30 s
lease is found in about 30 s, not in the 60 s a one-at-a-time doubling would take. Once
a rung was outstayed, every later stall uses the shortest outstayed rung: redeliveries
keep coming, and the analyzer bounds the lease from them (harness.checks.lease).

Pure and thread-safe (a lock), so gevent greenlets of one process can share it.
"""

from __future__ import annotations

import threading
from collections import Counter

FIRST_STALL_S = 0.5
CAP_S = 64.0


class StallLadder:
    """Stall lengths doubling from ``first`` to ``cap`` until one outlasts the lease."""

    def __init__(self, *, first: float = FIRST_STALL_S, cap: float = CAP_S) -> None:
        if not 0 < first <= cap:
            raise ValueError("need 0 < first <= cap")
        self.rungs: list[float] = []
        rung = first
        while rung < cap:
            self.rungs.append(rung)
            rung *= 2
        self.rungs.append(cap)
        self._in_flight: Counter[float] = Counter()
        self._honoured = 0.0  # the longest stall after which the task was still ours
        self._outstayed: float | None = None  # the shortest stall that lost the task
        self._lock = threading.Lock()

    @property
    def outstayed(self) -> float | None:
        """The shortest stall known to outlast the lease (None while still climbing)."""
        return self._outstayed

    @property
    def honoured(self) -> float:
        """The longest stall after which the deployment still held the task for us."""
        return self._honoured

    def take(self) -> float:
        """The stall for the next slow worker; pair every ``take`` with one ``report``
        (or ``abandon``)."""
        with self._lock:
            if self._outstayed is not None:
                stall = self._outstayed
            else:
                above = [r for r in self.rungs if r > self._honoured]
                idle = [r for r in above if not self._in_flight[r]]
                stall = idle[0] if idle else (above[-1] if above else self.rungs[-1])
            self._in_flight[stall] += 1
            return stall

    def abandon(self, stall: float) -> None:
        """A stall that ended early (the worker was stopped): it proves nothing."""
        with self._lock:
            self._in_flight[stall] -= 1

    def report(self, stall: float, *, outstayed: bool) -> None:
        """What the stall of ``stall`` seconds found when it woke up."""
        with self._lock:
            self._in_flight[stall] -= 1
            if outstayed:
                if self._outstayed is None or stall < self._outstayed:
                    self._outstayed = stall
            else:
                self._honoured = max(self._honoured, stall)
                if self._outstayed is not None and self._outstayed <= self._honoured:
                    self._outstayed = None  # that rung is not reliably outstayed: climb on
