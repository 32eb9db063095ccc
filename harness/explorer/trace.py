"""What an exploration leaves behind: the steps it took and the history they make.

:class:`HistoryLog` turns each operation into history events in the contract's shape
(``harness.events``; DESIGN.md section 4): one ``process`` per actor incarnation, an
``invoke`` then one of ``ok`` / ``fail`` / ``info``, a crash leaving its op ``info``
followed by a ``crash`` event. Times come from the injected clock (plus one millisecond
per event, so the order is total) — the same clock the leases use, so the analyzer's
lease arithmetic holds.

:class:`Trace` is the list of steps with what each did and the queue state after it:
the rows of the race report's table. Pure: no redis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.contract import TaskStatus, TaskView
from harness.events import EventType, Op
from harness.explorer.actors import Step
from harness.explorer.oracle import Finding
from harness.explorer.queue_state import describe_state

EVENT_SPACING_NS = 1_000_000  # 1 ms between consecutive events


class Stage(StrEnum):
    SETUP = "setup"  # the initial submits
    SEARCH = "search"  # the steps Hypothesis chose
    DRAIN = "drain"  # the final drain by a healthy worker and janitor


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRecord:
    step: Step
    stage: Stage
    did: str  # what happened, told for the report, e.g. "claim ... after_pop"
    views: Mapping[str, TaskView | None]  # where each task was after the step
    point: str | None = None  # where an operation still in flight stopped
    result: Any = None  # a finished operation's return value (Outcome, Claim, ids...)
    findings: tuple[Finding, ...] = ()
    status_map: Mapping[str, TaskStatus] = field(default_factory=dict)  # the queue's

    @property
    def state(self) -> str:
        """The queue's state after the step, e.g. ``pending [t1] · processing {t0}``
        (rendered on demand: only a counterexample's steps are ever shown)."""
        return describe_state(self.views, self.status_map)


@dataclass(slots=True)
class Trace:
    records: list[StepRecord] = field(default_factory=list)

    def steps(self, *stages: Stage) -> list[Step]:
        wanted = stages or tuple(Stage)
        return [r.step for r in self.records if r.stage in wanted]

    def search_length(self) -> int:
        return sum(1 for r in self.records if r.stage is Stage.SEARCH)

    def findings(self) -> list[Finding]:
        return [f for r in self.records for f in r.findings]


class HistoryLog:
    """History events of one exploration, in memory (dicts in the shard's JSON shape)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, process: str, type_: EventType, f: Op, *, clock_s: float, **fields: Any) -> int:
        """Append an event; returns its index. ``None`` fields are left out."""
        time_ns = round(clock_s * 1e9) + len(self.events) * EVENT_SPACING_NS
        event: dict[str, Any] = {"process": process, "type": str(type_), "f": str(f)}
        event["time_ns"] = max(time_ns, self._last_time() + 1)
        event.update({k: v for k, v in fields.items() if v is not None})
        self.events.append(event)
        return len(self.events) - 1

    def _last_time(self) -> int:
        return int(self.events[-1]["time_ns"]) if self.events else 0
