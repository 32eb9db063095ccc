"""The analyzer benchmark's readers: each reads the shards, and its strictness is probed.

The benchmark prints the fastest *strict* reader beside the fastest reader: strict means
it refuses every wrong-typed line the analyzer refuses. These tests hold the probe to
the analyzer: every probe line is one ``harness.history_shard`` rejects, the reader the
analyzer uses (pyarrow with the history's schema) is found strict, and a reader that
infers types from the data is found lenient.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks._readers import READERS, WRONG_TYPES, measure_reader, probe_strictness
from harness.errors import MalformedEventError
from harness.history_shard import read_shard

EVENTS = [
    '{"process":"w","type":"invoke","f":"claim","time_ns":1,"worker_id":"w"}',
    '{"process":"w","type":"ok","f":"claim","time_ns":2,"task_id":"t","token":"k",'
    '"worker_id":"w","expires_at":3.5,"status":200,"value":{"attempt":1}}',
]


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_every_probe_line_is_one_the_analyzer_refuses(tmp_path: Path, case: str) -> None:
    shard = tmp_path / "bad.jsonl"
    shard.write_text(WRONG_TYPES[case] + "\n")
    with pytest.raises(MalformedEventError, match=r"bad\.jsonl:1:"):
        read_shard(shard)


def test_the_analyzers_own_reader_is_found_strict() -> None:
    assert probe_strictness("pyarrow.json.read_json, schema given") == {
        "strict": True,
        "accepts_wrong_types": [],
    }


def test_a_reader_that_infers_types_is_found_lenient() -> None:
    found = probe_strictness("pyarrow.json.read_json")
    assert not found["strict"]
    assert "task_id of 7" in found["accepts_wrong_types"]  # read as a number column


@pytest.mark.parametrize("name", sorted(READERS))
def test_each_installed_reader_reads_every_row_of_every_shard(tmp_path: Path, name: str) -> None:
    history = tmp_path / "history"
    history.mkdir()
    for shard in ("a", "b"):
        (history / f"{shard}.jsonl").write_text("\n".join(EVENTS) + "\n")
    measured = measure_reader(name, str(tmp_path))
    assert measured["available"], f"{name}: not installed (`make test` installs the bench extra)"
    assert measured["rows"] == 4
    assert isinstance(measured["strict"], bool)
