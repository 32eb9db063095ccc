"""Windows hit: how often the run actually put an operation inside a race window.

A pass means little if the workload never tried the interleavings where the races
live. These counts say, from the history alone (whoever aimed, or by luck), how many
operations landed in each window of the race catalogue:

========================== ===========================================================
window                     an operation that ...
========================== ===========================================================
stale_while_held           completes or fails a task after another worker's claim of it
                           superseded the caller's, while that worker still holds it (F5)
lease_boundary             completes within ``BOUNDARY_S`` of its own lease's deadline
heartbeat_after_completion heartbeats after the worker's accepted completion, holding
                           nothing newer (F11)
repeated_completion        completes a task again for the same claim after an earlier
                           attempt (a retry after a lost response)
fail_after_other_completion fails a task after another worker's accepted completion (F8)
========================== ===========================================================

Pure and vectorised (pandas ``merge_asof``) over :class:`~harness.checks.ops.Views`.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from harness.checks.ops import OK, Views

BOUNDARY_S = 0.1  # how close to its lease's deadline a completion is "racing" it


class Window(StrEnum):
    STALE_WHILE_HELD = "stale_while_held"
    LEASE_BOUNDARY = "lease_boundary"
    HEARTBEAT_AFTER_COMPLETION = "heartbeat_after_completion"
    REPEATED_COMPLETION = "repeated_completion"
    FAIL_AFTER_OTHER_COMPLETION = "fail_after_other_completion"


def windows_hit(
    views: Views, lease_timeout: float | None, *, invoked: tuple[int, int] | None = None
) -> dict[str, int]:
    """Per window, the number of operations that landed in it; with ``invoked=(a, b)``
    only operations invoked in ``(a, b]`` (ns) count (a live view counting as it goes)."""
    names = list(views.frame["f"].cat.categories)
    code = {name: names.index(name) for name in ("complete", "fail", "heartbeat") if name in names}
    finishes = _with_own_claim(views)
    mine = _in_range(finishes["t_inv"].to_numpy(), invoked)
    completes = mine & (finishes["f"].to_numpy() == code.get("complete", -1))
    return {
        Window.STALE_WHILE_HELD: int((_stale_while_held(views, finishes) & mine).sum()),
        Window.LEASE_BOUNDARY: int((_near_deadline(finishes, lease_timeout) & completes).sum()),
        Window.HEARTBEAT_AFTER_COMPLETION: _heartbeats_after(views, code, invoked),
        Window.REPEATED_COMPLETION: int((_repeated(views, finishes) & completes).sum()),
        Window.FAIL_AFTER_OTHER_COMPLETION: _fails_after_other(views, finishes[mine], code),
    }


def _in_range(t_inv: np.ndarray, invoked: tuple[int, int] | None) -> np.ndarray:
    if invoked is None:
        return np.ones(len(t_inv), dtype=bool)
    since, until = invoked
    return np.asarray((t_inv > since) & (t_inv <= until))


def _asof(
    left: pd.DataFrame, right: pd.DataFrame, on: tuple[str, str], by: list[str], **kw: object
) -> pd.DataFrame:
    """``merge_asof`` keeping ``left``'s row order (it needs both sorted by time)."""
    ordered = left.reset_index(drop=True).assign(_row=lambda d: np.arange(len(d)))
    merged = pd.merge_asof(
        ordered.sort_values(on[0], kind="stable"),
        right.sort_values(on[1], kind="stable"),
        left_on=on[0],
        right_on=on[1],
        by=by,
        **kw,  # type: ignore[arg-type]
    )
    return merged.sort_values("_row").reset_index(drop=True)


def _with_own_claim(views: Views) -> pd.DataFrame:
    """Finishes with their own claim (the caller's latest claim of the task before it)."""
    fin = views.finishes[["task", "actor", "f", "outcome", "t_inv", "t_done"]]
    own = views.claims[["task", "actor", "t_ok", "t_inv", "expires_ns"]].rename(
        columns={"t_ok": "own_ok", "t_inv": "own_inv"}
    )
    return _asof(fin, own, ("t_inv", "own_ok"), ["task", "actor"], allow_exact_matches=False)


def _stale_while_held(views: Views, finishes: pd.DataFrame) -> np.ndarray:
    latest = views.claims[["task", "actor", "t_ok"]].rename(
        columns={"actor": "holder", "t_ok": "held_since"}
    )
    merged = _asof(finishes, latest, ("t_inv", "held_since"), ["task"], allow_exact_matches=False)
    superseded = (merged["holder"].to_numpy() != merged["actor"].to_numpy()) & (
        merged["held_since"].to_numpy(dtype=np.float64)
        > merged["own_ok"].to_numpy(dtype=np.float64)
    )
    # the holder had not finished yet: its first finish after its claim comes later
    holder_fin = views.finishes[["task", "actor", "t_inv"]].rename(
        columns={"actor": "holder", "t_inv": "holder_fin"}
    )
    probe = merged[["task", "holder", "held_since"]].copy()
    probe["holder"] = probe["holder"].fillna(-1).astype(np.int64)
    probe["held_since"] = probe["held_since"].fillna(0).astype(np.int64)
    after = _asof(
        probe, holder_fin, ("held_since", "holder_fin"), ["task", "holder"], direction="forward"
    )
    held = ~(after["holder_fin"].to_numpy(dtype=np.float64) < merged["t_inv"].to_numpy())
    return np.asarray(superseded & held)


def _near_deadline(finishes: pd.DataFrame, lease_timeout: float | None) -> np.ndarray:
    deadline = finishes["expires_ns"].to_numpy(dtype=np.float64).copy()
    if lease_timeout is not None:
        missing = np.isnan(deadline)
        own_inv = finishes["own_inv"].to_numpy(dtype=np.float64)
        deadline[missing] = own_inv[missing] + lease_timeout * 1e9
    distance = np.abs(finishes["t_inv"].to_numpy(dtype=np.float64) - deadline)
    return np.asarray(distance <= BOUNDARY_S * 1e9)  # NaN compares False: no known deadline


def _repeated(views: Views, finishes: pd.DataFrame) -> np.ndarray:
    """A finish whose caller already invoked a finish of the task since its own claim."""
    earlier = views.finishes[["task", "actor", "t_inv"]].rename(columns={"t_inv": "prev_inv"})
    merged = _asof(
        finishes, earlier, ("t_inv", "prev_inv"), ["task", "actor"], allow_exact_matches=False
    )
    prev = merged["prev_inv"].to_numpy(dtype=np.float64)
    return np.asarray(prev > finishes["own_ok"].to_numpy(dtype=np.float64))


def _accepted_completions(views: Views, code: dict[str, int]) -> pd.DataFrame:
    fin = views.finishes
    accepted = (fin["f"].to_numpy() == code.get("complete", -1)) & (fin["outcome"].to_numpy() == OK)
    done: pd.DataFrame = fin.loc[accepted, ["task", "actor", "t_done"]]
    return done


def _fails_after_other(views: Views, finishes: pd.DataFrame, code: dict[str, int]) -> int:
    fails = finishes[finishes["f"].to_numpy() == code.get("fail", -1)]
    done = _accepted_completions(views, code).rename(columns={"actor": "completer"})
    if not len(fails) or not len(done):
        return 0
    merged = _asof(fails, done, ("t_inv", "t_done"), ["task"], allow_exact_matches=False)
    other = merged["completer"].to_numpy(dtype=np.float64) != merged["actor"].to_numpy()
    return int((other & merged["completer"].notna().to_numpy()).sum())


def _heartbeats_after(views: Views, code: dict[str, int], invoked: tuple[int, int] | None) -> int:
    if "heartbeat" not in code:
        return 0
    ops = views.ops
    chosen = (ops["f"].to_numpy() == code["heartbeat"]) & _in_range(
        ops["t_inv"].to_numpy(), invoked
    )
    beats = ops[chosen][["actor", "t_inv"]]
    done = _accepted_completions(views, code)[["actor", "t_done"]]
    if not len(beats) or not len(done):
        return 0
    merged = _asof(beats, done, ("t_inv", "t_done"), ["actor"], allow_exact_matches=False)
    claims = views.claims[["actor", "t_ok"]]
    merged = _asof(merged, claims, ("t_inv", "t_ok"), ["actor"], allow_exact_matches=False)
    completed = merged["t_done"].to_numpy(dtype=np.float64)
    claimed = merged["t_ok"].to_numpy(dtype=np.float64)
    return int((completed > np.nan_to_num(claimed, nan=-np.inf)).sum())
