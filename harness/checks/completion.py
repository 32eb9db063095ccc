"""Completion checks: duplicate_completion, stale_completion, resurrection.

An *accepted finish* is a complete or fail whose completion is ``ok``; it is
*terminal* for a complete, or for a fail that did not ask for a retry. Info
completions may or may not have taken effect: they never prove a violation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.checks.explain import op_events, op_ref
from harness.checks.ops import OK, Views, first_per_task, to_int
from harness.checks.verdicts import CheckResult, Kind, Violation

_F_NAMES = {"complete": "completion", "fail": "failure report"}


def _accepted(views: Views) -> pd.DataFrame:
    finishes = views.finishes
    accepted: pd.DataFrame = finishes[finishes["outcome"].to_numpy() == OK]
    return accepted


def _what(views: Views, f_code: int) -> str:
    return _F_NAMES[str(views.frame["f"].cat.categories[f_code])]


def duplicate_completions(views: Views) -> CheckResult:
    """Tasks finished more than once: two terminal finishes, or a finish after one."""
    accepted = _accepted(views)
    terminal = accepted[accepted["terminal"].to_numpy()]
    size = len(views.task_names)
    first = first_per_task(terminal["task"].to_numpy(), terminal["t_done"].to_numpy(), size)
    twice = np.flatnonzero(np.bincount(terminal["task"].to_numpy(), minlength=size) > 1)
    tasks = accepted["task"].to_numpy()
    after = accepted["t_inv"].to_numpy() > first[tasks]
    bad = set(twice.tolist()) | set(tasks[after].tolist())
    rows = accepted[accepted["task"].isin(bad)].sort_values(["task", "t_inv"])
    violations = []
    for task, group in rows.groupby("task", sort=True):
        refs = [
            op_ref(views, _what(views, f), head, done)
            for f, head, done in zip(group["f"], group["head"], group["done"], strict=True)
        ]
        events = [
            e for h, d in zip(group["head"], group["done"], strict=True) for e in op_events(h, d)
        ]
        name = views.task_name(to_int(task))
        violations.append(
            Violation(
                kind=Kind.DUPLICATE_COMPLETION,
                task_id=name,
                events=events,
                explanation=(
                    f"Task {name} was finished {len(group)} times and the queue accepted "
                    f"each: {'; '.join(refs)}. Exactly one completion (or one terminal "
                    "failure) may be accepted."
                ),
            )
        )
    return CheckResult.of(Kind.DUPLICATE_COMPLETION, violations)


def stale_completions(views: Views) -> CheckResult:
    """Accepted finishes whose own claim had been superseded by another claim's ok."""
    accepted = _accepted(views)  # ops are in invoke order already
    claims = views.claims[["task", "actor", "head", "ok", "t_ok"]].sort_values("t_ok")
    latest = pd.merge_asof(
        accepted,
        claims.rename(columns={"actor": "c_actor", "head": "c_head", "ok": "c_ok"}),
        left_on="t_inv",
        right_on="t_ok",
        by="task",
        allow_exact_matches=False,
    )
    own = pd.merge_asof(
        accepted,
        claims.rename(columns={"head": "o_head", "ok": "o_ok", "t_ok": "o_t_ok"}),
        left_on="t_inv",
        right_on="o_t_ok",
        by=["task", "actor"],
        allow_exact_matches=False,
    )
    other = latest["c_ok"].to_numpy()
    mine = own["o_ok"].to_numpy()
    stale = ~np.isnan(other) & (np.isnan(mine) | (other != mine))
    violations = [
        _stale_violation(views, row, own_head, own_ok)
        for row, own_head, own_ok in zip(
            latest[stale].itertuples(index=False),
            own["o_head"].to_numpy()[stale],
            mine[stale],
            strict=True,
        )
    ]
    return CheckResult.of(Kind.STALE_COMPLETION, violations)


def _stale_violation(views: Views, row: object, own_head: float, own_ok: float) -> Violation:
    task, head, done = int(row.task), int(row.head), int(row.done)  # type: ignore[attr-defined]
    c_head, c_ok = int(row.c_head), int(row.c_ok)  # type: ignore[attr-defined]
    name = views.task_name(task)
    finish = op_ref(views, _what(views, int(row.f)), head, done)  # type: ignore[attr-defined]
    other = op_ref(views, "claim", c_head, c_ok)
    if np.isnan(own_ok):
        mine, events = "it had no claim of its own before that", []
    else:
        mine = f"its own {op_ref(views, 'claim', int(own_head), int(own_ok))} was superseded"
        events = [int(own_head), int(own_ok)]
    return Violation(
        kind=Kind.STALE_COMPLETION,
        task_id=name,
        events=sorted({*events, c_head, c_ok, *op_events(head, done)}),
        explanation=(
            f"The queue accepted the {finish} of task {name}, but {mine}: the {other} "
            f"returned the task (event {c_ok}) before that finish was invoked (event {head})."
            " A superseded owner's finish must be rejected."
        ),
    )


def resurrections(views: Views) -> CheckResult:
    """Claims of a task invoked after an accepted terminal finish of that task."""
    accepted = _accepted(views)
    terminal = accepted[accepted["terminal"].to_numpy()]
    size = len(views.task_names)
    finished = first_per_task(terminal["task"].to_numpy(), terminal["t_done"].to_numpy(), size)
    claims = views.claims
    late = claims[claims["t_inv"].to_numpy() > finished[claims["task"].to_numpy()]]
    first = terminal[terminal["task"].isin(late["task"])].sort_values("t_done")
    first = first.drop_duplicates("task").set_index("task")
    violations = []
    for claim in late.drop_duplicates("task").itertuples(index=False):
        task = to_int(claim.task)
        fin = first.loc[task]
        head, done = to_int(fin["head"]), to_int(fin["done"])
        name = views.task_name(task)
        finish = op_ref(views, _what(views, to_int(fin["f"])), head, done)
        again = op_ref(views, "claim", to_int(claim.head), to_int(claim.ok))
        violations.append(
            Violation(
                kind=Kind.RESURRECTION,
                task_id=name,
                events=[head, done, to_int(claim.head), to_int(claim.ok)],
                explanation=(
                    f"Task {name} was finished ({finish}, accepted at event {done}), yet a "
                    f"later {again} was handed the task again: a finished task came back."
                ),
            )
        )
    return CheckResult.of(Kind.RESURRECTION, violations)
