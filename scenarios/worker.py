"""``Worker``: claim, work (heartbeating), then complete, or fail with
--fail-probability; dies mid-task with --crash-probability and comes back as a new
process (the note's ``worker.py``, run as a Locust user)."""

from __future__ import annotations

from harness.locust.actors import WorkerBase


class Worker(WorkerBase):
    weight = 20
