"""Live "violations so far": the mid-run checks, kept up to date incrementally.

The four mid-run kinds (:data:`MID_RUN_KINDS`) are properties of one task's events
at a time, so each check round re-checks only the tasks whose events changed since the
last round, with the same pure checks as the final analysis, and keeps every other
task's findings. An op is attributed to its task as soon as it is known: an invoke
that names its task at once (complete, fail, ...), a claim's invoke when its ``ok``
returns the task. An op still in flight counts as ``info``, as it would in a history
cut at this moment. Pure: no I/O here (:mod:`harness.progress` tails the shards).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from harness.checks import check_history
from harness.errors import MalformedEventError
from harness.history import frame_from_events
from harness.history_shard import check_event

MID_RUN_KINDS = ("duplicate_completion", "stale_completion", "resurrection", "double_claim")

Event = dict[str, Any]


class LiveChecks:
    """Incremental mid-run checks over events fed in the order each process wrote them."""

    def __init__(self, *, lease_timeout: float | None) -> None:
        self.lease_timeout = lease_timeout
        self.events_seen = 0
        self._open: dict[str, Event] = {}  # each process's invoke awaiting its completion
        self._by_task: dict[str, list[Event]] = defaultdict(list)
        self._dirty: set[str] = set()
        self._found: dict[str, set[str]] = {kind: set() for kind in MID_RUN_KINDS}

    def add(self, events: Iterable[Event]) -> None:
        for event in events:
            self.events_seen += 1
            try:
                check_event(event, "<live>", self.events_seen)
            except MalformedEventError:
                continue  # not an event: the final analysis will say where
            if event["type"] == "invoke":
                self._invoke(event)
            else:
                self._completion(event)

    def _invoke(self, event: Event) -> None:
        self._open[event["process"]] = event
        task = event.get("task_id")
        if isinstance(task, str):
            self._attach(task, event)

    def _completion(self, event: Event) -> None:
        invoke = self._open.pop(event["process"], None)
        task = event.get("task_id")
        if invoke is not None and not isinstance(invoke.get("task_id"), str):
            if not isinstance(task, str):
                return  # e.g. a claim that found nothing pending
            self._attach(task, invoke)
        if invoke is not None and isinstance(invoke.get("task_id"), str):
            task = invoke["task_id"] if not isinstance(task, str) else task
        if isinstance(task, str):
            self._attach(task, event)

    def _attach(self, task: str, event: Event) -> None:
        self._by_task[task].append(event)
        self._dirty.add(task)

    @property
    def touched(self) -> frozenset[str]:
        """The tasks the next :meth:`check` will check again."""
        return frozenset(self._dirty)

    def check(self) -> dict[str, int]:
        """Re-check the tasks touched since the last call; the counts so far, per kind."""
        if self._dirty:
            tasks, self._dirty = self._dirty, set()
            events = [event for task in tasks for event in self._by_task[task]]
            report = check_history(frame_from_events(events), lease_timeout=self.lease_timeout)
            for kind in MID_RUN_KINDS:
                self._found[kind] -= tasks
                self._found[kind].update(v.task_id for v in report.results[kind].violations)
        return {kind: len(tasks) for kind, tasks in self._found.items()}
