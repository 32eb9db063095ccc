"""The report's queue-state column: harness statuses, the queue's own state names beside
them, and a completed task pushed back to pending shown in both places."""

from __future__ import annotations

from harness.contract import TaskId, TaskStatus, TaskView
from harness.explorer.queue_state import describe_state

RQ_LIKE = {"finished": TaskStatus.COMPLETED, "started": TaskStatus.PROCESSING}


def view(task_id: str, status: TaskStatus, record: str, **fields: object) -> TaskView:
    base: dict[str, object] = {
        "attempts": 1,
        "worker_id": None,
        "pending_copies": 1 if status is TaskStatus.PENDING else 0,
        "in_processing": status is TaskStatus.PROCESSING,
    }
    base.update(fields)
    return TaskView(task_id=TaskId(task_id), status=status, record_status=record, **base)  # type: ignore[arg-type]


def test_reference_spelling_reads_as_before() -> None:
    views = {
        "t0": view("t0", TaskStatus.PENDING, "pending", pending_copies=2),
        "t1": view("t1", TaskStatus.PROCESSING, "processing"),
        "t2": view("t2", TaskStatus.COMPLETED, "completed"),
        "t3": view("t3", TaskStatus.MISSING, "processing"),
        "t4": None,
    }
    assert describe_state(views) == (
        "pending [t0 t0] · processing {t1} · completed {t2} · nowhere {t3}"
    )


def test_a_completed_task_back_in_pending_shows_in_both_places_by_the_declared_map() -> None:
    pushed_back = view("t0", TaskStatus.PENDING, "finished", raw_state="finished")
    assert describe_state({"t0": pushed_back}, RQ_LIKE) == (
        "pending [t0] · completed {t0[finished]}"
    )
    # Without the map "finished" means nothing to the harness: shown only where it is.
    assert describe_state({"t0": pushed_back}) == "pending [t0]"


def test_raw_states_are_shown_beside_the_harness_status_when_they_differ() -> None:
    views = {
        "t0": view("t0", TaskStatus.PROCESSING, "started", raw_state="started"),
        "t1": view("t1", TaskStatus.MISSING, "queued", raw_state="queued"),
        "t2": view("t2", TaskStatus.COMPLETED, "completed", raw_state="completed"),
    }
    assert describe_state(views, RQ_LIKE) == (
        "pending [] · processing {t0[started]} · completed {t2} · nowhere {t1[queued]}"
    )
