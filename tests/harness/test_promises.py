"""Promise profiles: what each delivery promise forbids, and a run's standing per kind."""

from __future__ import annotations

import pytest

from harness.checks.promises import (
    Standing,
    forbids,
    kept,
    promise_from_json,
    promise_json,
    standing,
    standings,
)
from harness.checks.verdicts import CheckResult, Kind, Verdict, Violation
from harness.contract import DeliveryPromise, Promise

AT_MOST = DeliveryPromise.AT_MOST_ONCE
AT_LEAST = DeliveryPromise.AT_LEAST_ONCE
EXACTLY = DeliveryPromise.EXACTLY_ONCE_COMPLETION


def test_exactly_once_completion_forbids_every_kind() -> None:
    assert all(forbids(EXACTLY, kind) for kind in Kind)


@pytest.mark.parametrize(
    ("kind", "at_most_once", "at_least_once"),
    [
        (Kind.LOST, False, True),
        (Kind.STUCK, False, True),
        (Kind.DUPLICATE_COMPLETION, True, False),
        (Kind.RESURRECTION, True, False),
        (Kind.DOUBLE_CLAIM, True, False),
        (Kind.STALE_COMPLETION, True, True),  # a superseded holder's ack erases a live claim
        (Kind.UNEXPECTED, True, True),
        (Kind.AUDIT_MISMATCH, True, True),
    ],
)
def test_weaker_promises_allow_their_price(
    kind: Kind, at_most_once: bool, at_least_once: bool
) -> None:
    assert forbids(AT_MOST, kind) is at_most_once
    assert forbids(AT_LEAST, kind) is at_least_once


def test_standing_of_one_kind() -> None:
    promise = Promise(kind=AT_LEAST)
    assert standing(promise, Kind.LOST, found=True) is Standing.VIOLATES
    assert standing(promise, Kind.DOUBLE_CLAIM, found=True) is Standing.ALLOWED
    assert standing(promise, Kind.LOST, found=False) is Standing.HELD
    assert standing(promise, Kind.LOST, found=False, exercised=False) is Standing.NOT_EXERCISED


def test_standings_of_a_checked_run() -> None:
    duplicate = Violation(kind="duplicate_completion", task_id="t0", events=[1, 5], explanation="x")
    results = {
        "duplicate_completion": CheckResult.of("duplicate_completion", [duplicate]),
        "lost": CheckResult.of("lost", []),
        "audit_mismatch": CheckResult.vacuous("audit_mismatch", "no audit"),
        "stuck": CheckResult.unknown("stuck", "no lease"),
    }
    at_least = Promise(kind=AT_LEAST)
    assert standings(at_least, results) == {
        "duplicate_completion": Standing.ALLOWED,
        "lost": Standing.HELD,
        "audit_mismatch": Standing.NOT_EXERCISED,
        "stuck": Standing.NOT_EXERCISED,
    }
    assert kept(at_least, results) is True
    assert kept(Promise(kind=EXACTLY), results) is False
    assert results["duplicate_completion"].verdict is Verdict.FAIL


def test_promise_round_trips_through_run_json() -> None:
    promise = Promise(kind=AT_MOST, source="docs page", quote="may be lost")
    assert promise_from_json(promise_json(promise)) == promise
    assert promise_from_json(None) == Promise()
    assert promise_from_json({"kind": "sometimes"}) == Promise()


def test_reference_queues_declare_exactly_once_completion() -> None:
    from reference_queue.naive import NaiveQueue
    from reference_queue.safe import SafeQueue

    assert NaiveQueue.promise.kind is EXACTLY
    assert "SAFE" in NaiveQueue.promise.quote  # what the note claims
    assert SafeQueue.promise.kind is EXACTLY


def test_a_run_fails_only_for_what_its_promise_forbids() -> None:
    from harness.checks.promises import judged
    from harness.checks.verdicts import CheckReport

    duplicate = Violation(kind="duplicate_completion", task_id="t0", events=[1, 5], explanation="x")
    results = {
        "duplicate_completion": CheckResult.of("duplicate_completion", [duplicate]),
        "lost": CheckResult.of("lost", []),
    }
    report = CheckReport(verdict=Verdict.FAIL, results=results, metrics={})
    assert judged(report, Promise(kind=AT_LEAST)).verdict is Verdict.PASS
    assert judged(report, Promise(kind=EXACTLY)).verdict is Verdict.FAIL
    assert judged(report, Promise(kind=AT_LEAST)).counts == {"duplicate_completion": 1, "lost": 0}
    lost = Violation(kind="lost", task_id="t1", events=[2], explanation="y")
    worse = CheckReport(
        verdict=Verdict.FAIL,
        results={**results, "lost": CheckResult.of("lost", [lost])},
        metrics={},
    )
    assert judged(worse, Promise(kind=AT_LEAST)).verdict is Verdict.FAIL
    assert judged(worse, Promise(kind=AT_MOST)).verdict is Verdict.FAIL  # the duplicate
