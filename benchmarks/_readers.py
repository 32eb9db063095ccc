"""Baseline NDJSON readers for the analyzer benchmark: each reads every shard to a table.

Whatever is installed of pyarrow (always: a core dependency), polars and DuckDB is
measured on the same files in the same run; the fastest is the analyzer's baseline.
Each reads all fields into columns and does nothing else (no checks, no frame).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _pyarrow(shards: list[Path]) -> int:
    import pyarrow as pa
    import pyarrow.json as pajson

    rows = 0
    for path in shards:
        rows += pajson.read_json(pa.BufferReader(path.read_bytes())).num_rows
    return rows


def _polars(shards: list[Path]) -> int:
    import polars as pl

    frame = pl.scan_ndjson([str(p) for p in shards], infer_schema_length=10_000).collect()
    return int(frame.height)


def _duckdb(shards: list[Path]) -> int:
    import duckdb

    files = [str(p) for p in shards]
    listed = ", ".join(f"'{f}'" for f in files)
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        query = f"SELECT * FROM read_json([{listed}], format = 'newline_delimited')"
        table = con.sql(query).to_arrow_table()
    return int(table.num_rows)


READERS: dict[str, Callable[[list[Path]], int]] = {
    "pyarrow.json.read_json": _pyarrow,
    "polars.scan_ndjson().collect()": _polars,
    "duckdb read_json": _duckdb,
}


def measure_reader(name: str, run_dir: str) -> dict[str, Any]:
    """One reader over a run folder's shards (called in a fresh process)."""
    shards = sorted((Path(run_dir) / "history").glob("*.jsonl"))
    try:
        start, cpu = time.perf_counter(), time.process_time()
        rows = READERS[name](shards)
    except ImportError:
        return {"reader": name, "available": False}
    return {
        "reader": name,
        "available": True,
        "rows": rows,
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
    }
