"""The queue's state in one short line, for the race report's "Queue state" column.

Built from :class:`~harness.contract.TaskView` values (where each task really is),
so it reads the same for every queue implementation. Pure: no redis.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.contract import TaskStatus, TaskView


def describe_state(views: Mapping[str, TaskView | None]) -> str:
    """E.g. ``pending [t1 t0 t0] · processing {t2} · completed {t3} · nowhere {t4}``."""
    pending = [t for t, v in views.items() if v is not None for _ in range(v.pending_copies)]
    parts = [f"pending [{' '.join(pending)}]"] if pending else ["pending []"]
    for status in (TaskStatus.PROCESSING, TaskStatus.COMPLETED, TaskStatus.FAILED):
        ids = [t for t, v in views.items() if v is not None and _shows_as(v, status)]
        if ids:
            parts.append(f"{status} {{{' '.join(ids)}}}")
    missing = [t for t, v in views.items() if v is not None and v.status is TaskStatus.MISSING]
    if missing:
        parts.append(f"nowhere {{{' '.join(missing)}}}")
    return " · ".join(parts)


def _shows_as(view: TaskView, status: TaskStatus) -> bool:
    if status is TaskStatus.PROCESSING:
        return view.in_processing
    # A completed task that was pushed back to pending shows in both places: the point.
    return view.record_status == status and not view.in_processing
