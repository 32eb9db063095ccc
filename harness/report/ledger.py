"""The claims ledger: the note's statements, each judged against the evidence.

A claim is *refuted* when a check it depends on found a violation (linked to the
first counterexample), *holds* when every such check ran on data and passed, and is
*not exercised* otherwise (a check unknown, skipped, or the run never did the thing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from harness.checks.verdicts import CheckReport, Kind, Verdict

Metrics = dict[str, int | float]


class Judgement(StrEnum):
    HOLDS = "holds"
    REFUTED = "refuted"
    NOT_EXERCISED = "not exercised"


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerRow:
    claim: str
    section: str  # where the note says it
    judgement: Judgement
    evidence: str
    link: str | None = None  # anchor of the counterexample in the report


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteClaim:
    claim: str
    section: str
    kinds: tuple[str, ...]
    exercised: Callable[[Metrics], bool]
    needs: str  # what the run must have done, said when it did not


def _claims_made(m: Metrics) -> bool:
    return m.get("ops_claim_ok", 0) > 0


def _multi(m: Metrics) -> bool:
    return m.get("workers", 0) >= 2


ALL = tuple(str(k) for k in Kind)
VERIFIED, CONCLUSION = "Verified Safe Operations", "Conclusion"
CLAIMS = (
    NoteClaim(
        claim="Task polling (`RPOP` is atomic)",
        section=VERIFIED,
        kinds=(Kind.DOUBLE_CLAIM, Kind.LOST),
        exercised=_claims_made,
        needs="claims",
    ),
    NoteClaim(
        claim="Task assignment (no duplicates possible)",
        section=VERIFIED,
        kinds=(Kind.DOUBLE_CLAIM, Kind.DUPLICATE_COMPLETION),
        exercised=_multi,
        needs="two or more workers",
    ),
    NoteClaim(
        claim="Status updates (transactional pipelines)",
        section=VERIFIED,
        kinds=(Kind.RESURRECTION, Kind.STALE_COMPLETION, Kind.AUDIT_MISMATCH),
        exercised=lambda m: m.get("ops_complete_ok", 0) > 0,
        needs="completions",
    ),
    NoteClaim(
        claim="Concurrent completions (independent operations)",
        section=VERIFIED,
        kinds=(Kind.DUPLICATE_COMPLETION, Kind.STALE_COMPLETION),
        exercised=lambda m: _multi(m) and m.get("ops_complete_ok", 0) > 0,
        needs="completions by two or more workers",
    ),
    NoteClaim(
        claim="Janitor cleanup (safe even with worker activity)",
        section=VERIFIED,
        kinds=(Kind.RESURRECTION, Kind.DOUBLE_CLAIM, Kind.DUPLICATE_COMPLETION, Kind.LOST),
        exercised=lambda m: m.get("rescues", 0) > 0,
        needs="janitor rescues",
    ),
    NoteClaim(
        claim="The current implementation is SAFE for concurrent access",
        section=CONCLUSION,
        kinds=ALL,
        exercised=_multi,
        needs="two or more workers",
    ),
    NoteClaim(
        claim="No race conditions identified",
        section=CONCLUSION,
        kinds=ALL,
        exercised=_multi,
        needs="two or more workers",
    ),
    NoteClaim(
        claim="Ready for production with multiple workers",
        section=CONCLUSION,
        kinds=ALL,
        exercised=_multi,
        needs="two or more workers",
    ),
)


def anchor(kind: str, number: int) -> str:
    """The report anchor of the ``number``-th (1-based) example of ``kind``."""
    return f"{kind}-{number}"


def claims_ledger(report: CheckReport) -> list[LedgerRow]:
    return [_judge(claim, report) for claim in CLAIMS]


def _judge(claim: NoteClaim, report: CheckReport) -> LedgerRow:
    results = [report.results[k] for k in claim.kinds if k in report.results]
    failed = [r for r in results if r.verdict == Verdict.FAIL]
    if failed:
        first = failed[0]
        found = ", ".join(f"{r.kind} ({r.count} tasks)" for r in failed)
        return LedgerRow(
            claim=claim.claim,
            section=claim.section,
            judgement=Judgement.REFUTED,
            evidence=f"refuted by {found}",
            link=anchor(first.kind, 1),
        )
    undecided = [r.kind for r in results if r.verdict == Verdict.UNKNOWN]
    if results and not any(r.exercised for r in results):
        undecided = [r.kind for r in results]
    if not claim.exercised(report.metrics):
        evidence = f"the run had no {claim.needs}"
    elif undecided:
        evidence = f"not decided by: {', '.join(undecided)}"
    else:
        checked = ", ".join(r.kind for r in results)
        return LedgerRow(
            claim=claim.claim,
            section=claim.section,
            judgement=Judgement.HOLDS,
            evidence=f"passed: {checked}",
        )
    return LedgerRow(
        claim=claim.claim,
        section=claim.section,
        judgement=Judgement.NOT_EXERCISED,
        evidence=evidence,
    )
