"""When a run may stop: the budget is submitted and the deployment has drained.

Pure: the run's conductor feeds observations (the time, whether the budget is spent,
the deployment's ``GET /stats``) and acts on the decision. "Drained" needs several
quiet observations in a row, because a queue can be momentarily empty while a task is
in flight between two of its round trips (the naive claim pops a task before it marks
it processing; the naive janitor removes a task before it pushes it back).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Decision(StrEnum):
    SUBMITTING = "submitting"  # the budget is not spent yet
    DRAINING = "draining"  # spent; waiting for nothing pending or processing
    DRAINED = "drained"  # stop: nothing left anywhere it could be served from
    TIMED_OUT = "drain_timeout"  # stop: waited --drain-timeout and it did not drain


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCounts:
    """The deployment's ``GET /stats`` (contract: DESIGN.md §3)."""

    pending: int
    processing: int
    completed: int = 0
    failed: int = 0

    @property
    def idle(self) -> bool:
        return self.pending == 0 and self.processing == 0

    @classmethod
    def from_json(cls, body: object) -> QueueCounts:
        """Raises ``ValueError`` when ``body`` is not the contract's shape."""
        if not isinstance(body, dict):
            raise ValueError(f"/stats answered {body!r}, not an object")
        try:
            return cls(
                **{k: int(body.get(k, 0)) for k in ("pending", "processing", "completed", "failed")}
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"/stats answered {body!r}: {exc}") from None


class DrainTracker:
    """Turns a stream of observations into a :class:`Decision`."""

    def __init__(self, *, drain_timeout: float, quiet_needed: int = 3) -> None:
        self.drain_timeout = drain_timeout
        self.quiet_needed = quiet_needed
        self.draining_since: float | None = None
        self._quiet = 0

    def observe(self, now: float, *, budget_spent: bool, counts: QueueCounts | None) -> Decision:
        """``counts`` is ``None`` when ``/stats`` could not be read this time."""
        if not budget_spent:
            self._quiet = 0
            return Decision.SUBMITTING
        if self.draining_since is None:
            self.draining_since = now
        self._quiet = self._quiet + 1 if counts is not None and counts.idle else 0
        if self._quiet >= self.quiet_needed:
            return Decision.DRAINED
        if now - self.draining_since >= self.drain_timeout:
            return Decision.TIMED_OUT
        return Decision.DRAINING
