"""A tiny builder of literal histories for checker tests: one event per call, 1 ms apart
(plus any ``wait``).

Event indices in the frame equal the order of the calls (times strictly increase),
so tests can name the events that prove a violation by position.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.history import frame_from_events

T0 = 1_700_000_000_000_000_000


class History:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.waited_ns = 0

    @property
    def now_ns(self) -> int:
        """The time the next event will carry."""
        return T0 + len(self.events) * 1_000_000 + self.waited_ns

    @property
    def now_s(self) -> float:
        return self.now_ns / 1e9

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass before the next event (on top of its 1 ms step)."""
        self.waited_ns += round(seconds * 1e9)

    def time_s(self, index: int) -> float:
        """The time of the event at ``index``, in seconds."""
        return float(self.events[index]["time_ns"]) / 1e9

    def event(self, process: str, type_: str, f: str, **fields: Any) -> int:
        event = {
            "process": process,
            "type": type_,
            "f": f,
            "time_ns": self.now_ns,
        }
        event.update({k: v for k, v in fields.items() if v is not None})
        self.events.append(event)
        return len(self.events) - 1

    def op(self, process: str, f: str, result: str = "ok", **fields: Any) -> tuple[int, int]:
        """An invoke and its completion, back to back; task_id on both (claims: on ok)."""
        invoke_fields = {
            k: v for k, v in fields.items() if k in ("task_id", "worker_id", "token", "value")
        }
        if f == "claim":
            invoke_fields.pop("task_id", None)
        done_fields = dict(fields)
        if f == "claim" and result != "ok":
            done_fields.pop("task_id", None)
        return self.event(process, "invoke", f, **invoke_fields), self.event(
            process, result, f, **done_fields
        )

    def submit(
        self, task: str | None, result: str = "ok", process: str = "producer-1", **fields: Any
    ) -> tuple[int, int]:
        return self.op(process, "submit", result, task_id=task, **fields)

    def claim(
        self, worker: str, task: str | None, result: str = "ok", **fields: Any
    ) -> tuple[int, int]:
        return self.op(worker, "claim", result, task_id=task, **fields)

    def complete(
        self, worker: str, task: str, result: str = "ok", **fields: Any
    ) -> tuple[int, int]:
        return self.op(worker, "complete", result, task_id=task, **fields)

    def fail(self, worker: str, task: str, result: str = "ok", **fields: Any) -> tuple[int, int]:
        return self.op(worker, "fail", result, task_id=task, **fields)

    def heartbeat(self, worker: str, result: str = "ok") -> tuple[int, int]:
        return self.op(worker, "heartbeat", result)

    def rescue(self, janitor: str, task: str) -> tuple[int, int]:
        return self.op(janitor, "rescue", "ok", task_id=task)

    def frame(self) -> pd.DataFrame:
        return frame_from_events(self.events)


def pairs(result: Any) -> list[tuple[str, list[int]]]:
    """(task_id, events) of each violation, the part of a result tests pin exactly."""
    return [(v.task_id, v.events) for v in result.violations]


def names_events(result: Any) -> bool:
    """Every explanation names every event it cites."""
    return all(all(str(e) in v.explanation for e in v.events) for v in result.violations)
