"""The queue's state in one short line, for the race report's "Queue state" column.

Built from :class:`~harness.contract.TaskView` values (where each task really is),
so it reads the same for every queue implementation: a task's place is its harness
:class:`~harness.contract.TaskStatus`, and what its record says is read through the
queue's declared ``status_map`` (its own spelling, e.g. rq's ``finished``), falling back
to the harness's spelling. Where a queue reports its raw state
(:attr:`TaskView.raw_state`) it is shown beside the id: ``processing {t0[started]}``.
Pure: no redis.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.contract import TaskStatus, TaskView


def describe_state(
    views: Mapping[str, TaskView | None], status_map: Mapping[str, TaskStatus] | None = None
) -> str:
    """E.g. ``pending [t1 t0 t0] · processing {t2} · completed {t3} · nowhere {t4}``."""
    known = {t: v for t, v in views.items() if v is not None}
    spelled = status_map or {}
    pending = [t for t, v in known.items() for _ in range(v.pending_copies)]
    parts = [f"pending [{' '.join(pending)}]"]
    for status in (TaskStatus.PROCESSING, TaskStatus.COMPLETED, TaskStatus.FAILED):
        ids = [_label(t, v) for t, v in known.items() if _shows_as(v, status, spelled)]
        if ids:
            parts.append(f"{status} {{{' '.join(ids)}}}")
    missing = [_label(t, v) for t, v in known.items() if v.status is TaskStatus.MISSING]
    if missing:
        parts.append(f"nowhere {{{' '.join(missing)}}}")
    return " · ".join(parts)


def recorded_status(view: TaskView, status_map: Mapping[str, TaskStatus]) -> TaskStatus | None:
    """What the task's own record says, as a harness status (``None``: unrecognised)."""
    mapped = status_map.get(view.record_status)
    if mapped is not None:
        return TaskStatus(mapped)
    try:
        return TaskStatus(view.record_status)
    except ValueError:
        return None


def _shows_as(view: TaskView, status: TaskStatus, status_map: Mapping[str, TaskStatus]) -> bool:
    if status is TaskStatus.PROCESSING:
        return view.in_processing
    if view.in_processing:
        return False
    # A completed task that was pushed back to pending shows in both places: the point.
    return view.status is status or (
        view.status is TaskStatus.PENDING and recorded_status(view, status_map) is status
    )


def _label(task_id: str, view: TaskView) -> str:
    raw = view.raw_state
    return f"{task_id}[{raw}]" if raw and raw != str(view.status) else task_id
