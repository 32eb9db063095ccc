"""Delivery promises (DESIGN.md §12): which violation kinds each promise forbids.

A run is judged against what the queue promised, not against exactly-once by default:
an at-least-once queue that redelivers a task to a second worker keeps its promise,
an exactly-once-completion queue that does so breaks it. For each check kind a promise
says one of:

- ``violates``: a finding of this kind breaks the promise;
- ``allowed``: the promise permits it (the finding is reported, not held against it);

and for a run, a kind whose check had nothing to look at is ``not exercised``. Pure:
no I/O, no redis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from enum import StrEnum

from harness.checks.verdicts import CheckReport, CheckResult, Kind, Verdict
from harness.contract import DeliveryPromise, Promise


class Standing(StrEnum):
    """How one kind stands against a promise in one run (or one search)."""

    VIOLATES = "violates the promise"
    ALLOWED = "allowed by the promise"
    HELD = "held"  # exercised, nothing found
    NOT_EXERCISED = "not exercised"


_FORBIDDEN: dict[DeliveryPromise, frozenset[Kind]] = {
    # Loss (and a task left for ever where no one serves it) is the price of at most
    # once; any second delivery or completion is not.
    DeliveryPromise.AT_MOST_ONCE: frozenset(
        {
            Kind.DUPLICATE_COMPLETION,
            Kind.STALE_COMPLETION,
            Kind.RESURRECTION,
            Kind.DOUBLE_CLAIM,
            Kind.UNEXPECTED,
            Kind.AUDIT_MISMATCH,
        }
    ),
    # Redelivery and duplicate execution are the price of at least once; loss, stuck
    # tasks, and a superseded holder's acknowledgement (it erases the live holder's
    # claim: stale_completion) are not.
    DeliveryPromise.AT_LEAST_ONCE: frozenset(
        {Kind.LOST, Kind.STALE_COMPLETION, Kind.STUCK, Kind.UNEXPECTED, Kind.AUDIT_MISMATCH}
    ),
    DeliveryPromise.EXACTLY_ONCE_COMPLETION: frozenset(Kind),
}

# Why a kind is allowed, said in the report beside "allowed by the promise".
ALLOWED_BECAUSE: dict[tuple[DeliveryPromise, Kind], str] = {
    (DeliveryPromise.AT_MOST_ONCE, Kind.LOST): "at most once may drop a task",
    (DeliveryPromise.AT_MOST_ONCE, Kind.STUCK): "at most once may never run a task",
    (DeliveryPromise.AT_LEAST_ONCE, Kind.DUPLICATE_COMPLETION): "a redelivered task may "
    "complete twice",
    (DeliveryPromise.AT_LEAST_ONCE, Kind.RESURRECTION): "a task may be delivered again "
    "after it ran (duplicate execution)",
    (DeliveryPromise.AT_LEAST_ONCE, Kind.DOUBLE_CLAIM): "redelivery may hand a task to a "
    "second worker while the first still runs it",
}


def forbids(promise: Promise | DeliveryPromise, kind: Kind | str) -> bool:
    """Whether a finding of ``kind`` breaks ``promise``."""
    level = promise.kind if isinstance(promise, Promise) else promise
    return Kind(kind) in _FORBIDDEN[level]


def standing(promise: Promise | DeliveryPromise, kind: Kind | str, *, found: bool,
             exercised: bool = True) -> Standing:  # fmt: skip
    """A kind's standing: found and forbidden / found and allowed / held / not exercised."""
    if found:
        return Standing.VIOLATES if forbids(promise, kind) else Standing.ALLOWED
    return Standing.HELD if exercised else Standing.NOT_EXERCISED


def standings(promise: Promise, results: Mapping[str, CheckResult]) -> dict[str, Standing]:
    """Per kind of a checked run: its standing against the run's promise."""
    return {
        kind: standing(
            promise,
            kind,
            found=result.verdict is Verdict.FAIL,
            exercised=result.exercised and result.verdict is not Verdict.UNKNOWN,
        )
        for kind, result in results.items()
        if kind in set(Kind)
    }


def kept(promise: Promise, results: Mapping[str, CheckResult]) -> bool:
    """The run kept its promise: no finding of a kind the promise forbids."""
    return Standing.VIOLATES not in standings(promise, results).values()


def promise_json(promise: Promise) -> dict[str, str]:
    """The promise as ``run.json`` records it."""
    return {"kind": str(promise.kind), "source": promise.source, "quote": promise.quote}


def promise_from_json(data: object) -> Promise:
    """``run.json``'s ``promise`` back to a value; the default when absent or malformed."""
    if not isinstance(data, Mapping):
        return Promise()
    try:
        kind = DeliveryPromise(str(data.get("kind", DeliveryPromise.EXACTLY_ONCE_COMPLETION)))
    except ValueError:
        return Promise()
    return Promise(kind=kind, source=str(data.get("source", "")), quote=str(data.get("quote", "")))


def judged(report: CheckReport, promise: Promise) -> CheckReport:
    """The report with its verdict taken against ``promise``: fail only for a kind the
    promise forbids (an allowed finding stays listed, with its count, but does not fail
    the run); otherwise unknown if some check could not decide, else pass."""
    results = report.results
    if any(r.verdict is Verdict.FAIL and forbids(promise, k) for k, r in results.items()):
        verdict = Verdict.FAIL
    elif any(r.verdict is Verdict.UNKNOWN for r in results.values()):
        verdict = Verdict.UNKNOWN
    else:
        verdict = Verdict.PASS
    return replace(report, verdict=verdict)
