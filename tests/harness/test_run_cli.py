"""Bad options of ``harness run`` / ``compare``: one line, exit 2, nothing created."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--impl", "bogus"], "harness run deploys naive or safe"),
        (["run", "--impl", "naive", "--profile", "nope"], "no such profile"),
        (["run", "--impl", "naive", "--nemesis", "explode"], "unknown fault 'explode'"),
        (["run", "--impl", "naive", "--faults", "bogus"], "expected POINT=ACTION"),
        (["run", "--impl", "naive", "--rate-limit", "fast"], "expected N/s"),
        (["run", "--impl", "safe", "--duration", "0s"], "must be more than 0 seconds"),
        (["run", "--impl", "safe", "--api-procs", "0"], "must be at least 1"),
        (["compare", "--profiles", "chaos,nope"], "no such profile"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    reports = tmp_path / "reports"
    out = subprocess.run(
        [sys.executable, "-m", "harness", *args, "--reports", str(reports)],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert message in lines[0]
    assert not reports.exists() or not any(reports.iterdir())  # no run folder was made
