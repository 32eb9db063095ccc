"""Shards shipped in batches arrive whole: nothing lost, nothing twice, gaps reported."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.locust.shipping import Batch, ShardAssembler, ShardTail


def test_tail_ships_only_complete_lines(tmp_path: Path) -> None:
    shard = tmp_path / "locust-h-1.jsonl"
    tail = ShardTail(shard)
    assert tail.read() is None  # not created yet
    shard.write_bytes(b'{"a":1}\n{"b":')
    first = tail.read()
    assert first == Batch(shard=shard.name, offset=0, data=b'{"a":1}\n')
    assert tail.read() is None  # half a line waits
    with shard.open("ab") as f:
        f.write(b"2}\n")
    assert tail.read() == Batch(shard=shard.name, offset=8, data=b'{"b":2}\n')
    assert tail.offset == shard.stat().st_size


def test_assembler_drops_resends_and_reports_gaps(tmp_path: Path) -> None:
    out = ShardAssembler(tmp_path / "history")
    assert out.accept(Batch(shard="s.jsonl", offset=0, data=b"1\n2\n")) == 4
    assert out.accept(Batch(shard="s.jsonl", offset=0, data=b"1\n2\n")) == 0  # resend
    assert out.accept(Batch(shard="s.jsonl", offset=2, data=b"2\n3\n")) == 2  # overlap
    out.finish("s.jsonl", 6)
    assert (tmp_path / "history" / "s.jsonl").read_bytes() == b"1\n2\n3\n"
    assert out.incomplete() == {}
    out.accept(Batch(shard="t.jsonl", offset=4, data=b"9\n"))  # bytes 0-4 never came
    out.finish("t.jsonl", 6)
    assert "gaps [(0, 4)]" in out.incomplete()["t.jsonl"]


def test_a_shard_without_done_is_incomplete(tmp_path: Path) -> None:
    out = ShardAssembler(tmp_path)
    out.accept(Batch(shard="s.jsonl", offset=0, data=b"1\n"))
    assert list(out.incomplete()) == ["s.jsonl"]


@settings(max_examples=50, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=60),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_batching_with_resends_rebuilds_the_shard_exactly(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], seed: int
) -> None:
    """The worker appends while shipping; zmq keeps order, but a batch may come twice."""
    rng = random.Random(seed)
    base = tmp_path_factory.mktemp("ship")
    spool = base / "locust-h-1.jsonl"
    spool.touch()
    tail = ShardTail(spool)
    out = ShardAssembler(base / "history")
    sent: list[Batch] = []
    for line in lines:
        with spool.open("ab") as f:
            f.write(line + b"\n")
        if rng.random() < 0.3:
            sent.extend(tail.read_all())
        if sent and rng.random() < 0.2:
            sent.append(rng.choice(sent))  # a resend of an older batch
    sent.extend(tail.read_all())
    for batch in sent:
        out.accept(batch)
    out.finish(spool.name, tail.offset)
    merged = base / "history" / spool.name
    assert (merged.read_bytes() if merged.exists() else b"") == spool.read_bytes()
    assert out.incomplete() == {}
