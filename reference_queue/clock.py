"""Injectable time, from the harness's plug-in contract (:mod:`harness.contract`).
Production uses the wall clock; the explorer a manual clock so leases expire on demand."""

from __future__ import annotations

from harness.contract import Clock, ManualClock, WallClock

__all__ = ["Clock", "ManualClock", "WallClock"]
