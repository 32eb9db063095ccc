"""lost, unexpected, and the acknowledged/recovered metrics on tiny literal histories."""

from __future__ import annotations

from harness.checks import Audit, Verdict, check_history
from tests.harness.histories import History, names_events, pairs


def f1_crash_after_pop() -> History:
    """F1: A's claim popped t1 and A died before completing; nothing else holds t1."""
    h = History()
    h.submit("t1")  # 0, 1
    h.claim("worker-A", "t1")  # 2, 3
    h.event("worker-A", "info", "crash")  # 4
    h.submit("t2")  # 5, 6
    h.claim("worker-B", "t2")
    h.complete("worker-B", "t2")
    return h


def test_f1_is_lost_when_the_run_drained() -> None:
    report = check_history(f1_crash_after_pop().frame(), lease_timeout=60, drained=True)
    lost = report.results["lost"]
    assert (lost.verdict, lost.count, pairs(lost)) == (Verdict.FAIL, 1, [("t1", [0, 1, 2, 3])])
    assert names_events(lost)
    assert report.metrics["acknowledged"] == 2


def test_f1_is_lost_when_the_audit_finds_it_missing() -> None:
    audit = Audit(tasks={"t1": {"status": "missing", "attempts": 1}, "t2": {"status": "completed"}})
    report = check_history(f1_crash_after_pop().frame(), lease_timeout=60, audit=audit)
    assert pairs(report.results["lost"]) == [("t1", [0, 1, 2, 3])]
    assert report.results["audit_mismatch"].verdict == Verdict.PASS


def test_f1_still_pending_in_the_audit_is_not_lost() -> None:
    audit = Audit(tasks={"t1": {"status": "pending"}, "t2": {"status": "completed"}})
    report = check_history(f1_crash_after_pop().frame(), lease_timeout=60, audit=audit)
    assert report.results["lost"].verdict == Verdict.PASS


def test_without_an_end_state_lost_is_unknown() -> None:
    report = check_history(f1_crash_after_pop().frame(), lease_timeout=60)
    lost = report.results["lost"]
    assert (lost.verdict, lost.violations) == (Verdict.UNKNOWN, [])
    assert report.verdict == Verdict.UNKNOWN


def test_info_submit_later_claimed_is_recovered_not_unexpected() -> None:
    h = History()
    h.submit("t1", "info")
    h.claim("worker-A", "t1")
    h.complete("worker-A", "t1")
    report = check_history(h.frame(), lease_timeout=60, drained=True)
    assert report.verdict == Verdict.PASS, report.results
    assert (report.metrics["recovered"], report.metrics["acknowledged"]) == (1, 0)


def test_an_anonymous_info_submit_excuses_one_unknown_task() -> None:
    h = History()
    h.submit(None, "info")  # no client-chosen id, answer lost
    h.claim("worker-A", "t9")  # 2, 3
    h.claim("worker-A", "t8")  # 4, 5: one too many
    report = check_history(h.frame(), lease_timeout=60)
    unexpected = report.results["unexpected"]
    assert (unexpected.verdict, pairs(unexpected)) == (Verdict.FAIL, [("t8", [4, 5])])
    assert report.metrics["recovered"] == 1


def test_claim_of_a_never_submitted_or_rejected_task_is_unexpected() -> None:
    h = History()
    h.submit("t1", "fail", status=422)  # 0, 1: definitely not submitted
    h.claim("worker-A", "t1")  # 2, 3
    h.complete("worker-A", "t1")  # 4, 5
    report = check_history(h.frame(), lease_timeout=60, drained=True)
    unexpected = report.results["unexpected"]
    assert (unexpected.verdict, unexpected.count, pairs(unexpected)) == (
        Verdict.FAIL,
        1,
        [("t1", [2, 3])],
    )
    assert names_events(unexpected)


def test_an_info_submit_never_seen_is_not_lost() -> None:
    h = History()
    h.submit("t1", "info")
    report = check_history(h.frame(), lease_timeout=60, drained=True)
    assert report.results["lost"].verdict == Verdict.PASS
    assert report.metrics["indeterminate"] == 1


def test_an_info_completion_excuses_lost() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1")
    h.complete("worker-A", "t1", "info")
    report = check_history(h.frame(), lease_timeout=60, drained=True)
    assert report.verdict == Verdict.PASS, report.results
