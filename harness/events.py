"""History events (contract: DESIGN.md section 4), Jepsen's model in Python.

One op by one ``process`` is an ``invoke`` followed by exactly one of ``ok`` (took
effect), ``fail`` (definitely did not) or ``info`` (unknown). Pure: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NewType

TaskId = NewType("TaskId", str)
WorkerId = NewType("WorkerId", str)
ProcessId = NewType("ProcessId", str)


class EventType(StrEnum):
    INVOKE = "invoke"  # the process is about to call the queue
    OK = "ok"  # the call took effect
    FAIL = "fail"  # the call definitely did not take effect
    INFO = "info"  # unknown: timeout, 5xx, reset, crash


class Op(StrEnum):
    SUBMIT = "submit"
    CLAIM = "claim"
    COMPLETE = "complete"
    FAIL = "fail"
    HEARTBEAT = "heartbeat"
    RESCUE = "rescue"  # a janitor the harness runs itself re-queued task_id
    CRASH = "crash"  # a single info event: the actor died (optional)
    NEMESIS = "nemesis"  # a fault window edge: value = {"fault", "phase": start|stop, ...}


COMPLETION_TYPES = frozenset({EventType.OK, EventType.FAIL, EventType.INFO})

# The order of keys in a JSON line; also the history frame's columns (plus `index`).
FIELDS: tuple[str, ...] = (
    "process",
    "type",
    "f",
    "time_ns",
    "task_id",
    "token",
    "worker_id",
    "expires_at",
    "status",
    "error",
    "value",
    "request_id",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One line of a history shard."""

    process: str
    type: EventType
    f: Op
    time_ns: int
    task_id: str | None = None
    token: str | None = None
    worker_id: str | None = None
    expires_at: float | None = None
    status: int | None = None
    error: str | None = None
    value: Any = None
    request_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to a shard: contract fields, ``None`` omitted."""
        out: dict[str, Any] = {
            "process": self.process,
            "type": str(self.type),
            "f": str(self.f),
            "time_ns": self.time_ns,
        }
        for name in FIELDS[4:]:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Inverse of :meth:`to_dict`; raises ``KeyError``/``ValueError`` on bad input."""
        known = {k: data[k] for k in FIELDS if k in data}
        extra = {k: v for k, v in data.items() if k not in FIELDS}
        known["type"] = EventType(known["type"])
        known["f"] = Op(known["f"])
        return cls(**known, extra=extra)
