"""The zoo: adapters that put real Redis task-queue libraries on trial.

Each adapter implements the harness's plug-in contract (:mod:`harness.contract`) with
its library's own API: claim, complete, fail, heartbeat, the library's own recovery as
``rescue_expired``, and ``inspect`` mapping the library's state onto the harness's task
statuses. Adapters import from the harness only ``harness.contract``; their libraries
come with the optional extra ``pip install qharness[zoo]``, so a missing library is a
"not available" line in ``harness zoo``, never a crash.

    _aging.py        real-time state aged when the injected clock moves (shared)
    _client.py       the library's own Redis URL / client from the harness's client
    rq_queue.py      rq (sync): BLMOVE dequeue, execution registry, StartedJobRegistry cleanup
    celery_queue.py  Celery with kombu's Redis transport (late ack, restore_visible)
    taskiq_queue.py, saq_queue.py, bullmq_queue.py  the asyncio libraries
"""

from __future__ import annotations

LIBRARIES: dict[str, str] = {
    "rq": "zoo.rq_queue:RqQueue",
    "celery": "zoo.celery_queue:CeleryQueue",
    "taskiq": "zoo.taskiq_queue:TaskiqQueue",
    "saq": "zoo.saq_queue:SaqQueue",
    "bullmq": "zoo.bullmq_queue:BullmqQueue",
}
"""Library name -> ``module:Class`` of its adapter (what ``harness zoo`` loads)."""

__all__ = ["LIBRARIES"]
