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
from harness.checks.metrics import metrics
from harness.checks.ops import build_views
from harness.checks.verdicts import CheckReport, CheckResult, Kind, overall

logger = logging.getLogger(__name__)


def _guarded(kind: str, check: Callable[[], CheckResult]) -> CheckResult:
    try:
        return check()
    except Exception as exc:  # the process boundary of one check: log, say unknown
        logger.exception("check %s crashed", kind)
        return CheckResult.unknown(kind, f"the check crashed: {type(exc).__name__}: {exc}")


def check_history(
    frame: pd.DataFrame,
    *,
    audit: Audit | None = None,
    lease_timeout: float | None = None,
    drained: bool | None = None,
) -> CheckReport:
    """Run every check of DESIGN.md section 5 over a history frame."""
    views = build_views(frame)
    subs = submission.submissions(views)
    pairs = claim_checks.claim_pairs(views, lease_timeout)
    excused: list[int] = [0]

    def unexpected() -> CheckResult:
        result, excused[0] = submission.unexpected(views, subs)
        return result

    checks: dict[str, Callable[[], CheckResult]] = {
        Kind.LOST: lambda: submission.lost(views, subs, audit=audit, drained=drained),
        Kind.DUPLICATE_COMPLETION: lambda: completion.duplicate_completions(views),
        Kind.STALE_COMPLETION: lambda: completion.stale_completions(views),
        Kind.RESURRECTION: lambda: completion.resurrections(views),
        Kind.DOUBLE_CLAIM: lambda: claim_checks.double_claims(views, pairs),
        Kind.UNEXPECTED: unexpected,
        Kind.AUDIT_MISMATCH: lambda: audit_mismatches(views, subs, audit),
        Kind.STUCK: lambda: stuck(views, audit, drained=drained, lease_timeout=lease_timeout),
    }
    results = {str(kind): _guarded(kind, check) for kind, check in checks.items()}
    numbers = metrics(views)
    info_seen = subs.submitted.difference(subs.acknowledged).intersection(subs.seen)
    numbers["acknowledged"] = len(subs.acknowledged)
    numbers["recovered"] = len(info_seen) + excused[0]
    numbers["redelivered"] = claim_checks.redelivered(pairs)
    return CheckReport(verdict=overall(results), results=results, metrics=numbers)
