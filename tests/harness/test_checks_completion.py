"""duplicate_completion, stale_completion, resurrection on tiny literal histories."""

from __future__ import annotations

from harness.checks import Verdict, check_history
from tests.harness.histories import History, names_events, pairs


def f4_f5_slow_worker_rescued() -> History:
    """F4/F5: the janitor re-queues A's live task, B claims it, both complete."""
    h = History()
    h.submit("t1")  # 0, 1
    h.claim("worker-A", "t1")  # 2, 3
    h.rescue("janitor-1", "t1")  # 4, 5
    h.claim("worker-B", "t1")  # 6, 7
    h.complete("worker-A", "t1")  # 8, 9
    h.complete("worker-B", "t1")  # 10, 11
    return h


def test_f5_late_completion_is_duplicate_and_stale() -> None:
    report = check_history(f4_f5_slow_worker_rescued().frame(), lease_timeout=60, drained=True)
    dup = report.results["duplicate_completion"]
    stale = report.results["stale_completion"]
    assert (dup.verdict, dup.count, pairs(dup)) == (Verdict.FAIL, 1, [("t1", [8, 9, 10, 11])])
    assert (stale.verdict, stale.count, pairs(stale)) == (
        Verdict.FAIL,
        1,
        [("t1", [2, 3, 6, 7, 8, 9])],
    )
    assert names_events(dup)
    assert names_events(stale)
    assert "worker-A" in stale.violations[0].explanation
    assert report.results["resurrection"].verdict == Verdict.PASS
    assert report.verdict == Verdict.FAIL


def test_f6_completion_then_rescue_then_claim_is_resurrection() -> None:
    h = History()
    h.submit("t1")  # 0, 1
    h.claim("worker-A", "t1")  # 2, 3
    h.event("janitor-1", "invoke", "rescue")  # 4: the janitor scans...
    h.complete("worker-A", "t1")  # 5, 6: ...A completes...
    h.event("janitor-1", "ok", "rescue", task_id="t1")  # 7: ...and the janitor re-queues
    h.claim("worker-B", "t1")  # 8, 9
    report = check_history(h.frame(), lease_timeout=60, drained=True)
    res = report.results["resurrection"]
    assert (res.verdict, res.count, pairs(res)) == (Verdict.FAIL, 1, [("t1", [5, 6, 8, 9])])
    assert names_events(res)
    assert report.results["duplicate_completion"].verdict == Verdict.PASS
    assert report.results["double_claim"].verdict == Verdict.PASS  # A had released it


def test_f8_stale_fail_after_completion_is_a_duplicate_finish() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1")  # 2, 3
    h.complete("worker-A", "t1")  # 4, 5
    h.fail("worker-A", "t1", value={"retry": False})  # 6, 7
    report = check_history(h.frame(), lease_timeout=60, drained=True)
    dup = report.results["duplicate_completion"]
    assert (dup.verdict, dup.count, pairs(dup)) == (Verdict.FAIL, 1, [("t1", [4, 5, 6, 7])])
    assert "failure report" in dup.violations[0].explanation


def test_completion_whose_answer_was_lost_then_retried() -> None:
    """info, then a retry that got 409 (fail) or ok: one accepted completion, no finding."""
    for retry in ("fail", "ok"):
        h = History()
        h.submit("t1")
        h.claim("worker-A", "t1")
        h.complete("worker-A", "t1", "info")
        h.complete("worker-A", "t1", retry, status=409 if retry == "fail" else 200)
        report = check_history(h.frame(), lease_timeout=60, drained=True)
        assert report.verdict == Verdict.PASS, report.results
        assert report.counts == dict.fromkeys(report.results, 0)
        assert report.metrics["indeterminate"] == 1


def test_redelivery_after_real_lease_expiry_is_not_a_violation() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1", token="a", expires_at=h.now_s + 0.0015)  # 2, 3
    h.claim("worker-B", "t1", token="b", expires_at=h.now_s + 30)  # 4, 5: after A's lease
    h.complete("worker-A", "t1", "fail", token="a", status=409)  # rejected: definite
    h.complete("worker-B", "t1", token="b")
    report = check_history(h.frame(), drained=True)
    assert report.verdict == Verdict.PASS, report.results
    assert report.metrics["redelivered"] == 1


def test_retry_fail_then_reclaim_and_complete_is_fine() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1")
    h.fail("worker-A", "t1", value={"retry": True})
    h.claim("worker-B", "t1")
    h.complete("worker-B", "t1")
    report = check_history(h.frame(), lease_timeout=60, drained=True)
    assert report.verdict == Verdict.PASS, report.results
