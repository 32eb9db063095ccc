"""The history frame's Parquet cache in a run folder, keyed on the shards.

The key is the shards' names, sizes and mtimes (and a format version): any change to
a shard invalidates it. Written in the background, because Arrow's writer releases
the GIL while the checks run; :func:`wait_for_cache` joins the writers before exit.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

logger = logging.getLogger(__name__)

CACHE_NAME = ".history-cache.parquet"
CACHE_VERSION = "1"

_writers: list[threading.Thread] = []


def cache_key(shards: list[Path]) -> str:
    stats = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in shards]
    return json.dumps({"version": CACHE_VERSION, "shards": stats})


def read_cache(cache: Path, key: str) -> pd.DataFrame | None:
    try:
        metadata = pq.read_schema(cache).metadata or {}
        if metadata.get(b"qharness.key") != key.encode():
            return None
        frame: pd.DataFrame = pq.read_table(cache).to_pandas()
    except (OSError, pa.ArrowException) as exc:
        logger.warning("%s: ignoring unreadable cache: %s", cache, exc)
        return None
    for name in ("process", "task_id", "worker_id", "shard"):
        if not isinstance(frame[name].dtype, pd.CategoricalDtype):  # all-null columns
            frame[name] = frame[name].astype("category")
    return frame


def _write_cache(cache: Path, key: str, frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"qharness.key": key.encode()}
    )
    tmp = cache.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        # one row group: reading back unifies the dictionaries (task ids) only once
        pq.write_table(table, tmp, compression="lz4", row_group_size=max(len(frame), 1))
        tmp.replace(cache)
    except OSError as exc:  # a read-only run folder still gets analysed
        logger.warning("%s: cannot write the history cache: %s", cache, exc)


def write_cache_in_background(cache: Path, key: str, frame: pd.DataFrame) -> None:
    writer = threading.Thread(target=_write_cache, args=(cache, key, frame), daemon=False)
    writer.start()
    _writers.append(writer)


def wait_for_cache() -> None:
    """Block until every background cache write of this process has finished."""
    while _writers:
        _writers.pop().join()
