"""``ZooWorker``: claim, work (heartbeating), complete or fail; crashes with
--crash-probability (against the library hosted in process)."""

from __future__ import annotations

from harness.locust.library import library_requested
from harness.locust.zoo_users import LibraryWorkerBase


class ZooWorker(LibraryWorkerBase):
    abstract = not library_requested()  # inert under `locust -f scenarios`
    weight = 20
