"""`harness analyze RUN_DIR`: exit codes, one-line errors, the report on disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.harness.histories import History
from tests.harness.test_checks_completion import f4_f5_slow_worker_rescued


def run_folder(root: Path, events: list[dict[str, Any]], run: dict[str, Any] | None = None) -> Path:
    (root / "history").mkdir(parents=True)
    (root / "history" / "all.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    if run is not None:
        (root / "run.json").write_bytes(orjson.dumps(run))
    return root


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "analyze", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def clean_history() -> History:
    h = History()
    for n, worker in enumerate(("worker-A", "worker-B")):
        h.submit(f"t{n}")
        h.claim(worker, f"t{n}")
        h.complete(worker, f"t{n}")
    return h


def test_a_clean_drained_run_passes_with_exit_0(tmp_path: Path) -> None:
    run = run_folder(tmp_path, clean_history().events, {"drained": True, "lease_timeout": 5})
    out = analyze(str(run))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.splitlines()[0] == "verdict: pass"
    assert f"report: {run / 'index.html'}" in out.stdout
    assert orjson.loads((run / "violations.json").read_bytes())["verdict"] == "pass"


def test_violations_exit_1_and_lease_timeout_flag_decides_double_claim(tmp_path: Path) -> None:
    run = run_folder(tmp_path, f4_f5_slow_worker_rescued().events, {"drained": True})
    out = analyze(str(run), "--lease-timeout", "60", "--top", "1")
    assert out.returncode == 1, out.stderr
    assert "  double_claim: fail, 1 tasks" in out.stdout
    counts = orjson.loads((run / "violations.json").read_bytes())["counts"]
    assert counts == {
        "lost": 0,
        "duplicate_completion": 1,
        "stale_completion": 1,
        "resurrection": 0,
        "double_claim": 1,
        "unexpected": 0,
        "audit_mismatch": 0,
        "stuck": 0,
    }


def test_without_a_lease_the_cli_says_what_it_inferred(tmp_path: Path) -> None:
    run = run_folder(tmp_path, f4_f5_slow_worker_rescued().events, {"drained": True})
    out = analyze(str(run))
    assert out.returncode == 1, out.stderr  # the late completion: stale and duplicate
    assert "lease inferred: between 0.00 and 0.01 s from 1 redelivery" in out.stdout
    # A's late completion while B held the task; in a history of milliseconds every
    # completion is within 0.1 s of the inferred lease's deadline
    assert (
        "windows hit: stale_while_held 1, lease_boundary 2, heartbeat_after_completion 0, "
        "repeated_completion 0, fail_after_other_completion 0"
    ) in out.stdout


def test_an_unknown_verdict_exits_2(tmp_path: Path) -> None:
    run = run_folder(tmp_path, clean_history().events[:-2])  # t1 never finished, no end state
    out = analyze(str(run))
    assert out.returncode == 2
    assert out.stdout.splitlines()[0] == "verdict: unknown"
    assert "lost: unknown" in out.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'{"process": "w", "type": "invoke", "f": "claim", "time_ns": 1}\n{"process"\n',
            "all.jsonl:2: not JSON",
        ),
        (
            b'{"process": "w", "type": "oops", "f": "claim", "time_ns": 1}\n',
            "all.jsonl:1: unknown type 'oops'",
        ),
        (
            b'{"process": "w", "type": "invoke", "f": "claim", "time_ns": 1.5}\n',
            "all.jsonl:1: field 'time_ns' should be int",
        ),
        (
            b'{"type": "invoke", "f": "claim", "time_ns": 1}\n',
            "all.jsonl:1: missing field 'process'",
        ),
        (b"", "the history has no events"),
    ],
)
def test_malformed_input_is_one_line_and_exit_2(
    tmp_path: Path, content: bytes, message: str
) -> None:
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "all.jsonl").write_bytes(content)
    out = analyze(str(tmp_path))
    assert out.returncode == 2
    assert out.stderr.startswith("harness analyze: error: ")
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_an_empty_folder_and_a_bad_run_json_are_errors(tmp_path: Path) -> None:
    out = analyze(str(tmp_path))
    assert (out.returncode, "no history/ folder" in out.stderr) == (2, True)
    run = run_folder(tmp_path / "r", clean_history().events)
    (run / "run.json").write_text('{"lease_timeout": "soon"}')
    out = analyze(str(run))
    assert (out.returncode, "lease_timeout must be a positive number" in out.stderr) == (2, True)
    bad_flag = analyze(str(run), "--lease-timeout", "-1")
    assert bad_flag.returncode == 2
    assert "must be positive" in bad_flag.stderr
