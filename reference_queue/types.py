"""The queue interface, as the reference queues use it: re-exported from the harness's
plug-in contract (:mod:`harness.contract`), which the reference queues implement like
any third-party queue would."""

from __future__ import annotations

from harness.contract import (
    Claim,
    Outcome,
    QueueStats,
    Steps,
    Submitted,
    TaskId,
    TaskQueue,
    TaskStatus,
    TaskView,
    WorkerId,
    drive,
)

__all__ = [
    "Claim",
    "Outcome",
    "QueueStats",
    "Steps",
    "Submitted",
    "TaskId",
    "TaskQueue",
    "TaskStatus",
    "TaskView",
    "WorkerId",
    "drive",
]
