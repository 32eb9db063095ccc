"""double_claim and the redelivered metric on tiny literal histories."""

from __future__ import annotations

from harness.checks import Verdict, check_history
from tests.harness.histories import History, names_events, pairs
from tests.harness.test_checks_completion import f4_f5_slow_worker_rescued


def test_f4_rescue_of_a_live_lease_is_a_double_claim() -> None:
    report = check_history(f4_f5_slow_worker_rescued().frame(), lease_timeout=60, drained=True)
    dc = report.results["double_claim"]
    assert (dc.verdict, dc.count, pairs(dc)) == (Verdict.FAIL, 1, [("t1", [2, 3, 6, 7])])
    assert names_events(dc)
    assert report.metrics["redelivered"] == 0


def test_f4_with_a_lease_shorter_than_the_gap_is_a_redelivery() -> None:
    report = check_history(f4_f5_slow_worker_rescued().frame(), lease_timeout=0.001, drained=True)
    assert report.results["double_claim"].verdict == Verdict.PASS
    assert report.metrics["redelivered"] == 1
    assert report.results["stale_completion"].verdict == Verdict.FAIL  # A's late completion


def test_f7_two_janitors_push_twice_and_two_workers_claim() -> None:
    h = History()
    h.submit("t1")  # 0, 1
    h.claim("worker-A", "t1")  # 2, 3
    h.rescue("janitor-1", "t1")  # 4, 5
    h.rescue("janitor-2", "t1")  # 6, 7
    h.claim("worker-B", "t1")  # 8, 9
    h.claim("worker-C", "t1")  # 10, 11
    h.complete("worker-B", "t1")
    h.complete("worker-C", "t1")
    report = check_history(h.frame(), lease_timeout=60, drained=True)
    dc = report.results["double_claim"]
    assert (dc.verdict, dc.count, pairs(dc)) == (Verdict.FAIL, 1, [("t1", [2, 3, 8, 9])])
    assert report.results["duplicate_completion"].count == 1


def test_expires_at_from_the_claim_beats_the_lease_timeout() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1", token="a", expires_at=h.now_s + 60)  # 2, 3
    h.claim("worker-B", "t1", token="b", expires_at=h.now_s + 60)  # 4, 5
    report = check_history(h.frame(), lease_timeout=0.0001)
    assert pairs(report.results["double_claim"]) == [("t1", [2, 3, 4, 5])]


def test_a_finish_between_the_claims_releases_the_first() -> None:
    for outcome in ("ok", "info"):  # an info finish may have released it: excused
        h = History()
        h.submit("t1")
        h.claim("worker-A", "t1")
        h.fail("worker-A", "t1", outcome, value={"retry": True})
        h.claim("worker-B", "t1")
        report = check_history(h.frame(), lease_timeout=60)
        assert report.results["double_claim"].verdict == Verdict.PASS, outcome


def test_a_rejected_finish_does_not_release() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1")  # 2, 3
    h.complete("worker-A", "t1", "fail", status=409)
    h.claim("worker-B", "t1")  # 6, 7
    report = check_history(h.frame(), lease_timeout=60)
    assert pairs(report.results["double_claim"]) == [("t1", [2, 3, 6, 7])]


def test_without_any_lease_given_it_is_inferred_from_the_history() -> None:
    report = check_history(f4_f5_slow_worker_rescued().frame(), drained=True)
    dc = report.results["double_claim"]
    # B's 3 ms honoured hold bounds the lease below; B's claim came 5 ms after A's
    assert (dc.verdict, dc.count) == (Verdict.PASS, 0)
    assert dc.note == "lease inferred: between 0.00 and 0.01 s from 1 redelivery"


def test_without_any_lease_and_nothing_to_infer_the_double_claim_check_is_unknown() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1")
    h.claim("worker-B", "t1")  # no finish anywhere: no hold was ever honoured
    dc = check_history(h.frame()).results["double_claim"]
    assert (dc.verdict, dc.count, dc.violations) == (Verdict.UNKNOWN, 0, [])
    assert "no --lease-timeout" in dc.note
    assert "lease inferred: at most 0.00 s from 1 redelivery" in dc.note


def test_a_claim_that_returned_nothing_claims_nothing() -> None:
    h = History()
    h.claim("worker-A", None)  # ok with task_id null: nothing pending
    h.claim("worker-B", None)
    h.submit("t1")
    h.claim("worker-A", "t1")
    h.complete("worker-A", "t1")
    report = check_history(h.frame(), lease_timeout=60, drained=True)
    assert report.verdict == Verdict.PASS, report.results
    assert report.metrics["ops_claim_ok"] == 3
