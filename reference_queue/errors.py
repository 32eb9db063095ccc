"""Exceptions of the reference queue package.

QueueError
 ├── FaultAbort        an injected fault killed the operation at a named point
 ├── FaultSpecError    a --faults spec could not be parsed
 └── UnknownImplError  --impl names no queue
"""

from __future__ import annotations


class QueueError(Exception):
    """Root of the reference queue's own errors (Redis errors pass through unchanged)."""


class FaultAbort(QueueError):
    """Raised at a fault point configured to ``abort``: the handler 'dies' there."""

    def __init__(self, point: str) -> None:
        super().__init__(f"injected abort at fault point {point!r}")
        self.point = point


class FaultSpecError(QueueError, ValueError):
    """A fault spec string is malformed; the message says which part and why."""


class UnknownImplError(QueueError, ValueError):
    """No queue implementation by that name."""
