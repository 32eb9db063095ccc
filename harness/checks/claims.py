"""Claim checks: double_claim, and the redelivered metric.

A claim's lease runs from its invoke to its deadline: the ``expires_at`` the API
returned, else invoke time plus the lease timeout (the lease starts no earlier than
the invoke, so that deadline is never later than the real one). Two consecutive
claims of one task are a *double claim* when the second returned the task (its ok)
before the first's deadline and the first owner had not finished it: no finish
(ok or info: an info one may have released it) invoked between the two claims.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.checks.explain import op_ref
from harness.checks.ops import FAIL, Views
from harness.checks.verdicts import CheckResult, Kind, Violation


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimPairs:
    """Consecutive claims (first, second) of the same task, with the first's deadline."""

    pairs: pd.DataFrame
    decidable: np.ndarray  # the first claim's deadline is known


def claim_pairs(views: Views, lease_timeout: float | None) -> ClaimPairs:
    claims = views.claims.sort_values(["task", "t_ok"], kind="stable")
    first, second = claims.iloc[:-1], claims.iloc[1:]
    same = first["task"].to_numpy() == second["task"].to_numpy()
    a = first[same].reset_index(drop=True)
    b = second[same].reset_index(drop=True)
    deadline = a["expires_ns"].to_numpy().copy()
    if lease_timeout is not None:
        missing = np.isnan(deadline)
        deadline[missing] = a["t_inv"].to_numpy()[missing] + lease_timeout * 1e9
    pairs = pd.DataFrame(
        {
            "task": a["task"],
            "actor1": a["actor"],
            "head1": a["head"],
            "ok1": a["ok"],
            "t_inv1": a["t_inv"],
            "head2": b["head"],
            "ok2": b["ok"],
            "t_inv2": b["t_inv"],
            "t_ok2": b["t_ok"],
            "deadline": deadline,
        }
    )
    return ClaimPairs(pairs=pairs, decidable=~np.isnan(deadline))


def double_claims(views: Views, claim_pairs: ClaimPairs) -> CheckResult:
    pairs = claim_pairs.pairs
    if not len(pairs):
        return CheckResult.of(Kind.DOUBLE_CLAIM, [], note="no task was claimed twice")
    overlap = claim_pairs.decidable & (pairs["t_ok2"].to_numpy() < pairs["deadline"].to_numpy())
    candidates = pairs[overlap]
    released = _released(views, candidates)
    proven = candidates[~released]
    violations = [_violation(views, row) for row in proven.drop_duplicates("task").itertuples()]
    undecided = int((~claim_pairs.decidable).sum())
    if undecided and not violations:
        return CheckResult.unknown(
            Kind.DOUBLE_CLAIM,
            f"{undecided} repeated claims without a lease deadline (no expires_at in the "
            "history, no --lease-timeout, no lease_timeout in run.json)",
        )
    note = f"{undecided} repeated claims could not be judged (no lease)" if undecided else ""
    return CheckResult.of(Kind.DOUBLE_CLAIM, violations, note=note)


def _released(views: Views, pairs: pd.DataFrame) -> np.ndarray:
    """Whether the first owner invoked a finish (ok or info) between the two claims."""
    finishes = views.finishes
    finishes = finishes[finishes["outcome"].to_numpy() != FAIL][["task", "actor", "t_inv"]]
    left = pairs.reset_index(drop=True)
    left["order"] = np.arange(len(left))
    merged = pd.merge_asof(
        left.sort_values("t_ok2"),
        finishes.rename(columns={"actor": "actor1", "t_inv": "t_fin"}).sort_values("t_fin"),
        left_on="t_ok2",
        right_on="t_fin",
        by=["task", "actor1"],
        allow_exact_matches=False,
    ).sort_values("order")
    t_fin = merged["t_fin"].to_numpy(dtype=np.float64)
    return np.asarray(t_fin > merged["t_inv1"].to_numpy(dtype=np.float64))


def _violation(views: Views, row: object) -> Violation:
    task = views.task_name(int(row.task))  # type: ignore[attr-defined]
    head1, ok1 = int(row.head1), int(row.ok1)  # type: ignore[attr-defined]
    head2, ok2 = int(row.head2), int(row.ok2)  # type: ignore[attr-defined]
    gap_ms = (float(row.deadline) - float(row.t_ok2)) / 1e6  # type: ignore[attr-defined]
    first, second = op_ref(views, "claim", head1, ok1), op_ref(views, "claim", head2, ok2)
    return Violation(
        kind=Kind.DOUBLE_CLAIM,
        task_id=task,
        events=[head1, ok1, head2, ok2],
        explanation=(
            f"Task {task} was handed out twice: the {first} still held it, unfinished and "
            f"its lease {gap_ms:.0f} ms from expiry, when the {second} returned it too."
        ),
    )


def redelivered(claim_pairs: ClaimPairs) -> int:
    """Tasks claimed again after the previous claim's lease had surely expired."""
    pairs = claim_pairs.pairs
    expired = claim_pairs.decidable & (pairs["t_inv2"].to_numpy() > pairs["deadline"].to_numpy())
    return int(pairs["task"][expired].nunique())
