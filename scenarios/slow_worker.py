"""``SlowWorker``: a worker that, with --slow-probability, stalls without heartbeats
past its lease (as a paused process would) and then completes anyway — the janitor
races of the note. The lease end comes from the claim's ``expires_at`` when the
deployment gives one, else from --lease-timeout."""

from __future__ import annotations

from harness.locust.actors import SlowWorkerBase


class SlowWorker(SlowWorkerBase):
    weight = 6
