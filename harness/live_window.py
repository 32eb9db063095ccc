"""Live checks in flat memory: the mid-run checks over a sliding window of the history.

(:mod:`harness.live` keeps every task's events and re-checks the tasks new events touch:
exact for a bounded run, but its memory grows with the run. A soak needs this instead.)

A soak runs for as long as it is told, so the live view cannot keep the whole history:
:class:`LiveWindow` keeps the events of the last ``window_s`` seconds (at least a few
leases long, so a late completion still meets the claim it races), runs the pure checks
over that window every so often, and reports each violation (kind, task) once. Memory
is bounded by the event rate times the window, never by the run's length. The final
analysis of the whole history stays the authority; the live view only says early what
it will find (a window that starts mid-op can only hide evidence, never invent it: the
mid-run kinds are proven by events present, not by absent ones).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.checks import check_history
from harness.checks.ops import build_views
from harness.checks.windows import Window, windows_hit
from harness.history import frame_from_events

logger = logging.getLogger(__name__)

LIVE_KINDS = ("duplicate_completion", "stale_completion", "resurrection", "double_claim")
MIN_WINDOW_S = 60.0
SETTLE_S = 2.0  # ops younger than this may still miss events from another shard


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveFinding:
    """One violation seen mid-run (the first time its kind and task were seen)."""

    kind: str
    task_id: str
    explanation: str


class LiveWindow:
    """Mid-run checks over the last ``window_s`` seconds of events, in bounded memory."""

    def __init__(self, *, lease_timeout: float | None, window_s: float | None = None) -> None:
        lease = lease_timeout or 0.0
        self.window_s = window_s if window_s is not None else max(MIN_WINDOW_S, 3 * lease)
        self.lease_timeout = lease_timeout
        self.events: deque[dict[str, Any]] = deque()
        self.counts: dict[str, int] = dict.fromkeys(LIVE_KINDS, 0)
        self.windows: dict[str, int] = dict.fromkeys(Window, 0)
        self.analyzed = 0  # events fed in total (each is checked in at least one window)
        self._seen: dict[tuple[str, str], int] = {}  # (kind, task) -> time_ns first seen
        self._counted_until = 0  # windows are counted for ops invoked up to here

    def feed(self, events: Iterable[dict[str, Any]]) -> None:
        """Add newly recorded events (any order across shards) and drop expired ones."""
        fresh = sorted(events, key=lambda e: int(e.get("time_ns", 0)))
        self.analyzed += len(fresh)
        if fresh and self.events and fresh[0]["time_ns"] < self.events[-1]["time_ns"]:
            merged = sorted([*self.events, *fresh], key=lambda e: int(e["time_ns"]))
            self.events = deque(merged)
        else:
            self.events.extend(fresh)
        self._evict()

    def check(self) -> list[LiveFinding]:
        """Run the checks over the window; the violations not reported before."""
        events = _whole_ops(self.events)
        if not events:
            return []
        frame = frame_from_events(events)
        report = check_history(frame, lease_timeout=self.lease_timeout)
        newest = int(events[-1]["time_ns"])
        found = [
            LiveFinding(kind=v.kind, task_id=v.task_id, explanation=v.explanation)
            for kind in LIVE_KINDS
            for v in report.results[kind].violations
            if self._first_time(kind, v.task_id, newest)
        ]
        self._count_windows(frame, newest)
        return found

    def _first_time(self, kind: str, task_id: str, now_ns: int) -> bool:
        if (kind, task_id) in self._seen:
            return False
        self._seen[(kind, task_id)] = now_ns
        self.counts[kind] += 1
        return True

    def _count_windows(self, frame: pd.DataFrame, newest: int) -> None:
        """Windows hit by ops invoked since the last count and settled by now."""
        until = newest - int(SETTLE_S * 1e9)
        if until <= self._counted_until:
            return
        since = self._counted_until
        hit = windows_hit(build_views(frame), self.lease_timeout, invoked=(since, until))
        for window, count in hit.items():
            self.windows[window] += count
        self._counted_until = until

    def _evict(self) -> None:
        if not self.events:
            return
        cutoff = int(self.events[-1]["time_ns"]) - int(self.window_s * 1e9)
        while self.events and int(self.events[0]["time_ns"]) < cutoff:
            self.events.popleft()
        keep_seen = cutoff - int(self.window_s * 1e9)
        for key in [k for k, t in self._seen.items() if t < keep_seen]:
            del self._seen[key]


def _whole_ops(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events minus completions whose invoke fell out of the window."""
    open_ops: set[str] = set()
    out: list[dict[str, Any]] = []
    for event in events:
        process = str(event.get("process"))
        if event.get("type") == "invoke":
            open_ops.add(process)
        elif process in open_ops:
            open_ops.discard(process)
        elif event.get("f") != "crash":
            continue  # its invoke is gone: half an op would read as a lone completion
        out.append(event)
    return out
