"""The checker's value types: verdicts, violations, per-check results, the report.

Jepsen's validity is three-valued: a check that cannot decide (missing input, or a
check that crashed) says ``unknown``, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Verdict(StrEnum):
    PASS = "pass"  # checked, and no violation
    FAIL = "fail"  # at least one violation, proven by events
    UNKNOWN = "unknown"  # could not decide (input missing, or the check crashed)


class Kind(StrEnum):
    """The violation kinds (contract: DESIGN.md section 5)."""

    LOST = "lost"
    DUPLICATE_COMPLETION = "duplicate_completion"
    STALE_COMPLETION = "stale_completion"
    RESURRECTION = "resurrection"
    DOUBLE_CLAIM = "double_claim"
    UNEXPECTED = "unexpected"
    AUDIT_MISMATCH = "audit_mismatch"
    STUCK = "stuck"


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    """One task's violation of one kind, with the frame ``index`` values proving it."""

    kind: str
    task_id: str
    events: list[int]
    explanation: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """What one check found. ``count`` is the number of distinct tasks affected.

    ``exercised`` is False when the check had nothing to look at (e.g. no audit for
    ``audit_mismatch``): a vacuous pass, shown as "not exercised" in the claims ledger.
    """

    kind: str
    verdict: Verdict
    count: int = 0
    violations: list[Violation] = field(default_factory=list)
    exercised: bool = True
    note: str = ""

    @classmethod
    def of(cls, kind: str, violations: list[Violation], *, note: str = "") -> CheckResult:
        verdict = Verdict.FAIL if violations else Verdict.PASS
        tasks = {v.task_id for v in violations}
        return cls(kind=kind, verdict=verdict, count=len(tasks), violations=violations, note=note)

    @classmethod
    def unknown(cls, kind: str, note: str) -> CheckResult:
        return cls(kind=kind, verdict=Verdict.UNKNOWN, exercised=False, note=note)

    @classmethod
    def vacuous(cls, kind: str, note: str) -> CheckResult:
        return cls(kind=kind, verdict=Verdict.PASS, exercised=False, note=note)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckReport:
    """Every check's result, the overall verdict and the run's metrics."""

    verdict: Verdict
    results: dict[str, CheckResult]
    metrics: dict[str, int | float]

    @property
    def counts(self) -> dict[str, int]:
        return {kind: result.count for kind, result in self.results.items()}

    @property
    def violations(self) -> list[Violation]:
        return [v for result in self.results.values() for v in result.violations]


def overall(results: dict[str, CheckResult]) -> Verdict:
    """Fail if any check failed, else unknown if any is unknown, else pass."""
    verdicts = {r.verdict for r in results.values()}
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    return Verdict.UNKNOWN if Verdict.UNKNOWN in verdicts else Verdict.PASS
