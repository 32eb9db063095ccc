"""Submission checks: unexpected and lost, and the acknowledged/recovered metrics.

A task counts as *submitted* by an ok or an info submit (an info one may have taken
effect). A submit whose answer was lost and carried no client-chosen id cannot be
tied to a task: each such submit excuses one otherwise unexpected task (Jepsen: an
indeterminate op can excuse an observation, never prove one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.checks.audit_state import Audit
from harness.checks.explain import op_events, op_ref
from harness.checks.ops import FAIL, INFO, OK, Views, distinct, first_per_task, to_int
from harness.checks.verdicts import CheckResult, Kind, Violation

NOWHERE = frozenset({"missing", "unknown_to_server"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Submissions:
    acknowledged: pd.Index  # task codes with an ok submit
    submitted: pd.Index  # task codes with an ok or info submit
    submitted_at: np.ndarray  # per task code: first such submit's invoke time (+inf: none)
    anonymous_info: int  # info submits with no task id: each may be any task
    seen: pd.Index  # task codes claimed or finished (accepted)


def submissions(views: Views) -> Submissions:
    subs = views.submits
    outcome, task = subs["outcome"].to_numpy(), subs["task"].to_numpy()
    maybe = (outcome != FAIL) & (task >= 0)
    finishes = views.finishes
    accepted = finishes["task"].to_numpy()[finishes["outcome"].to_numpy() == OK]
    size = len(views.task_names)
    submitted_at = first_per_task(task[maybe], subs["t_inv"].to_numpy()[maybe], size)
    return Submissions(
        acknowledged=distinct(task[outcome == OK], size),
        submitted=pd.Index(np.flatnonzero(np.isfinite(submitted_at))),
        submitted_at=submitted_at,
        anonymous_info=int(((outcome == INFO) & (task < 0)).sum()),
        seen=distinct(np.concatenate([views.claims["task"].to_numpy(), accepted]), size),
    )


def unexpected(views: Views, subs: Submissions) -> tuple[CheckResult, int]:
    """Claims or accepted finishes of tasks never submitted; also returns the excused."""
    if not len(views.submits) and len(views.claims):
        return CheckResult.unknown(Kind.UNEXPECTED, "the history records no submits"), 0
    accepted = views.finishes[views.finishes["outcome"].to_numpy() == OK]
    claims = views.claims.rename(columns={"ok": "done", "t_ok": "t_done"})
    flagged = [
        ops[ops["t_done"].to_numpy() < subs.submitted_at[ops["task"].to_numpy()]]
        for ops in (claims, accepted)
    ]
    first = pd.concat(flagged).sort_values("t_inv", kind="stable").drop_duplicates("task")
    excused = min(subs.anonymous_info, len(first))
    violations = [_unexpected_violation(views, row) for row in first.iloc[excused:].itertuples()]
    note = f"{excused} excused by submits whose answer was lost" if excused else ""
    return CheckResult.of(Kind.UNEXPECTED, violations, note=note), excused


def _unexpected_violation(views: Views, row: object) -> Violation:
    name = views.task_name(int(row.task))  # type: ignore[attr-defined]
    head, done = int(row.head), int(row.done)  # type: ignore[attr-defined]
    what = str(views.frame["f"].iat[head])
    return Violation(
        kind=Kind.UNEXPECTED,
        task_id=name,
        events=op_events(head, done),
        explanation=(
            f"The queue handed out or accepted task {name} ({op_ref(views, what, head, done)})"
            " but no submit of that id took effect before it: the task came from nowhere."
        ),
    )


def lost(
    views: Views, subs: Submissions, *, audit: Audit | None, drained: bool | None
) -> CheckResult:
    """Submitted tasks never finished and, at the end, nowhere they could be served from."""
    info_seen = subs.submitted.difference(subs.acknowledged).intersection(subs.seen)
    candidates = subs.acknowledged.union(info_seen)
    finishes = views.finishes
    maybe_done = finishes["terminal"].to_numpy() & (finishes["outcome"].to_numpy() != FAIL)
    open_ = candidates.difference(pd.Index(finishes["task"].to_numpy()[maybe_done]))
    if not len(open_):
        return CheckResult.of(Kind.LOST, [])
    names = [views.task_name(int(code)) for code in open_]
    if audit is not None:
        statuses = [audit.status(name) for name in names]
        gone = [c for c, s in zip(open_, statuses, strict=True) if s in NOWHERE]
        unaudited = sum(s is None for s in statuses)
        if unaudited and not drained and not gone:
            return CheckResult.unknown(Kind.LOST, f"{unaudited} unfinished tasks not in the audit")
        where = "the audit finds it nowhere"
    elif drained:
        gone, where = list(open_), "the run drained (nothing pending or processing)"
    else:
        return CheckResult.unknown(
            Kind.LOST,
            f"{len(open_)} submitted tasks never finished, and the end state is unknown "
            "(no audit.json, run.json does not say the run drained)",
        )
    ops = views.ops[views.ops["task"].isin(gone)]
    violations = [
        _lost_violation(views, to_int(t), g.head(10), where) for t, g in ops.groupby("task")
    ]
    return CheckResult.of(Kind.LOST, violations)


def _lost_violation(views: Views, task: int, ops: pd.DataFrame, where: str) -> Violation:
    events = [e for h, d in zip(ops["head"], ops["done"], strict=True) for e in op_events(h, d)]
    name = views.task_name(task)
    refs = "; ".join(
        op_ref(views, str(views.frame["f"].iat[h]), h, d)
        for h, d in zip(ops["head"], ops["done"], strict=True)
    )
    return Violation(
        kind=Kind.LOST,
        task_id=name,
        events=events,
        explanation=(
            f"Task {name} was submitted and acknowledged ({refs}) but never finished, and "
            f"{where}: the task was lost."
        ),
    )
