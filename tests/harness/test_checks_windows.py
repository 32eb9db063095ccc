"""Windows hit, counted from tiny literal histories: each window of the race catalogue,
and an ordinary run that lands in none."""

from __future__ import annotations

from pathlib import Path

from harness.checks import check_history
from harness.report import write_report
from tests.harness.histories import History

NONE_HIT = {
    "stale_while_held": 0,
    "lease_boundary": 0,
    "heartbeat_after_completion": 0,
    "repeated_completion": 0,
    "fail_after_other_completion": 0,
}


def hit(h: History, lease_timeout: float | None = 60.0) -> dict[str, int]:
    return check_history(h.frame(), lease_timeout=lease_timeout).windows


def test_an_ordinary_claim_work_complete_lands_in_no_window() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1")
    h.heartbeat("worker-A")  # while working: not after a completion
    h.complete("worker-A", "t1")
    h.claim("worker-A", None)
    assert hit(h) == NONE_HIT


def test_a_stale_completion_while_the_new_holder_works() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1")
    h.claim("worker-B", "t1")  # A's lease was taken over
    h.complete("worker-A", "t1")  # B still holds it: in the window
    h.complete("worker-B", "t1")
    assert hit(h) == NONE_HIT | {"stale_while_held": 1}


def test_a_stale_completion_after_the_new_holder_finished_is_outside_the_window() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1")
    h.claim("worker-B", "t1")
    h.complete("worker-B", "t1")
    h.fail("worker-A", "t1", "fail", status=409, value={"retry": False})
    assert hit(h) == NONE_HIT | {"fail_after_other_completion": 1}


def test_a_completion_near_its_leases_deadline_races_the_boundary() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1", token="a", expires_at=h.now_s + 0.5)
    h.wait(0.45)
    h.complete("worker-A", "t1", token="a")  # 0.05 s before the deadline
    h.submit("t2")
    h.claim("worker-A", "t2", token="b", expires_at=h.now_s + 5)
    h.complete("worker-A", "t2", token="b")  # far from it
    assert hit(h) == NONE_HIT | {"lease_boundary": 1}


def test_a_heartbeat_after_completion_and_a_repeated_completion() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1")
    h.complete("worker-A", "t1", "info")  # the answer was lost
    h.complete("worker-A", "t1", "fail", status=409)  # the retry
    h.heartbeat("worker-A")
    assert hit(h) == NONE_HIT | {"repeated_completion": 1}
    h.submit("t2")
    h.claim("worker-B", "t2")
    h.complete("worker-B", "t2")
    h.heartbeat("worker-B")  # holding nothing any more
    assert hit(h) == NONE_HIT | {"repeated_completion": 1, "heartbeat_after_completion": 1}


def test_windows_are_in_the_summary_and_the_report(tmp_path: Path) -> None:
    run_dir = tmp_path
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1")
    h.claim("worker-B", "t1")
    h.complete("worker-A", "t1")
    frame = h.frame()
    write_report(run_dir, frame, check_history(frame, lease_timeout=60), run_info={})
    summary = (run_dir / "summary.json").read_text()
    assert '"stale_while_held": 1' in summary
    assert "| stale_while_held | 1 |" in (run_dir / "report.md").read_text()
