"""The end of a run's small pure parts: folders, run.json, the verdict line."""

from __future__ import annotations

import json
from pathlib import Path

from harness.locust.finish import Conclusion, default_run_dir, unused_run_dir, write_run_json


def test_default_run_dirs_are_timestamped_and_never_reused(tmp_path: Path) -> None:
    first = default_run_dir(tmp_path)
    assert first.name.endswith("-locust")
    assert first.parent == tmp_path
    first.mkdir()
    second = default_run_dir(tmp_path)
    assert second != first


def test_a_folder_holding_a_run_is_not_reused(tmp_path: Path) -> None:
    wanted = tmp_path / "run"
    (wanted / "history").mkdir(parents=True)  # e.g. a janitor's shard waiting: still free
    assert unused_run_dir(wanted) == wanted
    write_run_json(wanted, {"a": 1})
    assert unused_run_dir(wanted) == tmp_path / "run-2"
    write_run_json(tmp_path / "run-2", {})
    assert unused_run_dir(wanted) == tmp_path / "run-3"


def test_run_json_is_replaced_whole(tmp_path: Path) -> None:
    write_run_json(tmp_path, {"drained": None})
    write_run_json(tmp_path, {"drained": True, "at": Path("x")})
    assert json.loads((tmp_path / "run.json").read_text()) == {"drained": True, "at": "x"}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_the_verdict_line_names_the_findings_and_the_report(tmp_path: Path) -> None:
    found = Conclusion(
        verdict="fail",
        exit_code=1,
        counts={"lost": 2, "stuck": 0, "duplicate_completion": 5},
        report=tmp_path / "report.md",
    )
    assert found.line(tmp_path) == (
        f"qharness verdict: FAIL (duplicate_completion 5, lost 2) — report: {tmp_path}/report.md"
    )
    clean = Conclusion(verdict="pass", exit_code=0, counts={"lost": 0}, report=None)
    assert clean.line(tmp_path) == f"qharness verdict: PASS — report: {tmp_path}"


def test_a_note_joins_the_findings_in_the_verdict_line(tmp_path: Path) -> None:
    c = Conclusion(verdict="unknown", exit_code=2, counts={}, report=None, note="no answer")
    assert c.line(tmp_path) == f"qharness verdict: UNKNOWN (no answer) — report: {tmp_path}"
