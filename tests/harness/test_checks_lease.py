"""Lease inference on tiny literal histories: bounds from honoured holds and redeliveries,
and the double-claim check judged with the inferred lease."""

from __future__ import annotations

import math

import pytest

from harness.checks import Verdict, check_history
from harness.checks.lease import LeaseInference
from tests.harness.histories import History, pairs


def slow_worker_redelivered() -> History:
    """B holds t2 for 1 s and completes it; A stalls on t1, which C claims after 2 s."""
    h = History()
    h.submit("t1")  # 0, 1
    h.submit("t2")  # 2, 3
    h.claim("worker-A", "t1")  # 4, 5
    h.claim("worker-B", "t2")  # 6, 7
    h.wait(1.0)
    h.complete("worker-B", "t2")  # 8, 9: honoured after 1.001 s unrenewed
    h.wait(1.0)
    h.claim("worker-C", "t1")  # 10, 11: redelivered 2.006 s after A's claim invoke
    h.complete("worker-C", "t1")  # 12, 13
    return h


def test_bounds_come_from_the_longest_honoured_hold_and_the_soonest_redelivery() -> None:
    h = slow_worker_redelivered()
    report = check_history(h.frame(), drained=True)
    hold = h.time_s(8) - h.time_s(7)
    gap = h.time_s(11) - h.time_s(4)
    dc = report.results["double_claim"]
    assert (dc.verdict, dc.count) == (Verdict.PASS, 0)
    assert dc.note == f"lease inferred: between {hold:.2f} and {gap:.2f} s from 1 redelivery"
    assert report.metrics["lease_inferred_lower_s"] == pytest.approx(hold, abs=1e-3)
    assert report.metrics["lease_inferred_upper_s"] == pytest.approx(gap, abs=1e-3)
    assert report.metrics["lease_inferred_from_redeliveries"] == 1
    assert report.metrics["lease_inferred_from_holds"] == 2  # B's hold, C's 2 ms hold
    assert report.metrics["redelivered"] == 1
    assert report.verdict == Verdict.PASS


def test_a_redelivery_sooner_than_an_honoured_hold_is_a_double_claim() -> None:
    h = History()
    h.submit("t1")  # 0, 1
    h.submit("t2")  # 2, 3
    h.claim("worker-B", "t2")  # 4, 5
    h.wait(1.0)
    h.complete("worker-B", "t2")  # 6, 7: the deployment honoured B for 1 s
    h.claim("worker-C", "t1")  # 8, 9
    h.claim("worker-D", "t1")  # 10, 11: handed out again 3 ms after C's claim
    report = check_history(h.frame(), drained=True)
    dc = report.results["double_claim"]
    assert (dc.verdict, dc.count, pairs(dc)) == (Verdict.FAIL, 1, [("t1", [8, 9, 10, 11])])
    assert "lease inferred: at least 1.00 s" in dc.note


def test_an_accepted_heartbeat_renews_the_hold() -> None:
    h = History()
    h.submit("t1")  # 0, 1
    h.claim("worker-B", "t1")  # 2, 3
    h.wait(0.9)
    h.heartbeat("worker-B")  # 4, 5
    h.wait(0.1)
    h.complete("worker-B", "t1")  # 6, 7
    h.submit("t2")  # 8, 9
    h.claim("worker-A", "t2")  # 10, 11
    h.wait(0.5)
    h.claim("worker-C", "t2")  # 12, 13: A's t2 handed out again after 0.5 s
    report = check_history(h.frame(), drained=True)
    renewed_hold = h.time_s(6) - h.time_s(5)
    assert report.metrics["lease_inferred_lower_s"] == pytest.approx(renewed_hold, abs=1e-3)
    assert report.results["double_claim"].verdict == Verdict.PASS  # 0.5 s > 0.101 s


def test_a_rejected_finish_is_not_an_honoured_hold() -> None:
    h = History()
    h.submit("t1")  # 0, 1
    h.claim("worker-A", "t1")  # 2, 3
    h.wait(1.0)
    h.complete("worker-A", "t1", "fail", status=409)  # 4, 5: not honoured
    h.claim("worker-B", "t1")  # 6, 7
    report = check_history(h.frame())
    dc = report.results["double_claim"]
    assert dc.verdict == Verdict.UNKNOWN
    gap = h.time_s(7) - h.time_s(2)
    assert dc.note.endswith(f"; lease inferred: at most {gap:.2f} s from 1 redelivery")
    assert "lease_inferred_lower_s" not in report.metrics


def test_a_given_lease_is_used_and_nothing_is_inferred() -> None:
    report = check_history(slow_worker_redelivered().frame(), lease_timeout=60, drained=True)
    assert report.results["double_claim"].verdict == Verdict.FAIL  # C came within 60 s
    assert not [k for k in report.metrics if k.startswith("lease_inferred")]


def test_nothing_is_inferred_when_every_claim_carries_its_deadline() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1", token="a", expires_at=h.now_s + 0.001)
    h.wait(0.5)
    h.claim("worker-B", "t1", token="b", expires_at=h.now_s + 60)
    report = check_history(h.frame())
    assert report.results["double_claim"].verdict == Verdict.PASS
    assert report.results["double_claim"].note == ""
    assert report.metrics["redelivered"] == 1


@pytest.mark.parametrize(
    ("inference", "line"),
    [
        (
            LeaseInference(lower_s=1.5, upper_s=2.25, redeliveries=3, holds=9),
            "lease inferred: between 1.50 and 2.25 s from 3 redeliveries",
        ),
        (
            LeaseInference(lower_s=1.5, upper_s=None, redeliveries=0, holds=9),
            "lease inferred: at least 1.50 s (from 9 honoured holds; no redelivery seen)",
        ),
        (
            LeaseInference(lower_s=None, upper_s=None, redeliveries=0, holds=0),
            "lease not inferred: no honoured hold and no redelivery",
        ),
    ],
)
def test_the_report_line(inference: LeaseInference, line: str) -> None:
    assert inference.describe() == line


def janitor_jitter(pushed_twice: bool = False) -> History:
    """A correct deployment whose janitor sweeps every ~0.6 s after a 2 s lease: it
    redelivered after 2.0 s and 2.6 s, yet honoured another claim for 2.4 s."""
    h = History()
    for task in ("t1", "t2", "t3"):
        h.submit(task)  # 0..5
    h.claim("worker-A", "t1")  # 6, 7
    h.claim("worker-B", "t2")  # 8, 9
    h.claim("worker-C", "t3")  # 10, 11
    h.wait(2.0)
    h.claim("worker-D", "t1")  # 12, 13: A's t1 after 2.0 s
    h.wait(0.4)
    h.complete("worker-B", "t2")  # 14, 15: B honoured for 2.4 s
    h.wait(0.2)
    h.claim("worker-E", "t3")  # 16, 17: C's t3 after 2.6 s
    if pushed_twice:
        h.claim("worker-F", "t3")  # 18, 19: and again 2 ms later (re-queued twice)
    h.complete("worker-D", "t1")
    h.complete("worker-E", "t3")
    return h


def test_the_jitter_of_a_periodic_janitor_is_not_a_double_claim() -> None:
    h = janitor_jitter()
    report = check_history(h.frame(), drained=True)
    dc = report.results["double_claim"]
    assert (dc.verdict, dc.count) == (Verdict.PASS, 0)
    soonest, honoured = h.time_s(13) - h.time_s(6), h.time_s(14) - h.time_s(9)
    assert dc.note == (
        f"lease inferred: between {soonest:.2f} and {honoured:.2f} s from 2 redeliveries "
        f"(a redelivery after {soonest:.2f} s, a claim honoured for {honoured:.2f} s: "
        "the janitor's period)"
    )
    assert report.metrics["lease_judged_s"] == math.floor(soonest * 1000) / 1000


def test_a_redelivery_in_under_half_the_honoured_time_is_still_a_double_claim() -> None:
    dc = check_history(janitor_jitter(pushed_twice=True).frame()).results["double_claim"]
    assert (dc.verdict, pairs(dc)) == (Verdict.FAIL, [("t3", [16, 17, 18, 19])])
