"""Live progress of a run: phase, elapsed time, ops/s and violations so far.

Tails the run folder's history shards (only the bytes added since the last look) and,
every few seconds, runs the pure checks over what has been recorded so far — the same
checks as the final analysis, minus those that need the end state (lost, stuck).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import orjson

from harness.checks import check_history
from harness.history import frame_from_events

logger = logging.getLogger(__name__)

MID_RUN_KINDS = ("duplicate_completion", "stale_completion", "resurrection", "double_claim")
MAX_LIVE_EVENTS = 300_000  # past this, skip the mid-run checks (the final analysis runs anyway)


class HistoryTail:
    """Reads complete new lines from every shard of a history folder."""

    def __init__(self, history_dir: Path) -> None:
        self.dir = history_dir
        self._offsets: dict[Path, int] = {}
        self.events: list[dict[str, Any]] = []

    def take_new(self) -> list[dict[str, Any]]:
        """The events read since the last call, forgotten here (a bounded-memory reader)."""
        self.poll()
        new, self.events = self.events, []
        return new

    def poll(self) -> int:
        added = 0
        for path in sorted(self.dir.glob("*.jsonl")) if self.dir.is_dir() else []:
            start = self._offsets.get(path, 0)
            try:
                with path.open("rb") as fh:
                    fh.seek(start)
                    chunk = fh.read()
            except OSError:
                continue
            end = chunk.rfind(b"\n") + 1  # leave a half-written last line for next time
            for line in chunk[:end].splitlines():
                try:
                    self.events.append(orjson.loads(line))
                    added += 1
                except orjson.JSONDecodeError:
                    continue
            self._offsets[path] = start + end
        return added


class Progress:
    """A thread printing one status line every ``every`` seconds until stopped."""

    def __init__(
        self,
        history_dir: Path,
        *,
        lease_timeout: float | None,
        out: TextIO = sys.stderr,
        every: float = 3.0,
        check_every: float = 6.0,
    ) -> None:
        self.tail = HistoryTail(history_dir)
        self.lease_timeout = lease_timeout
        self.out = out
        self.every = every
        self.check_every = check_every
        self.phase = "starting"
        self.violations: dict[str, int] = {}
        self._began = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def start(self) -> Progress:
        self._thread.start()
        return self

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        self._print(0.0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        last_check = time.monotonic()
        while not self._stop.wait(self.every):
            added = self.tail.poll()
            if time.monotonic() - last_check >= self.check_every:
                last_check = time.monotonic()
                self._check()
            self._print(added / self.every / 2)  # two events (invoke + completion) per op

    def _check(self) -> None:
        events = self.tail.events
        if not events or len(events) > MAX_LIVE_EVENTS:
            return
        try:
            report = check_history(frame_from_events(events), lease_timeout=self.lease_timeout)
        except Exception:  # progress is best effort; the final analysis is authoritative
            logger.debug("mid-run check failed", exc_info=True)
            return
        self.violations = {k: report.results[k].count for k in MID_RUN_KINDS if k in report.results}

    def _print(self, ops_per_s: float) -> None:
        elapsed = time.monotonic() - self._began
        found = ", ".join(f"{k}={v}" for k, v in self.violations.items() if v) or "none"
        ops = len(self.tail.events) // 2
        self.out.write(
            f"[{self.phase:>9}] {elapsed:6.1f}s  {ops:>7,} ops  {ops_per_s:7.0f} ops/s  "
            f"violations so far: {found}\n"
        )
        self.out.flush()
