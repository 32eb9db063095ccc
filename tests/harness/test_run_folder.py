"""Run folders: made unique, never reused once they hold a run, run.json replaced whole."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.run_folder import (
    new_run_dir,
    point_latest,
    unused_run_dir,
    update_run_json,
    write_run_json,
)


def test_new_run_dirs_are_timestamped_made_and_never_reused(tmp_path: Path) -> None:
    first = new_run_dir(tmp_path / "reports", "locust")
    assert first.is_dir()
    assert re.fullmatch(r"\d{8}T\d{6}Z-locust", first.name)
    second = new_run_dir(tmp_path / "reports", "locust")
    assert second != first
    assert second.is_dir()


def test_latest_points_at_the_newest_run(tmp_path: Path) -> None:
    first, second = new_run_dir(tmp_path, "a"), new_run_dir(tmp_path, "b")
    point_latest(tmp_path, first)
    point_latest(tmp_path, second)
    assert (tmp_path / "latest").resolve() == second.resolve()


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


def test_update_merges_fields_into_run_json(tmp_path: Path) -> None:
    write_run_json(tmp_path, {"impl": "naive", "verdict": None})
    assert update_run_json(tmp_path, verdict="fail") == {"impl": "naive", "verdict": "fail"}
    assert json.loads((tmp_path / "run.json").read_text()) == {"impl": "naive", "verdict": "fail"}
    (tmp_path / "run.json").write_text("{half")
    assert update_run_json(tmp_path, verdict="pass") == {"verdict": "pass"}
