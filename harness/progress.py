"""Live progress of a run: phase, elapsed time, ops/s and violations so far.

Tails the run folder's history shards (only the bytes added since the last look) and
feeds the new events to :class:`harness.live.LiveChecks`, which every few seconds
re-checks only the tasks those events touched — the same checks as the final
analysis, minus those that need the end state (lost, stuck) — never the whole history.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import orjson

from harness.live import MID_RUN_KINDS, LiveChecks

logger = logging.getLogger(__name__)

__all__ = ["MID_RUN_KINDS", "HistoryTail", "Progress"]


class HistoryTail:
    """Reads complete new lines from every shard of a history folder."""

    def __init__(self, history_dir: Path) -> None:
        self.dir = history_dir
        self._offsets: dict[Path, int] = {}
        self.count = 0

    def poll(self) -> list[dict[str, Any]]:
        """The events written since the last poll, each shard's in its own order."""
        added: list[dict[str, Any]] = []
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
                    added.append(orjson.loads(line))
                except orjson.JSONDecodeError:
                    continue
            self._offsets[path] = start + end
        self.count += len(added)
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
        self.live = LiveChecks(lease_timeout=lease_timeout)
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
            self.live.add(added)
            if time.monotonic() - last_check >= self.check_every:
                last_check = time.monotonic()
                self._check()
            self._print(len(added) / self.every / 2)  # two events (invoke + completion) per op

    def _check(self) -> None:
        try:
            self.violations = self.live.check()
        except Exception:  # progress is best effort; the final analysis is authoritative
            logger.debug("mid-run check failed", exc_info=True)

    def _print(self, ops_per_s: float) -> None:
        elapsed = time.monotonic() - self._began
        found = ", ".join(f"{k}={v}" for k, v in self.violations.items() if v) or "none"
        ops = self.tail.count // 2
        self.out.write(
            f"[{self.phase:>9}] {elapsed:6.1f}s  {ops:>7,} ops  {ops_per_s:7.0f} ops/s  "
            f"violations so far: {found}\n"
        )
        self.out.flush()
