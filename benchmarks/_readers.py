"""Baseline NDJSON readers for the analyzer benchmark: each reads every shard to a table.

Whatever is installed of pyarrow (always: a core dependency), polars and DuckDB is
measured on the same files in the same run; the fastest is the analyzer's baseline.
Each reads all fields into columns and does nothing else (no checks, no frame): once
inferring the schema, once given the history's own columns (:data:`COLUMNS`; no
inference pass, so faster).

Each reader is also *probed* for strictness (:func:`probe_strictness`): whether it
refuses the wrong JSON types the analyzer must refuse (DESIGN.md section 4 and
``harness.history_shard``: a ``time_ns`` of ``1.5`` or ``"12"``, a ``task_id`` of ``7``, a
``status`` of ``true``, a key given twice). A reader that turns ``7`` into ``"7"``
silently could not be the analyzer's parser; the fastest strict reader is printed beside
the fastest reader, measured, not assumed.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The history's columns and their types: the schema the analyzer's reader is given.
COLUMNS = {
    "process": "string",
    "type": "string",
    "f": "string",
    "time_ns": "int64",
    "task_id": "string",
    "token": "string",
    "worker_id": "string",
    "expires_at": "float64",
    "status": "int64",
    "error": "string",
    "request_id": "string",
}


def _pyarrow(shards: list[Path]) -> int:
    import pyarrow as pa
    import pyarrow.json as pajson

    rows = 0
    for path in shards:
        rows += pajson.read_json(pa.BufferReader(path.read_bytes())).num_rows
    return rows


def _pyarrow_schema(shards: list[Path]) -> int:
    import pyarrow as pa
    import pyarrow.json as pajson

    schema = pa.schema([(name, pa.type_for_alias(kind)) for name, kind in COLUMNS.items()])
    parse = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    rows = 0
    for path in shards:
        table = pajson.read_json(pa.BufferReader(path.read_bytes()), parse_options=parse)
        rows += table.num_rows
    return rows


def _polars(shards: list[Path]) -> int:
    import polars as pl

    frame = pl.scan_ndjson([str(p) for p in shards], infer_schema_length=10_000).collect()
    return int(frame.height)


def _polars_schema(shards: list[Path]) -> int:
    import polars as pl

    kinds = {"string": pl.Utf8, "int64": pl.Int64, "float64": pl.Float64}
    schema = {name: kinds[kind] for name, kind in COLUMNS.items()}
    frame = pl.scan_ndjson([str(p) for p in shards], schema=schema).collect()
    return int(frame.height)


def _duckdb_query(shards: list[Path], columns: bool) -> int:
    import duckdb

    listed = ", ".join(f"'{p}'" for p in shards)
    kinds = {"string": "VARCHAR", "int64": "BIGINT", "float64": "DOUBLE"}
    spec = ", ".join(f"'{name}': '{kinds[kind]}'" for name, kind in COLUMNS.items())
    given = f", columns = {{{spec}}}" if columns else ""
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        query = f"SELECT * FROM read_json([{listed}], format = 'newline_delimited'{given})"
        table = con.sql(query).to_arrow_table()
    return int(table.num_rows)


def _duckdb(shards: list[Path]) -> int:
    return _duckdb_query(shards, columns=False)


def _duckdb_columns(shards: list[Path]) -> int:
    return _duckdb_query(shards, columns=True)


READERS: dict[str, Callable[[list[Path]], int]] = {
    "pyarrow.json.read_json": _pyarrow,
    "pyarrow.json.read_json, schema given": _pyarrow_schema,
    "polars.scan_ndjson().collect()": _polars,
    "polars.scan_ndjson(schema=)": _polars_schema,
    "duckdb read_json": _duckdb,
    "duckdb read_json(columns=)": _duckdb_columns,
}

_VALID = '{"process":"p","type":"invoke","f":"submit","time_ns":5,"task_id":"t"}'
# Lines the analyzer refuses (held to it by tests/benchmarks/test_readers.py).
WRONG_TYPES = {
    "time_ns of 1.5": '{"process":"p","type":"invoke","f":"submit","time_ns":1.5}',
    'time_ns of "12"': '{"process":"p","type":"invoke","f":"submit","time_ns":"12"}',
    "task_id of 7": '{"process":"p","type":"invoke","f":"submit","time_ns":5,"task_id":7}',
    "status of true": '{"process":"p","type":"invoke","f":"submit","time_ns":5,"status":true}',
    "task_id twice": (
        '{"process":"p","type":"invoke","f":"submit","time_ns":5,"task_id":"a","task_id":"b"}'
    ),
}


def probe_strictness(name: str) -> dict[str, Any]:
    """Which wrong-typed lines reader ``name`` refuses (raises on), and whether it reads
    a valid line: strict means it refuses every one of :data:`WRONG_TYPES`."""
    reader = READERS[name]
    accepted = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, (case, line) in enumerate({"valid": _VALID, **WRONG_TYPES}.items()):
            path = Path(tmp) / f"case-{number}.jsonl"
            path.write_text(line + "\n")
            try:
                reader([path])
            except ImportError:
                raise
            except Exception:  # the reader refused the line, whatever its error type
                continue
            accepted.append(case)
    if "valid" not in accepted:
        raise AssertionError(f"{name} cannot read a valid event: {_VALID}")
    silently = [case for case in WRONG_TYPES if case in accepted]
    return {"strict": not silently, "accepts_wrong_types": silently}


def measure_reader(name: str, run_dir: str) -> dict[str, Any]:
    """One reader over a run folder's shards (called in a fresh process)."""
    shards = sorted((Path(run_dir) / "history").glob("*.jsonl"))
    try:
        start, cpu = time.perf_counter(), time.process_time()
        rows = READERS[name](shards)
    except ImportError:
        return {"reader": name, "available": False}
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return {
        "reader": name,
        "available": True,
        "rows": rows,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        **probe_strictness(name),
    }


if __name__ == "__main__":  # python -m benchmarks._readers: the strictness of each reader
    for reader_name in READERS:
        try:
            print(reader_name, json.dumps(probe_strictness(reader_name)))
        except ImportError:
            print(reader_name, "not installed")
