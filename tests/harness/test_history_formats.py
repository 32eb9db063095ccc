"""What real JSONL writers produce reads as the canonical history; damage is one line, exit 2.

Property-based (Hypothesis): valid histories laid out with random benign variations
(blank lines, CRLF, a BOM, trailing whitespace, reordered keys, unknown extra fields,
``\\u`` escapes, a last line without its newline, empty shards) load as the same frame
and give the same check report as their canonical form; corrupted shards (cut short,
a byte changed, a value of the wrong type, a stray non-object line) make ``harness
analyze`` exit 0, 1 or 2 — never a traceback, and for 2 one line saying why. Budgets
are small (tens of examples); the ``ci`` profile derandomizes them.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.checks import CheckReport, check_history
from harness.cli import main
from harness.errors import HistoryError, MalformedEventError
from harness.history import load_history
from tests.harness.loader_strategies import (
    T0,
    Shards,
    benign_layout,
    canonical,
    corrupted,
    histories,
)

LEASE = 30.0
QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# capsys and caplog are read and cleared for every example (function-scoped on purpose)
SLOW = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def write_run(root: Path, shards: list[bytes], empty: int = 0) -> Path:
    history = root / "history"
    history.mkdir(parents=True, exist_ok=True)
    for n, data in enumerate(shards):
        (history / f"s{n:04d}.jsonl").write_bytes(data)
    for n in range(empty):
        (history / f"e{n}.jsonl").write_bytes(b"")  # sorts before the s* shards
    (root / "run.json").write_bytes(orjson.dumps({"drained": True, "lease_timeout": LEASE}))
    return root


def loaded(run: Path) -> tuple[pd.DataFrame, CheckReport]:
    frame = load_history(run, use_cache=False)
    return frame, check_history(frame, lease_timeout=LEASE, drained=True)


def same_history(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal frames but for where each event was read from (its file's line number)."""
    assert a["shard"].astype(str).tolist() == b["shard"].astype(str).tolist()
    pd.testing.assert_frame_equal(
        a.drop(columns=["shard", "line"]), b.drop(columns=["shard", "line"])
    )


@QUICK
@given(shards=histories(), data=st.data())
def test_benign_layouts_read_as_the_canonical_history(shards: Shards, data: st.DataObject) -> None:
    layouts = [data.draw(benign_layout(events)) for events in shards]
    empty = data.draw(st.integers(0, 2))
    with tempfile.TemporaryDirectory() as tmp:
        plain = write_run(Path(tmp) / "canonical", [canonical(events) for events in shards])
        varied = write_run(Path(tmp) / "varied", layouts, empty=empty)
        try:
            frame, report = loaded(plain)
        except HistoryError:  # e.g. a completion of another op than its invoke: both refuse
            with pytest.raises(HistoryError):
                loaded(varied)
            return
        varied_frame, varied_report = loaded(varied)
    same_history(frame, varied_frame)
    assert varied_report == report


@QUICK
@given(shards=histories(), data=st.data())
def test_line_numbers_name_the_line_in_the_file_as_written(
    shards: Shards, data: st.DataObject
) -> None:
    """Blank lines and a BOM do not shift the ``file:line`` an engineer is sent to."""
    layout = data.draw(benign_layout(shards[0]))
    if not shards[0]:
        return
    with tempfile.TemporaryDirectory() as tmp:
        frame = load_history(write_run(Path(tmp), [layout]), use_cache=False)
    text = layout.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    for line, process, time_ns in frame[["line", "process", "time_ns"]].itertuples(index=False):
        event = orjson.loads(text[line - 1])
        assert (event["process"], event["time_ns"]) == (process, time_ns)


def analyze_in_process(run: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["analyze", str(run)])
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_exit(code: int, out: str, err: str, records: list[logging.LogRecord]) -> None:
    """0, 1 or 2; no traceback anywhere; a 2 says why in one line."""
    assert code in (0, 1, 2), (code, out, err)
    assert "Traceback" not in err + out
    assert not [r for r in records if r.exc_info], "a check crashed"
    if code == 2 and not out.startswith("verdict: unknown"):
        assert err.startswith("harness analyze: error: ")
        assert len(err.strip().splitlines()) == 1, err


@SLOW
@given(shards=histories(), data=st.data())
def test_corrupted_shards_exit_0_1_or_2_and_never_a_traceback(
    shards: Shards,
    data: st.DataObject,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    damaged = data.draw(st.integers(0, len(shards) - 1))
    files = [canonical(events) for events in shards]
    files[damaged] = data.draw(corrupted(files[damaged]))
    with tempfile.TemporaryDirectory() as tmp:
        caplog.clear()
        code, out, err = analyze_in_process(write_run(Path(tmp), files), capsys)
    assert_clean_exit(code, out, err, caplog.records)


def one_process(n: int) -> list[dict[str, Any]]:
    process = f"worker-{n}@host:{n}"
    base = {"process": process, "f": "submit", "task_id": f"t{n}"}
    return [
        {**base, "type": "invoke", "time_ns": T0 + 10 * n},
        {**base, "type": "ok", "time_ns": T0 + 10 * n + 5, "status": 201},
    ]


def test_a_thousand_shards_read_as_one(tmp_path: Path) -> None:
    events = [one_process(n) for n in range(1_000)]
    many = write_run(tmp_path / "many", [canonical(e) for e in events], empty=3)
    one = write_run(tmp_path / "one", [canonical([e for pair in events for e in pair])])
    frame, report = loaded(many)
    single, single_report = loaded(one)
    assert len(frame) == 2_000
    assert frame["shard"].nunique() == 1_000
    pd.testing.assert_frame_equal(
        frame.drop(columns=["shard", "line"]), single.drop(columns=["shard", "line"])
    )
    assert report == single_report
    assert report.metrics["acknowledged"] == 1_000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'{"process":"w","type":"invoke","f":"claim","time_ns":1}\n\n\xff\n',
            "s0000.jsonl:3: not UTF-8",
        ),
        (
            b'{"process":"w","type":"invoke","f":"claim","time_ns":1,"error":"\xc3"}\n',
            "s0000.jsonl:1: not UTF-8",
        ),
        (
            b'\r\n{"process":"w","type":"invoke","f":"claim","time_ns":-3}\r\n',
            "s0000.jsonl:2: field 'time_ns' out of range",
        ),
        (
            b'{"process":"w","type":"ok","f":"claim","time_ns":1,"status":70000}\n',
            "s0000.jsonl:1: field 'status' outside 0..999",
        ),
        (
            b'{"process":"w","type":"ok","f":"claim","time_ns":1,"expires_at":-1}\n',
            "s0000.jsonl:1: field 'expires_at' out of range",
        ),
        (
            b'{"process":"w","type":"ok","f":"claim","time_ns":1,"time_ns":2}\n',
            "s0000.jsonl:1: field 'time_ns' appears more than once",
        ),
        (
            b'{"process":"w","type":"ok","f":"claim","time_ns":1} {"process":"w"}\n',
            "s0000.jsonl:1: not JSON",
        ),
        (
            b'\n\n{"process":"w","type":"ok","f":"claim","time_ns":99999999999999999999}\n',
            "s0000.jsonl:3: field 'time_ns' should be int, got 1e+20",
        ),
        (  # a top-level null at the start of a block crashed pyarrow 26 (a segfault)
            b'null\n{"process":"w","type":"ok","f":"claim","time_ns":1}\n',
            "s0000.jsonl:1: expected a JSON object, got NoneType",
        ),
        (
            b'{"process":"w","type":"ok","f":"claim","time_ns":1}\n[1]\n',
            "s0000.jsonl:2: expected a JSON object",
        ),
    ],
)
def test_what_cannot_be_read_names_file_line_and_field(
    tmp_path: Path, data: bytes, message: str
) -> None:
    run = write_run(tmp_path, [data])
    with pytest.raises(MalformedEventError) as caught:
        load_history(run, use_cache=False)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_shard_that_cannot_be_opened_is_a_history_error(tmp_path: Path) -> None:
    run = write_run(tmp_path, [canonical(one_process(1))])
    (run / "history" / "folder.jsonl").mkdir()
    with pytest.raises(HistoryError, match=r"folder.jsonl: cannot read: Is a directory"):
        load_history(run, use_cache=False)


def test_a_torn_last_line_is_dropped_but_a_torn_middle_line_is_an_error(tmp_path: Path) -> None:
    good = canonical(one_process(1))
    assert len(load_history(write_run(tmp_path / "a", [good + b'{"process":"w","ty']))) == 2
    with pytest.raises(MalformedEventError, match=r"s0000.jsonl:3: not JSON"):
        load_history(write_run(tmp_path / "b", [good + b'{"process":"w","ty\n' + good]))


def run_cli(run: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "analyze", str(run)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_reads_a_windows_style_history_as_its_canonical_form(tmp_path: Path) -> None:
    events = [e for n in range(3) for e in one_process(n)]
    plain = write_run(tmp_path / "plain", [canonical(events)])
    lines = [orjson.dumps(dict(reversed(list(e.items()))) | {"x": [1]}) for e in events]
    windows = b"\xef\xbb\xbf\r\n" + b"  \r\n\r\n".join(lines) + b"\r\n\r\n"
    varied = write_run(tmp_path / "varied", [windows])
    first, second = run_cli(plain), run_cli(varied)
    # 1 both times: the submitted tasks were never claimed in a drained run (lost)
    assert (first.returncode, second.returncode) == (1, 1), second.stderr
    assert second.stderr == ""
    violations = [orjson.loads((r / "violations.json").read_bytes()) for r in (plain, varied)]
    assert violations[0] == violations[1]


def test_the_cli_says_which_line_is_bad_in_one_line(tmp_path: Path) -> None:
    events = canonical([e for n in range(3) for e in one_process(n)])
    flipped = events.replace(b'"type":"ok"', b'"type":"ok\xff"', 1)
    out = run_cli(write_run(tmp_path, [flipped]))
    assert out.returncode == 2
    assert out.stderr.startswith("harness analyze: error: ")
    assert "s0000.jsonl:2: not UTF-8" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
