"""``ZooProducer``: submits the task budget (against the library hosted in process)."""

from __future__ import annotations

from harness.locust.library import library_requested
from harness.locust.zoo_users import LibraryProducerBase


class ZooProducer(LibraryProducerBase):
    abstract = not library_requested()  # inert under `locust -f scenarios`
    fixed_count = 1
