"""Lease inference: a deployment's effective lease (or age limit), read off its history.

A deployment whose claims carry no ``expires_at`` still has a lease: the time after
which it hands an unreleased claim's task to another worker (a janitor's age limit,
a visibility timeout). When the run was given none (no ``--lease-timeout``, none in
run.json), the history bounds it from two kinds of evidence:

- **honoured holds** (the lower bound): the longest an unreleased claim went
  unrenewed — since its claim's answer or its worker's last accepted heartbeat — and
  was still honoured: its owner's finish was accepted and nobody had claimed the task
  again meanwhile. The deployment waited at least that long once.
- **redeliveries** (the upper bound): claims of a task whose previous claim was still
  unreleased (no finish by its owner invoked in between). The time from the previous
  claim's invoke to the new claim's answer is how long the deployment honoured it at
  most; the soonest *plausible* one bounds the lease from above.

A janitor sweeping every P seconds honours a claim for anywhere between L and L + P, so
a correct deployment may redeliver one task sooner than it honoured another claim. The
inference assumes that jitter is less than half the lease: a redelivery after at least
half the lower bound is plausible; one sooner than that contradicts what the deployment
did for another claim by more than any jitter, and is a double claim (two janitors
re-queuing a task twice, a duplicate enqueue: the second claim comes milliseconds after
the first). The double-claim check therefore takes the smaller of the two bounds as the
lease (:attr:`LeaseInference.judged_s`); give ``--lease-timeout`` for an exact judgement.
Pure: numpy and pandas over :class:`~harness.checks.ops.Views`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.checks.ops import OK, Views


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaseInference:
    """Bounds, in seconds, on the lease a deployment applied, and the evidence counts."""

    lower_s: float | None  # longest honoured unrenewed hold; None when no hold was seen
    upper_s: float | None  # soonest plausible redelivery; None when none
    redeliveries: int  # plausible redeliveries (after at least half the lower bound)
    holds: int  # honoured holds behind the lower bound

    @property
    def judgeable(self) -> bool:
        """Whether a lease for the double-claim check could be inferred (a lower bound)."""
        return self.lower_s is not None

    @property
    def judged_s(self) -> float | None:
        """The lease the double-claim check uses: the smaller bound, to the millisecond
        below (the soonest plausible redelivery is not itself a double claim)."""
        if self.lower_s is None:
            return None
        smaller = self.lower_s if self.upper_s is None else min(self.lower_s, self.upper_s)
        return math.floor(smaller * 1000) / 1000

    def describe(self) -> str:
        """One line for the report, e.g. ``lease inferred: between 1.02 and 2.31 s ...``."""
        lower, upper = self.lower_s, self.upper_s
        if lower is None:
            if upper is None:
                return "lease not inferred: no honoured hold and no redelivery"
            return f"lease inferred: at most {upper:.2f} s from {self._from()}"
        if upper is None:
            return (
                f"lease inferred: at least {lower:.2f} s "
                f"(from {self.holds} honoured holds; no redelivery seen)"
            )
        if upper < lower:
            return (
                f"lease inferred: between {upper:.2f} and {lower:.2f} s from {self._from()} "
                f"(a redelivery after {upper:.2f} s, a claim honoured for {lower:.2f} s: "
                "the janitor's period)"
            )
        return f"lease inferred: between {lower:.2f} and {upper:.2f} s from {self._from()}"

    def metrics(self) -> dict[str, int | float]:
        """The inference as run metrics (bounds present only when known)."""
        out: dict[str, int | float] = {
            "lease_inferred_from_redeliveries": self.redeliveries,
            "lease_inferred_from_holds": self.holds,
        }
        for name, value in (
            ("lease_inferred_lower_s", self.lower_s),
            ("lease_inferred_upper_s", self.upper_s),
            ("lease_judged_s", self.judged_s),
        ):
            if value is not None:
                out[name] = round(value, 3)
        return out

    def _from(self) -> str:
        return f"{self.redeliveries} redeliver{'y' if self.redeliveries == 1 else 'ies'}"


def infer_lease(views: Views, redelivery_gaps_ns: np.ndarray) -> LeaseInference:
    """Bound the lease from the honoured holds and the given redelivery gaps.

    ``redelivery_gaps_ns``: for each claim of a task whose previous claim was
    unreleased, the time from that previous claim's invoke to this claim's answer.
    """
    holds = honoured_holds_ns(views)
    lower = float(holds.max()) / 1e9 if len(holds) else None
    gaps = np.asarray(redelivery_gaps_ns, dtype=np.float64) / 1e9
    if lower is not None:
        gaps = gaps[gaps >= lower / 2]  # plausible: within the assumed jitter
    upper = float(gaps.min()) if len(gaps) else None
    return LeaseInference(lower_s=lower, upper_s=upper, redeliveries=len(gaps), holds=len(holds))


def honoured_holds_ns(views: Views) -> np.ndarray:
    """Per claim whose owner's next finish was accepted before anyone claimed the task
    again: the time from its last renewal (claim answer, later accepted heartbeat of its
    worker) to that finish's invoke."""
    claims = views.claims.sort_values(["task", "t_ok"], kind="stable").reset_index(drop=True)
    if not len(claims):
        return np.empty(0)
    same_next = claims["task"].shift(-1).to_numpy() == claims["task"].to_numpy()
    next_ok = claims["t_ok"].shift(-1).to_numpy(dtype=np.float64)
    claims["next_ok"] = np.where(same_next, next_ok, np.inf)
    finished = _first_finish(views, claims)
    kept = finished[
        (finished["fin_outcome"].to_numpy() == OK)
        & (finished["t_fin"].to_numpy(dtype=np.float64) < finished["next_ok"].to_numpy())
    ]
    if not len(kept):
        return np.empty(0)
    renewed = np.maximum(kept["t_ok"].to_numpy(dtype=np.float64), _last_heartbeat(views, kept))
    holds: np.ndarray = kept["t_fin"].to_numpy(dtype=np.float64) - renewed
    return holds[holds > 0]


def _first_finish(views: Views, claims: pd.DataFrame) -> pd.DataFrame:
    """Each claim with its owner's first finish of that task invoked after the claim's answer."""
    fin = views.finishes[["task", "actor", "t_inv", "outcome"]].rename(
        columns={"t_inv": "t_fin", "outcome": "fin_outcome"}
    )
    left = claims[["task", "actor", "t_ok", "next_ok"]].astype({"t_ok": np.int64})
    merged = pd.merge_asof(
        left.sort_values("t_ok"),
        fin.astype({"t_fin": np.int64}).sort_values("t_fin"),
        left_on="t_ok",
        right_on="t_fin",
        by=["task", "actor"],
        direction="forward",
        allow_exact_matches=False,
    )
    return merged.dropna(subset=["t_fin"]).reset_index(drop=True)


def _last_heartbeat(views: Views, holds: pd.DataFrame) -> np.ndarray:
    """Per hold: the answer time of its worker's last accepted heartbeat before the finish."""
    names = list(views.frame["f"].cat.categories)
    none = np.full(len(holds), -np.inf)
    if "heartbeat" not in names:
        return none
    ops = views.ops
    beats = ops[(ops["f"].to_numpy() == names.index("heartbeat")) & (ops["outcome"] == OK)]
    if not len(beats):
        return none
    left = holds[["actor", "t_fin"]].astype({"t_fin": np.int64}).reset_index()
    merged = pd.merge_asof(
        left.sort_values("t_fin"),
        beats[["actor", "t_done"]].sort_values("t_done"),
        left_on="t_fin",
        right_on="t_done",
        by="actor",
        direction="backward",
    ).sort_values("index")
    last: np.ndarray = np.nan_to_num(merged["t_done"].to_numpy(dtype=np.float64), nan=-np.inf)
    return last
