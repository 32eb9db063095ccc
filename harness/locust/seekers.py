"""Window-seeking workers: users that aim at the windows where the catalogue's races live.

A random workload lands a stale completion inside a race window only by luck: the window
of a deployment that fences by status alone is open just while the new holder works on
the task (tens of milliseconds). These workers watch the deployment instead
(``GET /tasks/{id}``, not recorded: an observation, not an op) and act at the moment the
window is open:

==================== ========================================================= =====
user                 does                                                      race
==================== ========================================================= =====
StaleCompleter       stalls past its lease without heartbeats, watches its task F5
                     until another worker holds it, then completes with its
                     stale token while that worker is still working
LateFailer           the same, but waits until the other worker's completion   F8
                     was accepted, then reports a failure (with retry)
BoundaryRacer        completes at its lease's deadline, give or take 50 ms     F4/F5
LateHeartbeater      completes, then heartbeats as if it still held the task   F11
RepeatCompleter      completes, then sends the same completion again, as a     F5
                     client that lost the first answer would
==================== ========================================================= =====

What each really managed is counted from the history by the analyzer ("windows hit",
:mod:`harness.checks.windows`), so a pass says what was tried. Without a lease in the
claim or ``--lease-timeout``, the watchers need none (they watch), and the boundary
racer uses the lease discovered by the slow workers (:mod:`harness.lease_discovery`),
else works like a plain worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent

from harness.locust.actors import WorkerBase
from harness.locust.client import Lease

WATCH_EVERY_S = 0.01  # how often a watcher looks at its task once the window may open
COARSE_EVERY_S = 0.25  # ... and before then, when it does not know the lease's end
WATCH_CAP_S = 90.0  # a watcher gives up (and completes anyway) after this long
BOUNDARY_SPREAD_S = 0.05  # a boundary racer completes within this of the deadline


class SeekerBase(WorkerBase):
    """A worker that watches its task to act inside a window (see the module docstring)."""

    abstract = True
    actor = "seeker"

    def lease_end(self, lease: Lease, claimed_at: float) -> float | None:
        """When the lease ends (epoch s): the claim's, --lease-timeout's, or discovered."""
        if lease.expires_at is not None:
            return lease.expires_at
        known = self.settings.lease_timeout or self.ctx.ladder.outstayed
        return claimed_at + known if known is not None else None

    def view(self, task_id: str) -> dict[str, Any] | None:
        answer = self.api.status(task_id)
        return answer.body if answer.status == 200 and isinstance(answer.body, dict) else None

    def watch(
        self, lease: Lease, claimed_at: float, until: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """Look at the task until ``until(view)`` holds; None after WATCH_CAP_S."""
        end = self.lease_end(lease, claimed_at)
        if end is not None:
            gevent.sleep(max(0.0, end - time.time() - 0.05))
        give_up = time.monotonic() + WATCH_CAP_S
        while time.monotonic() < give_up:
            view = self.view(lease.task_id)
            if view is not None and until(view):
                return view
            near = end is not None and time.time() >= end - 0.05
            gevent.sleep(WATCH_EVERY_S if near or end is None else COARSE_EVERY_S)
        return None

    def taken_over(self, view: dict[str, Any]) -> bool:
        """Another worker holds the task now (or it is over: too late for this window)."""
        held = view.get("status") == "processing" and view.get("worker_id") != self.worker_id
        return held or view.get("status") in ("completed", "failed")

    def complete(self, lease: Lease) -> None:
        self.api.complete(self.process, self.worker_id, lease, {"by": self.worker_id})


class StaleCompleterBase(SeekerBase):
    abstract = True
    actor = "stale-completer"

    def handle(self, lease: Lease) -> None:
        self.watch(lease, time.time(), self.taken_over)
        self.complete(lease)  # stale while held, if the watch saw the takeover in time


class LateFailerBase(SeekerBase):
    abstract = True
    actor = "late-failer"

    def handle(self, lease: Lease) -> None:
        claimed_at = time.time()
        taken = self.watch(lease, claimed_at, self.taken_over)
        if taken is not None and taken.get("status") == "processing":
            self.watch(lease, claimed_at, lambda v: v.get("status") != "processing")
        self.api.fail(self.process, self.worker_id, lease, "late failure report", True)


class BoundaryRacerBase(SeekerBase):
    abstract = True
    actor = "boundary-racer"

    def handle(self, lease: Lease) -> None:
        end = self.lease_end(lease, time.time())
        if end is None:
            super().handle(lease)  # nothing to race yet: a plain worker
            return
        aim = end + self.rng.uniform(-BOUNDARY_SPREAD_S, BOUNDARY_SPREAD_S)
        gevent.sleep(max(0.0, aim - time.time()))
        self.complete(lease)


class LateHeartbeaterBase(SeekerBase):
    abstract = True
    actor = "late-heartbeater"

    def handle(self, lease: Lease) -> None:
        gevent.sleep(self.settings.task_duration.sample(self.rng))
        self.complete(lease)
        self.api.heartbeat(self.process, self.worker_id)  # holding nothing now (F11)


class RepeatCompleterBase(SeekerBase):
    abstract = True
    actor = "repeat-completer"

    def handle(self, lease: Lease) -> None:
        gevent.sleep(self.settings.task_duration.sample(self.rng))
        self.complete(lease)
        self.complete(lease)  # as if the first answer had been lost on the way back
