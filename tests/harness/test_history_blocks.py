"""A shard read in blocks (the streamed path) is the shard read whole, or the same error.

Property-based: benign layouts (blank lines, CRLF, a BOM, a last line without its
newline, ...) and corrupted shards (cut short, a byte changed, a stray line) read with
:func:`read_shard_blocks` at block sizes from a few bytes up give the same rows, line
numbers and values as :func:`read_shard`, or raise the same error naming the same
``file:line``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import HistoryError
from harness.history_shard import read_shard, read_shard_blocks
from tests.harness.loader_strategies import benign_layout, canonical, corrupted, histories

QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _rows(tables: list[pa.Table]) -> list[dict[str, object]]:
    """Every row as plain values (each block dictionary-encodes its own ids)."""
    return [row for table in tables for row in table.to_pylist()]


def outcome(read: object) -> object:
    try:
        return _rows(read())  # type: ignore[operator]
    except HistoryError as exc:
        return ("error", str(exc))


def same_either_way(data: bytes, block: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.jsonl"
        path.write_bytes(data)
        whole = outcome(lambda: [read_shard(path, 3)])
        blocks = outcome(lambda: list(read_shard_blocks(path, 3, block)))
    assert blocks == whole


@QUICK
@given(st.data(), st.integers(min_value=1, max_value=400))
def test_benign_layouts_read_the_same_in_blocks(data: st.DataObject, block: int) -> None:
    shards = data.draw(histories())
    for events in shards:
        same_either_way(data.draw(benign_layout(events)), block)


@QUICK
@given(st.data(), st.integers(min_value=1, max_value=400))
def test_corrupted_shards_fail_the_same_in_blocks(data: st.DataObject, block: int) -> None:
    events = data.draw(histories())[0]
    same_either_way(data.draw(corrupted(canonical(events))), block)


@pytest.mark.parametrize("block", [1, 7, 1 << 20])
def test_a_bad_line_deep_in_a_later_block_is_named_by_its_line(block: int) -> None:
    good = b'{"process":"w","type":"invoke","f":"claim","time_ns":1}\n'
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.jsonl"
        path.write_bytes(good * 50 + b"\n" + good.replace(b"claim", b"nap"))
        with pytest.raises(HistoryError, match=r"s.jsonl:52: unknown f 'nap'"):
            list(read_shard_blocks(path, 0, block))
