"""Op-level views of the history frame, built once and shared by every check.

An *op* is an invoke with its completion (or a lone completion such as a ``crash``
marker). Columns are small integers (category codes, nanoseconds), so the checks can
group and merge millions of ops quickly. Outcome codes: ok 0, fail 1, info 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd

OK, FAIL, INFO = 0, 1, 2
NEVER = np.iinfo(np.int64).max  # the completion time of an op that never completed


@dataclass(frozen=True, slots=True, kw_only=True)
class Views:
    """The frame plus its ops split by kind (pandas frames of integer columns)."""

    frame: pd.DataFrame
    ops: pd.DataFrame  # every op, in invoke (time) order: head, done, f, outcome, task, ...
    claims: pd.DataFrame  # claims that returned a task: ok = done, t_ok = t_done
    finishes: pd.DataFrame  # complete/fail ops, with `terminal`
    submits: pd.DataFrame
    rescues: pd.DataFrame  # rescue ops that returned a task

    @property
    def task_names(self) -> pd.Index:
        return self.frame["task_id"].cat.categories

    def task_name(self, code: int) -> str:
        return str(self.task_names[code])

    def who(self, index: int) -> str:
        """The actor of the event at ``index``: its worker id, else its process."""
        worker = self.frame["worker_id"].array
        code = int(worker.codes[index])
        if code >= 0:
            return str(worker.categories[code])
        return str(self.frame["process"].iat[index])

    def code_of(self, task_id: str) -> int:
        names = self.task_names
        return int(np.flatnonzero(names == task_id)[0]) if task_id in names else -1


def to_int(value: Any) -> int:
    """``int()`` of a pandas/numpy scalar (whose stub types are too wide for mypy)."""
    return int(value)


def build_views(frame: pd.DataFrame) -> Views:
    ops = _ops(frame)
    f = ops["f"].to_numpy()
    claim, complete, fail, submit, rescue = (_op_code(frame, n) for n in _NAMES)
    got_task = (ops["outcome"].to_numpy() == OK) & (ops["task"].to_numpy() >= 0)
    claims = ops[(f == claim) & got_task].rename(columns={"done": "ok", "t_done": "t_ok"})
    finishes = ops[(f == complete) | (f == fail)].copy()
    finishes["terminal"] = (finishes["f"].to_numpy() == complete) | ~_retried(frame, finishes)
    return Views(
        frame=frame,
        ops=ops,
        claims=claims.reset_index(drop=True),
        finishes=finishes.reset_index(drop=True),
        submits=ops[f == submit].reset_index(drop=True),
        rescues=ops[(f == rescue) & got_task].reset_index(drop=True),
    )


_NAMES = ("claim", "complete", "fail", "submit", "rescue")


def _op_code(frame: pd.DataFrame, name: str) -> int:
    return list(frame["f"].cat.categories).index(name)


def _ops(frame: pd.DataFrame) -> pd.DataFrame:
    index = frame["index"].to_numpy()
    invoke = frame["invoke_index"].to_numpy()
    heads = np.flatnonzero((invoke == index) | (invoke < 0))
    done = frame["completion_index"].to_numpy()[heads]
    has_done = done >= 0
    task_codes = frame["task_id"].cat.codes.to_numpy()
    task = task_codes[heads].astype(np.int64)
    from_done = (task < 0) & has_done
    task[from_done] = task_codes[done[from_done]]
    time = frame["time_ns"].to_numpy()
    t_done = np.full(len(heads), NEVER, dtype=np.int64)
    t_done[has_done] = time[done[has_done]]
    return pd.DataFrame(
        {
            "head": heads,
            "done": done,
            "f": frame["f"].cat.codes.to_numpy()[heads],
            "outcome": frame["outcome"].cat.codes.to_numpy()[heads],
            "task": task,
            "actor": _actors(frame, heads),
            "process": frame["process"].cat.codes.to_numpy()[heads],
            "t_inv": time[heads],
            "t_done": t_done,
            "expires_ns": _expires_ns(frame, done),
        }
    )


def _actors(frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """The owner key of some events: the worker id's code, else the process's (offset)."""
    worker = frame["worker_id"].cat.codes.to_numpy()[rows].astype(np.int64)
    process = frame["process"].cat.codes.to_numpy()[rows].astype(np.int64)
    offset = len(frame["worker_id"].cat.categories)
    actors: np.ndarray = np.where(worker >= 0, worker, process + offset)
    return actors


def first_per_task(task: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """A dense array over task codes: the minimum of ``values`` per task, +inf where none."""
    out = np.full(size, np.inf)
    keep = task >= 0
    np.minimum.at(out, task[keep], values[keep].astype(np.float64))
    return out


def distinct(codes: np.ndarray, size: int) -> pd.Index:
    """The distinct non-negative codes below ``size``, sorted (O(n), unlike np.unique)."""
    codes = codes[codes >= 0]
    return pd.Index(np.flatnonzero(np.bincount(codes, minlength=size)))


def _expires_ns(frame: pd.DataFrame, done: np.ndarray) -> np.ndarray:
    """The lease deadline an op's completion reported, in ns (NaN when none)."""
    expires = frame["expires_at"].to_numpy()
    out = np.full(len(done), np.nan)
    has = done >= 0
    out[has] = expires[done[has]] * 1e9
    return out


def _retried(frame: pd.DataFrame, finishes: pd.DataFrame) -> np.ndarray:
    """Which fail ops asked for a retry (task back to pending) rather than terminal failure.

    Read from the invoke's ``value`` (``{"retry": true}``) or the answer's
    (``{"status": "pending"}``); without either, a fail is taken as terminal.
    """
    values = frame["value"]
    has_value = values.notna().to_numpy()
    heads, dones = finishes["head"].to_numpy(), finishes["done"].to_numpy()
    done_has = np.zeros(len(dones), dtype=bool)
    done_has[dones >= 0] = has_value[dones[dones >= 0]]
    out = np.zeros(len(finishes), dtype=bool)
    for position in np.flatnonzero(has_value[heads] | done_has):
        for row in (heads[position], dones[position]):
            if row >= 0 and has_value[row]:
                out[position] |= _says_retry(orjson.loads(str(values.iat[row])))
    return out


def _says_retry(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    return value.get("retry") is True or value.get("status") == "pending"
