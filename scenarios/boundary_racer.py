"""``BoundaryRacer``: completes at its lease's deadline, give or take 50 ms — a completion
racing the janitor at the lease boundary. The deadline is the claim's ``expires_at``, else
--lease-timeout, else the lease the slow workers discovered; with none, a plain worker."""

from __future__ import annotations

from harness.locust.seekers import BoundaryRacerBase


class BoundaryRacer(BoundaryRacerBase):
    weight = 1
