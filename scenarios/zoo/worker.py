"""``Worker``: claim, work (heartbeating), complete or fail; crashes with
--crash-probability (against the library hosted in process)."""

from __future__ import annotations

from harness.locust.zoo_users import LibraryWorkerBase


class Worker(LibraryWorkerBase):
    weight = 20
