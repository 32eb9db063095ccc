"""The history checker: pure, vectorised functions over the history frame.

One module per concern: ``completion`` (duplicate, stale, resurrection), ``claims``
(double claim, redelivery), ``submission`` (lost, unexpected), ``audit_checks``
(audit mismatch, stuck), ``metrics``; ``runner.check_history`` runs them all.
"""

from harness.checks.audit_state import Audit, audit_from_json, load_audit
from harness.checks.runner import check_history
from harness.checks.verdicts import CheckReport, CheckResult, Kind, Verdict, Violation

__all__ = [
    "Audit",
    "CheckReport",
    "CheckResult",
    "Kind",
    "Verdict",
    "Violation",
    "audit_from_json",
    "check_history",
    "load_audit",
]
