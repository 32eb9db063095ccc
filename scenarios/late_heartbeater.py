"""``LateHeartbeater``: completes its task, then heartbeats as if it still held it — the
window of F11 (a heartbeat after completion that re-inserts the finished task)."""

from __future__ import annotations

from harness.locust.seekers import LateHeartbeaterBase


class LateHeartbeater(LateHeartbeaterBase):
    weight = 1
