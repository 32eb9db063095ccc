"""Checks against the server's final view: audit_mismatch and stuck.

Both need ``audit.json``; without it they pass vacuously (not exercised). The audit
is a few entries per task, so plain Python over its dict is fast enough.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.checks.audit_state import Audit
from harness.checks.explain import op_events
from harness.checks.ops import FAIL, OK, Views, distinct, to_int
from harness.checks.submission import Submissions
from harness.checks.verdicts import CheckResult, Kind, Violation

GRACE_S = 2.0  # how far past its lease a task may still be processing at the end


def audit_mismatches(views: Views, subs: Submissions, audit: Audit | None) -> CheckResult:
    if audit is None:
        return CheckResult.vacuous(Kind.AUDIT_MISMATCH, "no audit.json: nothing to compare")
    finishes = views.finishes
    outcome = finishes["outcome"].to_numpy()
    complete = finishes["f"].to_numpy() == views.frame["f"].cat.categories.get_loc("complete")
    attempted = _names(views, finishes["task"].to_numpy()[complete & (outcome != FAIL)])
    completed = _names(views, finishes["task"].to_numpy()[complete & (outcome == OK)])
    acknowledged = _names(views, subs.acknowledged.to_numpy())
    problems = {}
    for task_id, entry in audit.tasks.items():
        problem = _contradiction(task_id, entry, attempted, completed, acknowledged)
        if problem:
            problems[task_id] = problem
    events = task_events(views, list(problems))
    violations = [
        Violation(
            kind=Kind.AUDIT_MISMATCH,
            task_id=task_id,
            events=events.get(task_id, []),
            explanation=f"The server's final view of task {task_id} {problem}.",
        )
        for task_id, problem in problems.items()
    ]
    return CheckResult.of(Kind.AUDIT_MISMATCH, violations)


def _contradiction(
    task_id: str,
    entry: dict[str, object],
    attempted: set[str],
    completed: set[str],
    acknowledged: set[str],
) -> str:
    status = entry.get("status")
    copies = entry.get("pending_copies")
    if isinstance(copies, int) and (copies > 1 or (copies >= 1 and entry.get("in_processing"))):
        where = "pending list and the processing set" if copies == 1 else "pending list"
        return f"says it is in two places at once ({copies} copies in the {where})"
    if status == "completed" and task_id not in attempted:
        return "says completed, but no completion of it was ever attempted"
    if task_id in completed and status in ("pending", "processing", "missing"):
        return f"says {status}, although a completion of it was accepted"
    if status == "unknown_to_server" and task_id in acknowledged:
        return "does not know it, although its submit was acknowledged"
    return ""


def _names(views: Views, codes: np.ndarray) -> set[str]:
    names = views.task_names
    return {str(names[c]) for c in distinct(codes, len(names))}


def task_events(views: Views, task_ids: list[str], limit: int = 12) -> dict[str, list[int]]:
    """The first ops (invoke and completion events) of each of some tasks."""
    codes = {views.code_of(t): t for t in task_ids}
    ops = views.ops[views.ops["task"].isin([c for c in codes if c >= 0])]
    out: dict[str, list[int]] = {}
    for code, group in ops.groupby("task"):
        heads, dones = group["head"].to_numpy()[:limit], group["done"].to_numpy()[:limit]
        out[codes[to_int(code)]] = [
            int(e) for h, d in zip(heads, dones, strict=True) for e in op_events(h, d)
        ]
    return out


def stuck(
    views: Views, audit: Audit | None, *, drained: bool | None, lease_timeout: float | None
) -> CheckResult:
    """Tasks still processing at the end of a drained run, past their lease plus grace."""
    if audit is None or not drained:
        return CheckResult.vacuous(Kind.STUCK, "needs audit.json of a drained run")
    processing = [t for t, e in audit.tasks.items() if e.get("status") == "processing"]
    end_ns = audit.taken_at * 1e9 if audit.taken_at else float(views.frame["time_ns"].max())
    last = views.claims.sort_values("t_ok").drop_duplicates("task", keep="last").set_index("task")
    violations, undecided = [], 0
    for task_id in processing:
        code = views.code_of(task_id)
        claim: pd.Series | None = last.loc[code] if code in last.index else None  # type: ignore[assignment]
        deadline = _deadline(claim, lease_timeout)
        if deadline is None:
            undecided += 1
        elif claim is not None and end_ns > deadline + GRACE_S * 1e9:
            violations.append(_stuck_violation(task_id, claim, deadline, end_ns))
    if undecided and not violations:
        return CheckResult.unknown(Kind.STUCK, f"{undecided} processing tasks with no known lease")
    return CheckResult.of(Kind.STUCK, violations)


def _deadline(claim: pd.Series | None, lease_timeout: float | None) -> float | None:
    if claim is None:
        return None
    if not np.isnan(claim["expires_ns"]):
        return float(claim["expires_ns"])
    return None if lease_timeout is None else float(claim["t_inv"]) + lease_timeout * 1e9


def _stuck_violation(task_id: str, claim: pd.Series, deadline: float, end_ns: float) -> Violation:
    head, ok = int(claim["head"]), int(claim["ok"])
    late_s = (end_ns - deadline) / 1e9
    return Violation(
        kind=Kind.STUCK,
        task_id=task_id,
        events=[head, ok],
        explanation=(
            f"Task {task_id} was still processing when the drained run ended, {late_s:.1f} s "
            f"past the lease of its last claim (events {head}→{ok}); nothing will ever "
            "re-deliver it."
        ),
    )
