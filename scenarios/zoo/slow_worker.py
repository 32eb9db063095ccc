"""``ZooSlowWorker``: stalls past the library's lease with --slow-probability, then
completes anyway (against the library hosted in process)."""

from __future__ import annotations

from harness.locust.library import library_requested
from harness.locust.zoo_users import LibrarySlowWorkerBase


class ZooSlowWorker(LibrarySlowWorkerBase):
    abstract = not library_requested()  # inert under `locust -f scenarios`
    weight = 5
