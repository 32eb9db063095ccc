"""``Producer``: submits the task budget (against the library hosted in process)."""

from __future__ import annotations

from harness.locust.zoo_users import LibraryProducerBase


class Producer(LibraryProducerBase):
    fixed_count = 1
