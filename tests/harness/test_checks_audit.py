"""audit_mismatch, stuck, verdict aggregation and a crashing check."""

from __future__ import annotations

import pytest

from harness.checks import Audit, Verdict, check_history, completion
from tests.harness.histories import History, pairs


def completed_history() -> History:
    h = History()
    h.submit("t1")  # 0, 1
    h.claim("worker-A", "t1")  # 2, 3
    h.complete("worker-A", "t1")  # 4, 5
    h.submit("t2")  # 6, 7
    return h


def test_a_consistent_audit_passes() -> None:
    audit = Audit(tasks={"t1": {"status": "completed"}, "t2": {"status": "pending"}})
    report = check_history(completed_history().frame(), audit=audit, lease_timeout=60)
    assert report.verdict == Verdict.PASS, report.results
    assert report.results["audit_mismatch"].exercised


@pytest.mark.parametrize(
    ("entry", "task", "phrase"),
    [
        ({"status": "pending"}, "t1", "although a completion of it was accepted"),
        ({"status": "completed"}, "t2", "no completion of it was ever attempted"),
        ({"status": "unknown_to_server"}, "t2", "does not know it"),
        ({"status": "pending", "pending_copies": 2}, "t2", "two places at once"),
        ({"status": "processing", "pending_copies": 1, "in_processing": True}, "t2", "two places"),
    ],
)
def test_audit_contradicting_the_history(entry: dict[str, object], task: str, phrase: str) -> None:
    tasks: dict[str, dict[str, object]] = {
        "t1": {"status": "completed"},
        "t2": {"status": "pending"},
    }
    tasks[task] = entry
    report = check_history(completed_history().frame(), audit=Audit(tasks=tasks), lease_timeout=60)
    mismatch = report.results["audit_mismatch"]
    expected_events = [0, 1, 2, 3, 4, 5] if task == "t1" else [6, 7]
    assert (mismatch.verdict, mismatch.count, pairs(mismatch)) == (
        Verdict.FAIL,
        1,
        [(task, expected_events)],
    )
    assert phrase in mismatch.violations[0].explanation


def test_without_an_audit_the_audit_checks_are_not_exercised() -> None:
    report = check_history(completed_history().frame(), lease_timeout=60, drained=True)
    for kind in ("audit_mismatch", "stuck"):
        result = report.results[kind]
        assert (result.verdict, result.exercised) == (Verdict.PASS, False)


def test_processing_past_its_lease_at_the_end_of_a_drained_run_is_stuck() -> None:
    h = History()
    h.submit("t1")  # 0, 1
    h.claim("worker-A", "t1", expires_at=h.now_s + 1)  # 2, 3
    end = h.now_s + 10
    audit = Audit(tasks={"t1": {"status": "processing"}}, taken_at=end)
    report = check_history(h.frame(), audit=audit, drained=True)
    stuck = report.results["stuck"]
    assert (stuck.verdict, stuck.count, pairs(stuck)) == (Verdict.FAIL, 1, [("t1", [2, 3])])
    fresh = Audit(tasks={"t1": {"status": "processing"}}, taken_at=h.now_s)
    assert check_history(h.frame(), audit=fresh, drained=True).results["stuck"].verdict == "pass"


def test_a_crashing_check_is_unknown_and_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(views: object) -> object:
        raise ZeroDivisionError("checker bug")

    monkeypatch.setattr(completion, "duplicate_completions", broken)
    report = check_history(completed_history().frame(), lease_timeout=60, drained=True)
    dup = report.results["duplicate_completion"]
    assert (dup.verdict, dup.count) == (Verdict.UNKNOWN, 0)
    assert "ZeroDivisionError: checker bug" in dup.note
    assert report.results["lost"].verdict == Verdict.FAIL  # t2 never ran: still found
    assert report.verdict == Verdict.FAIL  # a proven violation outranks an unknown
    audit = Audit(tasks={"t1": {"status": "completed"}, "t2": {"status": "pending"}})
    undecided = check_history(completed_history().frame(), lease_timeout=60, audit=audit)
    assert undecided.verdict == Verdict.UNKNOWN
