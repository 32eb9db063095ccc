"""The run's live view on the master (or local runner): violations as they happen.

Every few seconds it reads the lines added to the run folder's history shards (keeping
none of them: :class:`harness.live_window.LiveWindow` keeps a bounded window), runs the live
checks in a thread of gevent's pool (pandas work must not freeze the web UI or the
master's messaging), and

- fires each violation found, once per kind and task, as a Locust failure named by its
  kind (``request_type="qharness"``): the web UI's Failures tab, ``--csv`` and
  ``--html`` list them beside the HTTP failures;
- keeps :class:`LiveState` up to date for the web UI's qharness tab (``_webui``).

At the end the final analysis is authoritative: :meth:`LiveView.conclude` sets the
verdict and report, and fires the violations the live window had not seen.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gevent
from locust.env import Environment

if TYPE_CHECKING:  # pandas: imported when a run starts, not when Locust loads the users
    from harness.checks import CheckReport
    from harness.live_window import LiveFinding, LiveWindow
    from harness.progress import HistoryTail

logger = logging.getLogger(__name__)

LIVE_EVERY_S = 3.0
MAX_SHARE = 0.2  # the live checks take at most about this share of one core
REQUEST_TYPE = "qharness"


class ViolationFound(Exception):
    """A Locust failure's exception: one violation of the kind named by the failure."""


@dataclass(slots=True)
class LiveState:
    """What the qharness tab shows; updated by the live view, read by the web UI."""

    verdict: str = "running: no violation so far"
    counts: dict[str, int] = field(default_factory=dict)
    windows: dict[str, int] = field(default_factory=dict)
    events: int = 0
    lease: str = ""
    run_dir: Path | None = None
    report: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rows(self) -> list[dict[str, str]]:
        with self.lock:
            rows = [{"item": "verdict", "value": self.verdict}]
            rows += [{"item": f"violations: {k}", "value": str(v)} for k, v in self.counts.items()]
            rows += [
                {"item": f"windows hit: {k}", "value": str(v)} for k, v in self.windows.items()
            ]
            rows.append({"item": "events analyzed", "value": f"{self.events:,}"})
            if self.lease:
                rows.append({"item": "lease", "value": self.lease})
            where = "/qharness/report/" if self.report else "(when the run has ended)"
            rows.append({"item": "report", "value": where})
            if self.run_dir is not None:
                rows.append({"item": "run folder", "value": str(self.run_dir)})
            return rows


class LiveView:
    """The live checks of one run (see the module docstring)."""

    def __init__(self, environment: Environment, state: LiveState) -> None:
        self.environment = environment
        self.state = state
        self.fired: set[tuple[str, str]] = set()
        self._greenlet: gevent.Greenlet | None = None

    def start(self, run_dir: Path, lease_timeout: float | None) -> None:
        with self.state.lock:
            self.state.run_dir, self.state.report = run_dir, None
            self.state.verdict = "running: no violation so far"
        self.fired.clear()
        self._greenlet = gevent.spawn(self._loop, run_dir, lease_timeout)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=True, timeout=5)
            self._greenlet = None

    def _loop(self, run_dir: Path, lease_timeout: float | None) -> None:
        pool = gevent.get_hub().threadpool
        # in a thread: importing pandas takes seconds, and must not stall the users' start
        tail, checks = pool.spawn(_checks_for, run_dir, lease_timeout).get()
        took = 0.0
        while True:
            gevent.sleep(max(LIVE_EVERY_S, took / MAX_SHARE))
            began = time.monotonic()
            try:
                found = pool.spawn(self._step, tail, checks).get()
            except Exception:  # best effort: the final analysis is the authority
                logger.exception("qharness: live check failed")
                continue
            finally:
                took = time.monotonic() - began
            for finding in found:
                self.fire(finding.kind, finding.task_id, finding.explanation)
            self._update(checks)

    @staticmethod
    def _step(tail: HistoryTail, checks: LiveWindow) -> list[LiveFinding]:
        checks.feed(tail.poll())
        return checks.check()

    def _update(self, checks: LiveWindow) -> None:
        with self.state.lock:
            self.state.counts = {k: v for k, v in checks.counts.items() if v}
            self.state.windows = dict(checks.windows)
            self.state.events = checks.analyzed
            found = sum(self.state.counts.values())
            self.state.verdict = (
                f"running: FAIL so far ({found} violations)"
                if found
                else "running: no violation so far"
            )

    def fire(self, kind: str, task_id: str, explanation: str) -> None:
        """One Locust failure named by the violation's kind (once per kind and task)."""
        if (kind, task_id) in self.fired:
            return
        self.fired.add((kind, task_id))
        request: Any = self.environment.events.request  # EventHook.fire is untyped
        request.fire(
            request_type=REQUEST_TYPE,
            name=kind,
            response_time=0,
            response_length=0,
            exception=ViolationFound(explanation),
            context={"task_id": task_id},
        )

    def conclude(self, report: CheckReport | None, verdict: str, page: Path | None) -> None:
        """The final analysis: its verdict and report, and every violation as a failure."""
        self.stop()
        if report is not None:
            for violation in report.violations:
                self.fire(violation.kind, violation.task_id, violation.explanation)
        with self.state.lock:
            self.state.verdict = f"{verdict.upper()} (final)"
            self.state.report = page
            if report is not None:
                self.state.counts = {k: v for k, v in report.counts.items() if v}
                self.state.windows = dict(report.windows)
                self.state.events = int(report.metrics.get("events", 0))
                self.state.lease = _lease_line(report)


def _checks_for(run_dir: Path, lease_timeout: float | None) -> tuple[HistoryTail, LiveWindow]:
    from harness.live_window import LiveWindow
    from harness.progress import HistoryTail

    return HistoryTail(run_dir / "history"), LiveWindow(lease_timeout=lease_timeout)


def _lease_line(report: CheckReport) -> str:
    note = report.results.get("double_claim")
    text = note.note if note is not None else ""
    return next((part for part in text.split("; ") if part.startswith("lease")), "")
