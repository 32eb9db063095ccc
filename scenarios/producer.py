"""``Producer``: submits the run's --task-budget of tasks with client-chosen ids,
optionally at --producer-rate per user; retries a lost answer with the same id and
now and then resubmits an id on purpose (a no-op by the contract)."""

from __future__ import annotations

from harness.locust.actors import ProducerBase


class Producer(ProducerBase):
    weight = 3
