"""Histories larger than memory: shards hash-partitioned by task into spill files.

Pass 1 (:func:`partition_history`) reads one shard at a time, in blocks, pairs its invokes with
their completions there (a process writes exactly one shard, DESIGN.md section 4, so
pairing within a shard is pairing within the run), gives each op the task of its
invoke or else of its completion, and appends the op's rows to the Parquet spill file
of ``crc32(task) % K`` (ops with no task at all, e.g. an empty claim or a nemesis
marker, go to partition 0). Both rows of an op land in one partition, with an
``op_id`` that keeps their pairing. Memory is bounded by a block plus the partitions'
write buffers in pass 1 and by one partition in pass 2, not by the history or a shard.

Pass 2 reads one partition at a time as an ordinary frame (:func:`partition_frame`).
Every check is per task, so each task is judged in the one partition that holds all
of its ops. A partition frame's rows are numbered locally; :func:`global_indices`
turns them into the in-memory frame's ``index`` (the rank of ``(time_ns, shard, line)``
in the whole history) by counting, over every partition, the rows ordered before.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from harness.history import _check_pairs, _codes, _pair, build_frame
from harness.history_shard import OPS, SCHEMA, TYPES, encoded, read_shard_blocks

_DICTIONARIES = ("process", "type", "f", "task_id", "worker_id")
SPILL_SCHEMA = pa.schema(
    [
        pa.field(name, pa.string() if name in _DICTIONARIES else t)
        for name, t in zip(SCHEMA.names, SCHEMA.types, strict=True)
    ]
    + [("value", pa.string()), ("shard", pa.int32()), ("line", pa.int64()), ("op_id", pa.int64())]
)


def partition_of(task_id: str, partitions: int) -> int:
    """The partition of a task (stable across processes and runs)."""
    return zlib.crc32(task_id.encode()) % partitions


@dataclass(frozen=True, slots=True, kw_only=True)
class Partitioned:
    """The spill files of a history and what pass 1 learnt about the whole of it."""

    paths: list[Path]
    shards: list[str]
    events: int
    first_ns: int
    last_ns: int
    submits: bool = False  # whether any event is of a submit
    claims: bool = False  # whether any claim returned a task
    processes: set[str] = field(default_factory=set)


BLOCK_BYTES = 64 << 20  # JSONL bytes read, parsed and spilled at a time
FLUSH_BYTES = 8 << 20  # a partition's rows are buffered up to this, then one row group


def partition_history(
    shards: list[Path],
    spill_dir: Path,
    partitions: int,
    on_bytes: Callable[[int], None],
    *,
    block_bytes: int = BLOCK_BYTES,
) -> Partitioned:
    """Pass 1: every shard's rows into ``partitions`` Parquet files under ``spill_dir``.

    Each shard is read in blocks of about ``block_bytes``; an invoke left open at a
    block's end (its process's last row there) is carried into the next block, so it
    pairs with its completion as if the shard had been read whole.
    """
    paths = [spill_dir / f"part-{n:04d}.parquet" for n in range(partitions)]
    spill = _Spill([pq.ParquetWriter(p, SPILL_SCHEMA) for p in paths])
    events, first, last, processes = 0, np.iinfo(np.int64).max, 0, set()
    submits = claims = False
    try:
        for number, path in enumerate(shards):
            carry: pa.Table | None = None
            for block in read_shard_blocks(path, number, block_bytes, on_bytes):
                if not block.num_rows:
                    continue
                events += block.num_rows
                time = block.column("time_ns").to_numpy()
                first, last = min(first, int(time.min())), max(last, int(time.max()))
                f = _codes(block, "f")
                submits = submits or bool((f == OPS.index("submit")).any())
                claims = claims or _granted_claims(block, f)
                processes.update(block.column("process").combine_chunks().dictionary.to_pylist())
                table = block if carry is None else _joined(carry, block)
                carry = _spill(table, (number, path.name), partitions, spill, final=False)
            if carry is not None:
                _spill(carry, (number, path.name), partitions, spill, final=True)
        spill.flush()
    finally:
        spill.close()
    return Partitioned(
        paths=paths,
        shards=[p.name for p in shards],
        events=events,
        first_ns=first if events else 0,
        last_ns=last,
        submits=submits,
        claims=claims,
        processes=processes,
    )


class _Spill:
    """The partitions' Parquet writers, each with a buffer (few, large row groups)."""

    def __init__(self, writers: list[pq.ParquetWriter]) -> None:
        self.writers = writers
        self.buffers: list[list[pa.Table]] = [[] for _ in writers]
        self.sizes = [0] * len(writers)

    def add(self, n: int, table: pa.Table) -> None:
        self.buffers[n].append(table)
        self.sizes[n] += table.nbytes
        if self.sizes[n] >= FLUSH_BYTES:
            self._flush(n)

    def _flush(self, n: int) -> None:
        if self.buffers[n]:
            self.writers[n].write_table(pa.concat_tables(self.buffers[n]))
        self.buffers[n], self.sizes[n] = [], 0

    def flush(self) -> None:
        for n in range(len(self.writers)):
            self._flush(n)

    def close(self) -> None:
        for writer in self.writers:
            writer.close()


def _joined(carry: pa.Table, block: pa.Table) -> pa.Table:
    """The carried rows, then the block's: one dictionary per column (no copy of the rows)."""
    return pa.concat_tables([carry, block]).unify_dictionaries()


def _granted_claims(table: pa.Table, f: np.ndarray) -> bool:
    ok = _codes(table, "type") == TYPES.index("ok")
    task = table.column("task_id").combine_chunks().is_valid().to_numpy(zero_copy_only=False)
    return bool((ok & task & (f == OPS.index("claim"))).any())


def _spill(
    table: pa.Table, shard: tuple[int, str], partitions: int, spill: _Spill, *, final: bool
) -> pa.Table | None:
    """Spill ``table``'s ops by task partition; unless ``final``, return (not spill) the
    invokes that end a process's rows here: their completion may be in the next block."""
    number, name = shard
    is_invoke = _codes(table, "type") == TYPES.index("invoke")
    process = _codes(table, "process")
    invoke_of, completion_of = _pair(process, is_invoke)
    _check_pairs(_named(table, name), invoke_of)
    keep = np.ones(table.num_rows, dtype=bool)
    carry = None
    if not final:
        by_process = np.argsort(process, kind="stable")
        ends = np.append(process[by_process][1:] != process[by_process][:-1], True)
        last_rows = by_process[ends]
        open_ = np.sort(last_rows[is_invoke[last_rows]])
        if len(open_):
            keep[open_] = False
            carry = table.take(pa.array(open_))
    head = np.where(invoke_of >= 0, invoke_of, np.arange(table.num_rows))
    task = _task_partitions(table, partitions)
    op_task = task[head]
    lone_head = op_task < 0
    done = completion_of[head]
    op_task[lone_head & (done >= 0)] = task[done[lone_head & (done >= 0)]]
    op_task[op_task < 0] = 0
    # an op's id: its shard and its invoke's (else its own) line, unique across blocks
    op_id = (np.int64(number) << 40) | table.column("line").to_numpy()[head]
    rows = np.flatnonzero(keep)
    rows = rows[np.argsort(op_task[rows], kind="stable")]
    bounds = np.searchsorted(op_task[rows], np.arange(partitions + 1))
    plain = _plain(table).append_column("op_id", pa.array(op_id)).take(pa.array(rows))
    for n in range(partitions):
        if bounds[n + 1] > bounds[n]:
            spill.add(n, plain.slice(bounds[n], bounds[n + 1] - bounds[n]))
    return carry


def _named(table: pa.Table, name: str) -> pa.Table:
    """``_check_pairs`` reads ``shard`` as a name for its message."""
    zeros = pa.array(np.zeros(table.num_rows, dtype=np.int32))
    column = pa.DictionaryArray.from_arrays(zeros, pa.array([name]))
    return table.set_column(table.schema.get_field_index("shard"), "shard", column)


def _task_partitions(table: pa.Table, partitions: int) -> np.ndarray:
    """Each row's task's partition, -1 for a row with no task."""
    column = table.column("task_id").combine_chunks()
    names = column.dictionary.to_pylist()
    of_name = np.asarray([partition_of(n, partitions) for n in names] + [-1], dtype=np.int64)
    codes = column.indices.fill_null(len(names)).to_numpy()
    out: np.ndarray = of_name[codes]
    return out


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns as strings: each shard encoded its own, Parquet wants one schema."""
    for name in _DICTIONARIES:
        column = table.column(name).cast(pa.string())
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


def partition_frame(path: Path, shards: list[str]) -> pd.DataFrame | None:
    """Pass 2: one partition as an ordinary history frame (None when it is empty)."""
    table = pq.read_table(path)
    if table.num_rows == 0:
        return None
    op_ids = table.column("op_id").to_numpy()
    table = encoded(table.drop_columns(["op_id"]))
    return build_frame([table], shards, op_ids=op_ids)


def global_indices(paths: list[Path], keys: pd.DataFrame) -> np.ndarray:
    """The whole-history ``index`` of rows named by ``(time_ns, shard, line)`` in ``keys``:
    how many rows of every partition sort before each (time, then shard, then line)."""
    time = keys["time_ns"].to_numpy()
    within = _within_time(keys["shard"].to_numpy(), keys["line"].to_numpy())
    ranks = np.zeros(len(keys), dtype=np.int64)
    for path in paths:
        part = pq.read_table(path, columns=["time_ns", "shard", "line"])
        t = part.column("time_ns").to_numpy()
        order = np.lexsort((part.column("line").to_numpy(), part.column("shard").to_numpy(), t))
        t = t[order]
        low, high = np.searchsorted(t, time, "left"), np.searchsorted(t, time, "right")
        ranks += low
        tied = np.flatnonzero(high > low)
        if len(tied):  # rows at the same time: those of an earlier shard, or line, first
            s = part.column("shard").to_numpy()[order]
            ln = part.column("line").to_numpy()[order]
            order_within = _within_time(s, ln)
            for q in tied.tolist():
                run = order_within[low[q] : high[q]]  # sorted: the rows were lexsorted
                ranks[q] += int(np.searchsorted(run, within[q], "left"))
    return ranks


def _within_time(shard: np.ndarray, line: np.ndarray) -> np.ndarray:
    """(shard, line) as one sortable integer (lines are below 2**40)."""
    out: np.ndarray = (shard.astype(np.int64) << 40) | line.astype(np.int64)
    return out
