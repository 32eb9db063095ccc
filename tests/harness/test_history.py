"""The history loader: merging, pairing, dtypes, the Parquet cache, malformed input."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest

from harness.errors import HistoryError, MalformedEventError
from harness.events import FIELDS
from harness.history import COLUMNS, DTYPES, frame_from_events, load_history
from harness.history_cache import CACHE_NAME, wait_for_cache

T0 = 1_700_000_000_000_000_000


def write_shard(run: Path, name: str, events: list[dict[str, Any]], tail: bytes = b"") -> Path:
    (run / "history").mkdir(parents=True, exist_ok=True)
    path = run / "history" / name
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events) + tail)
    return path


def ev(process: str, type_: str, f: str, t: int, **fields: Any) -> dict[str, Any]:
    return {"process": process, "type": type_, "f": f, "time_ns": T0 + t, **fields}


def two_shards(run: Path) -> None:
    write_shard(
        run,
        "a.jsonl",
        [
            ev("worker-1", "invoke", "claim", 10),
            ev("worker-1", "ok", "claim", 30, task_id="t1", token="k", expires_at=1.5e9),
            ev("worker-1", "invoke", "complete", 40, task_id="t1"),  # never completed
        ],
    )
    write_shard(
        run,
        "b.jsonl",
        [
            ev("producer-1", "invoke", "submit", 5, task_id="t1"),
            ev("producer-1", "ok", "submit", 30, task_id="t1", status=201),
            ev("nemesis", "info", "nemesis", 50, value={"fault": "kill", "phase": "start"}),
        ],
    )


def test_shards_merge_by_time_and_pair_per_process(tmp_path: Path) -> None:
    two_shards(tmp_path)
    frame = load_history(tmp_path)
    assert list(frame.columns) == list(COLUMNS)
    assert set(FIELDS) <= set(frame.columns)
    rows = frame[
        ["process", "type", "f", "invoke_index", "completion_index", "outcome", "latency_ns"]
    ]
    assert rows.astype(str).values.tolist() == [
        ["producer-1", "invoke", "submit", "0", "3", "ok", "25"],
        ["worker-1", "invoke", "claim", "1", "2", "ok", "20"],
        ["worker-1", "ok", "claim", "1", "2", "ok", "20"],  # stable: a.jsonl before b.jsonl
        ["producer-1", "ok", "submit", "0", "3", "ok", "25"],
        ["worker-1", "invoke", "complete", "4", "-1", "info", "-1"],
        ["nemesis", "info", "nemesis", "-1", "5", "info", "-1"],
    ]
    assert frame["index"].tolist() == list(range(6))
    assert orjson.loads(frame["value"].iat[5]) == {"fault": "kill", "phase": "start"}
    assert frame["expires_at"].iat[2] == 1.5e9
    assert frame["status"].iat[3] == 201


def test_dtypes_are_fixed_and_match_in_memory_frames(tmp_path: Path) -> None:
    two_shards(tmp_path)
    loaded = load_history(tmp_path)
    events = [
        orjson.loads(line)
        for p in ("a", "b")
        for line in (tmp_path / "history" / f"{p}.jsonl").read_bytes().splitlines()
    ]
    memory = frame_from_events(sorted(events, key=lambda e: e["time_ns"]))
    for frame in (loaded, memory):
        for name, dtype in DTYPES.items():
            assert str(frame[name].dtype) == str(pd.Series(dtype=dtype).dtype), name
    columns = ["process", "type", "f", "time_ns", "task_id", "outcome", "invoke_index"]
    assert (
        loaded[columns].astype(str).values.tolist() == memory[columns].astype(str).values.tolist()
    )


def test_the_parquet_cache_is_used_and_invalidated(tmp_path: Path) -> None:
    two_shards(tmp_path)
    first = load_history(tmp_path)
    wait_for_cache()
    cache = tmp_path / CACHE_NAME
    assert cache.exists()
    again = load_history(tmp_path)
    pd.testing.assert_frame_equal(first, again)
    shard = tmp_path / "history" / "a.jsonl"
    with shard.open("ab") as out:
        out.write(orjson.dumps(ev("worker-1", "ok", "complete", 60, task_id="t1")) + b"\n")
    os.utime(shard, ns=(T0, T0 + 1))
    changed = load_history(tmp_path)
    wait_for_cache()
    assert len(changed) == 7
    assert changed["outcome"].iat[4] == "ok"


def test_a_truncated_last_line_is_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_shard(tmp_path, "a.jsonl", [ev("w", "invoke", "claim", 1)], tail=b'{"process": "w", "ty')
    with caplog.at_level(logging.WARNING):
        frame = load_history(tmp_path, use_cache=False)
    assert len(frame) == 1
    assert "a.jsonl:2: truncated last line dropped" in caplog.text


def test_a_last_line_without_newline_but_complete_is_kept(tmp_path: Path) -> None:
    tail = orjson.dumps(ev("w", "ok", "claim", 2))
    write_shard(tmp_path, "a.jsonl", [ev("w", "invoke", "claim", 1)], tail=tail)
    assert len(load_history(tmp_path, use_cache=False)) == 2


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (
            [b'{"process": "w", "type": "invoke", "f": "claim", "time_ns": 1}', b"{not json"],
            "2: not JSON",
        ),
        (
            [b'{"process": "w", "type": "invoke", "f": "claim", "time_ns": "soon"}'],
            "1: field 'time_ns' should be int",
        ),
        (
            [b'{"process": "w", "type": "invoke", "f": "claim", "time_ns": 1, "task_id": 7}'],
            "1: field 'task_id' should be str",
        ),
        (
            [b'{"process": "w", "type": "maybe", "f": "claim", "time_ns": 1}'],
            "1: unknown type 'maybe'",
        ),
        (
            [b'{"process": "w", "type": "invoke", "f": "dance", "time_ns": 1}'],
            "1: unknown f 'dance'",
        ),
        ([b'{"process": "w", "type": "invoke", "time_ns": 1}'], "1: missing field 'f'"),
        ([b'["a list"]'], "1: expected a JSON object"),
        (
            [
                b'{"process": "w", "type": "invoke", "f": "claim", "time_ns": 1}',
                b'{"process": "w", "type": "ok", "f": "submit", "time_ns": 2}',
            ],
            "2: a 'submit' completion follows an invoke of 'claim'",
        ),
    ],
)
def test_malformed_input_names_file_line_and_problem(
    tmp_path: Path, lines: list[bytes], problem: str
) -> None:
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "bad.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(MalformedEventError) as caught:
        load_history(tmp_path)
    assert "bad.jsonl:" in str(caught.value)
    assert problem in str(caught.value)


def test_blank_lines_are_tolerated_and_line_numbers_stay_true(tmp_path: Path) -> None:
    (tmp_path / "history").mkdir()
    good = orjson.dumps(ev("w", "invoke", "claim", 1))
    (tmp_path / "history" / "a.jsonl").write_bytes(
        good + b"\n\n" + good.replace(b"claim", b"nap") + b"\n"
    )
    with pytest.raises(MalformedEventError, match=r"a.jsonl:3: unknown f 'nap'"):
        load_history(tmp_path)


@pytest.mark.parametrize("layout", ["no-folder", "no-shards", "empty-shards"])
def test_missing_or_empty_history_is_an_error(tmp_path: Path, layout: str) -> None:
    if layout != "no-folder":
        (tmp_path / "history").mkdir()
    if layout == "empty-shards":
        (tmp_path / "history" / "a.jsonl").write_bytes(b"")
    with pytest.raises(HistoryError):
        load_history(tmp_path)


def test_a_backdated_invoke_pairs_with_its_own_completion(tmp_path: Path) -> None:
    """The janitor records each rescue's invoke at its sweep's start: shard order pairs."""
    write_shard(
        tmp_path,
        "janitor.jsonl",
        [
            ev("janitor-1", "invoke", "rescue", 10, task_id="t1"),
            ev("janitor-1", "ok", "rescue", 20, task_id="t1"),
            ev("janitor-1", "invoke", "rescue", 10, task_id="t2"),
            ev("janitor-1", "ok", "rescue", 21, task_id="t2"),
        ],
    )
    frame = load_history(tmp_path, use_cache=False)
    columns = ["task_id", "type", "invoke_index", "completion_index", "outcome"]
    assert frame[columns].astype(str).values.tolist() == [
        ["t1", "invoke", "0", "2", "ok"],
        ["t2", "invoke", "1", "3", "ok"],
        ["t1", "ok", "0", "2", "ok"],
        ["t2", "ok", "1", "3", "ok"],
    ]
