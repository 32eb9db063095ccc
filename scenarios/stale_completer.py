"""``StaleCompleter``: stalls past its lease without heartbeats, watches its task
(``GET /tasks/{id}``) until another worker holds it, then completes with its stale token
while that worker is still working — the window of F5 (a stale completion accepted)."""

from __future__ import annotations

from harness.locust.seekers import StaleCompleterBase


class StaleCompleter(StaleCompleterBase):
    weight = 2
