"""The history loader: shards of ``RUN_DIR/history/*.jsonl`` into ONE DataFrame.

Owns reading, validating, merging and pairing events, and the frame's fixed columns
and dtypes (:data:`DTYPES`). The frame is cached as Parquet in the run folder
(:mod:`harness.history_cache`), so a second analysis skips parsing.

Reading one shard, what input is accepted and what is rejected (with ``file:line``)
is :mod:`harness.history_shard`'s; this module merges the shards' tables.

Pairing (Jepsen): within one process, an ``invoke`` is completed by the next event of
that process if that is ``ok``/``fail``/``info``. An invoke never completed counts as
``info``; a completion with no invoke (e.g. a ``crash`` or ``nemesis`` marker) stands
alone. Pure: no redis, locust or fastapi.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from harness.errors import HistoryError, MalformedEventError
from harness.events import FIELDS
from harness.history_cache import (
    CACHE_NAME,
    cache_key,
    read_cache,
    write_cache_in_background,
)
from harness.history_shard import OPS, TYPES, check_event, read_shard, table_from_rows

logger = logging.getLogger(__name__)

OUTCOMES = ("ok", "fail", "info")

# The frame's columns, in order, with their dtypes (the contract FIELDS, then ours).
DTYPES: dict[str, Any] = {
    "index": "int64",
    "process": "category",
    "type": pd.CategoricalDtype(list(TYPES)),
    "f": pd.CategoricalDtype(list(OPS)),
    "time_ns": "int64",
    "task_id": "category",
    "token": pd.StringDtype("pyarrow"),
    "worker_id": "category",
    "expires_at": "float64",
    "status": "Int32",
    "error": pd.StringDtype("pyarrow"),
    "value": pd.StringDtype("pyarrow"),  # JSON text of the event's `value`
    "request_id": pd.StringDtype("pyarrow"),
    "shard": "category",  # which file the event came from, and its line: for messages
    "line": "int64",
    "invoke_index": "int64",  # the op's invoke (itself for an invoke); -1: none
    "completion_index": "int64",  # the op's completion (itself for one); -1: none
    "outcome": pd.CategoricalDtype(list(OUTCOMES)),  # the op's result; never-completed: info
    "latency_ns": "int64",  # completion time minus invoke time; -1: not a paired op
}
COLUMNS = tuple(DTYPES)
assert set(FIELDS) <= set(COLUMNS), "every contract field is a frame column"


def load_history(
    run_dir: Path, *, use_cache: bool = True, write_cache: bool | None = None
) -> pd.DataFrame:
    """The run's history frame; raises :class:`HistoryError`.

    ``use_cache``: read the Parquet cache when it is current, and (unless
    ``write_cache`` is False) write it after parsing the shards.
    """
    shards = shard_paths(run_dir)
    key = cache_key(shards)
    cache = run_dir / CACHE_NAME
    if use_cache and cache.exists():
        frame = read_cache(cache, key)
        if frame is not None:
            return frame
    with ThreadPoolExecutor(max_workers=2) as pool:
        tables = list(pool.map(read_shard, shards, range(len(shards))))
    frame = build_frame(tables, [p.name for p in shards])
    if use_cache if write_cache is None else write_cache:
        write_cache_in_background(cache, key, frame)
    return frame


def shard_paths(run_dir: Path) -> list[Path]:
    history = run_dir / "history"
    if not history.is_dir():
        raise HistoryError(f"{run_dir}: no history/ folder (expected history/*.jsonl)")
    shards = sorted(history.glob("*.jsonl"))
    if not shards:
        raise HistoryError(f"{history}: no *.jsonl shards")
    return shards


def frame_from_events(events: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """The frame of an in-memory history (events in order, e.g. from the explorer)."""
    rows = [check_event(event, "<memory>", n) for n, event in enumerate(events, start=1)]
    return build_frame([table_from_rows(rows, 0, list(range(1, len(rows) + 1)))], ["<memory>"])


# --- one frame from all shards ----------------------------------------------------------


def build_frame(
    tables: list[pa.Table], shards: list[str], *, op_ids: np.ndarray | None = None
) -> pd.DataFrame:
    """Merge (stable by time_ns), pair invokes with completions, fix dtypes.

    ``tables`` are the shards in order (``shard`` numbers ``shards``); the list is
    emptied, so each intermediate copy can be freed as soon as it is replaced.
    Pairing walks each process's events in its shard's order (what it wrote, in the
    order it wrote it), so a backdated invoke still pairs with its own completion.
    ``op_ids`` (one per row, input order) gives the pairing instead: rows sharing an id
    are one op, invoke first (how a streamed partition keeps its shards' pairing).
    """
    table = pa.concat_tables(tables)
    tables.clear()
    if table.num_rows == 0:
        raise HistoryError("the history has no events")
    table = _encoded(table, shards)
    is_invoke = _codes(table, "type") == TYPES.index("invoke")
    keys = _codes(table, "process") if op_ids is None else op_ids
    invoke_index, completion_index = _pair(keys, is_invoke)
    _check_pairs(table, invoke_index)
    order = np.argsort(table.column("time_ns").to_numpy(), kind="stable")
    if not np.array_equal(order, np.arange(len(order))):
        position = np.empty_like(order)
        position[order] = np.arange(len(order))
        table = table.take(pa.array(order))
        invoke_index = _remap(invoke_index, position)[order]
        completion_index = _remap(completion_index, position)[order]
    frame = _to_pandas(table)
    del table
    frame.insert(0, "index", np.arange(len(order), dtype=np.int64))
    frame["invoke_index"] = invoke_index
    frame["completion_index"] = completion_index
    _add_outcome(frame)
    return frame[list(COLUMNS)]


def _remap(pointers: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Row pointers in input order -> the same rows' positions in merged order."""
    out = np.full(len(pointers), -1, dtype=np.int64)
    valid = pointers >= 0
    out[valid] = position[pointers[valid]]
    return out


def _encoded(table: pa.Table, shards: list[str]) -> pa.Table:
    """One dictionary per column across shards (each shard encoded its own), and shards named."""
    table = table.unify_dictionaries()
    for name in ("process", "task_id", "worker_id", "shard", "type", "f"):
        column = table.column(name).combine_chunks()
        if name == "shard":
            column = pa.DictionaryArray.from_arrays(column, pa.array(shards))
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


def _codes(table: pa.Table, name: str) -> np.ndarray:
    column = table.column(name)
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    codes: np.ndarray = array.indices.to_numpy(zero_copy_only=False)
    return codes


def _pair(codes: np.ndarray, is_invoke: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (input order) of each row's invoke and completion, -1 for none."""
    n = len(codes)
    by_process = np.argsort(codes, kind="stable")  # each process's events in shard order
    same_next = codes[by_process][1:] == codes[by_process][:-1]
    inv_sorted = is_invoke[by_process]
    paired = same_next & inv_sorted[:-1] & ~inv_sorted[1:]
    first, second = by_process[:-1][paired], by_process[1:][paired]
    invoke_of = np.full(n, -1, dtype=np.int64)
    completion_of = np.full(n, -1, dtype=np.int64)
    invoke_of[is_invoke] = np.flatnonzero(is_invoke)
    completion_of[~is_invoke] = np.flatnonzero(~is_invoke)
    invoke_of[second] = first
    completion_of[first] = second
    return invoke_of, completion_of


def _check_pairs(table: pa.Table, invoke_of: np.ndarray) -> None:
    """A completion must be of the same op as the invoke it completes."""
    f = _codes(table, "f")
    rows = np.flatnonzero(invoke_of >= 0)
    bad = rows[f[rows] != f[invoke_of[rows]]]
    if len(bad):
        row = int(bad[0])
        shard, line = str(table.column("shard")[row]), table.column("line")[row].as_py()
        done, invoked = OPS[f[row]], OPS[f[invoke_of[row]]]
        raise MalformedEventError(
            shard, line, f"a {done!r} completion follows an invoke of {invoked!r} by its process"
        )


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    mapper = {pa.string(): pd.StringDtype("pyarrow")}.get
    frame: pd.DataFrame = table.to_pandas(types_mapper=mapper, split_blocks=True)
    for name in ("type", "f"):  # already the fixed vocabulary, unless a cache says otherwise
        if list(frame[name].cat.categories) != list(DTYPES[name].categories):
            frame[name] = frame[name].cat.set_categories(DTYPES[name].categories)
    frame["status"] = frame["status"].astype("Int32")
    return frame


def _add_outcome(frame: pd.DataFrame) -> None:
    codes = frame["type"].cat.codes.to_numpy()  # invoke 0, ok 1, fail 2, info 3
    completion = frame["completion_index"].to_numpy()
    done = completion >= 0
    outcome_codes = np.full(len(frame), 2, dtype=np.int8)  # info: never completed
    outcome_codes[done] = codes[completion[done]] - 1
    frame["outcome"] = pd.Categorical.from_codes(outcome_codes, dtype=DTYPES["outcome"])
    time = frame["time_ns"].to_numpy()
    invoke = frame["invoke_index"].to_numpy()
    paired = done & (invoke >= 0)
    latency = np.full(len(frame), -1, dtype=np.int64)
    latency[paired] = time[completion[paired]] - time[invoke[paired]]
    frame["latency_ns"] = latency
