"""``check_history``: every check over one frame, each isolated so one crash is unknown.

A check that raises is a defect of the checker, not a finding about the queue: it
is logged and yields ``unknown`` for that check, and the run goes on (Jepsen).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd

from harness.checks import claims as claim_checks
from harness.checks import completion, submission
from harness.checks.audit_checks import audit_mismatches, stuck
from harness.checks.audit_state import Audit
from harness.checks.lease import LeaseInference, infer_lease
from harness.checks.metrics import metrics
from harness.checks.ops import Views, build_views
from harness.checks.verdicts import CheckReport, CheckResult, Kind, overall
from harness.checks.windows import windows_hit

logger = logging.getLogger(__name__)


def _guarded(kind: str, check: Callable[[], CheckResult]) -> CheckResult:
    try:
        return check()
    except Exception as exc:  # the process boundary of one check: log, say unknown
        logger.exception("check %s crashed", kind)
        return CheckResult.unknown(kind, f"the check crashed: {type(exc).__name__}: {exc}")


def _leased_pairs(
    views: Views, lease_timeout: float | None
) -> tuple[claim_checks.ClaimPairs, LeaseInference | None]:
    """The claim pairs with their deadlines; with no lease given and some repeated claim
    lacking a deadline, the lease is inferred from the history (lease.py)."""
    pairs = claim_checks.claim_pairs(views, lease_timeout)
    if lease_timeout is not None or bool(pairs.decidable.all()):
        return pairs, None
    try:
        inference = infer_lease(views, claim_checks.redelivery_gaps_ns(views, pairs))
    except Exception:  # a defect of the inference: the double-claim check says unknown
        logger.exception("lease inference crashed")
        return pairs, None
    if inference.judged_s is not None:
        pairs = claim_checks.claim_pairs(views, inference.judged_s)
    return pairs, inference


def check_history(
    frame: pd.DataFrame,
    *,
    audit: Audit | None = None,
    lease_timeout: float | None = None,
    drained: bool | None = None,
) -> CheckReport:
    """Run every check of DESIGN.md section 5 over a history frame."""
    return check_views(
        build_views(frame), audit=audit, lease_timeout=lease_timeout, drained=drained
    )


def check_views(
    views: Views,
    *,
    audit: Audit | None = None,
    lease_timeout: float | None = None,
    drained: bool | None = None,
    end_ns: float | None = None,
    unsubmitted: bool | None = None,
) -> CheckReport:
    """:func:`check_history` over built views; ``end_ns``: the history's last time when
    ``views`` hold only part of it (a streamed partition), else the frame's own; and
    ``unsubmitted``: whether that whole history has granted claims but no submits."""
    subs = submission.submissions(views)
    pairs, inference = _leased_pairs(views, lease_timeout)
    lease_note = inference.describe() if inference is not None else ""
    # stuck and the lease boundary: past the soonest the deployment really redelivered
    later_lease = lease_timeout if inference is None else inference.upper_s
    excused: list[int] = [0]

    def unexpected() -> CheckResult:
        result, excused[0] = submission.unexpected(views, subs, unsubmitted=unsubmitted)
        return result

    checks: dict[str, Callable[[], CheckResult]] = {
        Kind.LOST: lambda: submission.lost(views, subs, audit=audit, drained=drained),
        Kind.DUPLICATE_COMPLETION: lambda: completion.duplicate_completions(views),
        Kind.STALE_COMPLETION: lambda: completion.stale_completions(views),
        Kind.RESURRECTION: lambda: completion.resurrections(views),
        Kind.DOUBLE_CLAIM: lambda: claim_checks.double_claims(views, pairs, lease_note=lease_note),
        Kind.UNEXPECTED: unexpected,
        Kind.AUDIT_MISMATCH: lambda: audit_mismatches(views, subs, audit),
        Kind.STUCK: lambda: stuck(
            views, audit, drained=drained, lease_timeout=later_lease, end_ns=end_ns
        ),
    }
    results = {str(kind): _guarded(kind, check) for kind, check in checks.items()}
    numbers = metrics(views)
    info_seen = subs.submitted.difference(subs.acknowledged).intersection(subs.seen)
    numbers["acknowledged"] = len(subs.acknowledged)
    numbers["recovered"] = len(info_seen) + excused[0]
    numbers["redelivered"] = claim_checks.redelivered(pairs)
    if inference is not None:
        numbers.update(inference.metrics())
    return CheckReport(
        verdict=overall(results),
        results=results,
        metrics=numbers,
        windows=_windows(views, later_lease),
    )


def _windows(views: Views, lease_timeout: float | None) -> dict[str, int]:
    try:
        return windows_hit(views, lease_timeout)
    except Exception:  # a defect of the counting: the report says nothing about windows
        logger.exception("counting the windows hit crashed")
        return {}
