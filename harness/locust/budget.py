"""The run's task budget: one count for the whole run, however many processes produce.

The master (or the local runner) owns a :class:`BudgetLedger`. Producers draw task ids
from an :class:`IdPool`: in one process the pool takes ids straight from the ledger; on
a Locust worker it asks the master for blocks of ids over Locust's messaging. Ids are
``<run tag>-<n>``, so every id in a run is unique and chosen by the client (the
contract's idempotent submit). A producer *settles* an id once its submit has a final
answer (accepted, rejected, or given up after retries); the budget is spent when every
id is granted and settled.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import gevent
from gevent.event import Event

GRANT_BLOCK = 20  # ids per request to the master: few messages, little left unused


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    tag: str
    start: int
    count: int  # 0: the budget is spent

    def ids(self) -> list[str]:
        return [task_id(self.tag, n) for n in range(self.start, self.start + self.count)]


def task_id(tag: str, n: int) -> str:
    return f"{tag}-{n:06d}"


class BudgetLedger:
    """Hands out the budget's ids in blocks and counts settled submits per process."""

    def __init__(self, budget: int, tag: str) -> None:
        self.budget = budget
        self.tag = tag
        self.granted = 0
        self._settled: dict[str, int] = {}

    def grant(self, want: int) -> Grant:
        count = max(0, min(want, self.budget - self.granted))
        grant = Grant(tag=self.tag, start=self.granted, count=count)
        self.granted += count
        return grant

    def report_settled(self, node: str, total: int) -> None:
        """A process's running total; totals only grow, so late duplicates do no harm."""
        self._settled[node] = max(total, self._settled.get(node, 0))

    @property
    def settled(self) -> int:
        return sum(self._settled.values())

    @property
    def spent(self) -> bool:
        return self.granted >= self.budget and self.settled >= self.budget


class IdPool:
    """A process's supply of task ids; :meth:`take` blocks the calling greenlet only.

    ``request(want)`` asks for more ids; the answer arrives through :meth:`add` (at once
    for a local ledger, later for a message from the master).
    """

    def __init__(
        self,
        request: Callable[[int], None],
        *,
        on_settle: Callable[[int], None] | None = None,
        retry_after: float = 2.0,
    ) -> None:
        self._request = request
        self._on_settle = on_settle
        self._retry_after = retry_after
        self._ids: deque[str] = deque()
        self._arrived = Event()
        self._asking = False
        self.exhausted = False
        self.settled = 0

    def add(self, grant: Grant) -> None:
        self._asking = False
        if grant.count == 0:
            self.exhausted = True
        self._ids.extend(grant.ids())
        self._arrived.set()

    def take(self) -> str | None:
        """The next id, or ``None`` once the run's budget is spent."""
        while not self._ids:
            if self.exhausted:
                return None
            if not self._asking:
                self._asking = True
                self._arrived.clear()
                self._request(GRANT_BLOCK)
            if not self._arrived.wait(self._retry_after) and not self._ids:
                self._asking = False  # the answer was lost (master restarted?): ask again
            gevent.idle()
        return self._ids.popleft()

    def settle(self) -> None:
        self.settled += 1
        if self._on_settle is not None:
            self._on_settle(self.settled)


def local_pool(ledger: BudgetLedger, node: str) -> IdPool:
    """A pool fed directly by the ledger in the same process (local runner)."""
    pool = IdPool(
        lambda want: pool.add(ledger.grant(want)),
        on_settle=lambda total: ledger.report_settled(node, total),
    )
    return pool
