"""The Locust finish step keeps the exit-code contract (``harness.exitcodes``): a crashed
analysis is an unknown verdict, exit 2, with its traceback in the run folder's
crash.log and none on the terminal — never Locust's own 1 "a request failed".

The real ``locust`` runs against a real deployment; only the harness's own analysis
is made to raise (a planted bug in the checker, not a mock of the system under test).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.exitcodes import ExitCode
from harness.servers import Deployment
from harness.settings import child_env
from tests.scenarios.test_locust_runs import ROOT, safe_plain

__all__ = ["safe_plain"]  # the fixture, used by name

pytestmark = pytest.mark.slow

PLANTED = "planted checker bug"


def locust_with(patch: str, host: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``locust -f scenarios --host HOST ARGS`` in an interpreter where ``patch`` ran."""
    code = (
        "import sys\nfrom locust.main import main\n"  # locust first: it monkey-patches
        f"{patch}\n"
        "sys.argv = ['locust', *sys.argv[1:]]\nmain()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, "-f", str(ROOT / "scenarios"), "--host", host, *args],
        capture_output=True, text=True, timeout=240, check=False, cwd=cwd,
        env=child_env(QHARNESS_API_KEY=None, QHARNESS_ADMIN_KEY=None),
    )  # fmt: skip


def test_a_crashed_analysis_is_unknown_exit_2_with_its_traceback_in_the_run_folder(
    safe_plain: Deployment, tmp_path: Path
) -> None:
    patch = (
        f"def boom(*_args, **_kwargs):\n    raise RuntimeError({PLANTED!r})\n"
        "import harness.analyze\nharness.analyze.analyze_run = boom"
    )
    run_dir = tmp_path / "run"
    out = locust_with(
        patch, safe_plain.base_url, tmp_path,
        "--headless", "-u", "4", "-r", "4", "-t", "30s", "--task-budget", "20",
        "--crash-probability", "0", "--run-dir", str(run_dir), "--only-summary",
    )  # fmt: skip
    assert out.returncode == ExitCode.UNKNOWN, out.stderr[-3000:]
    assert "Traceback" not in out.stderr + out.stdout
    (verdict,) = [line for line in out.stderr.splitlines() if "qharness verdict:" in line]
    assert f"qharness verdict: UNKNOWN (analysis failed: RuntimeError: {PLANTED}" in verdict
    assert f"traceback in {run_dir / 'crash.log'}" in verdict
    crash_log = (run_dir / "crash.log").read_text()
    assert "Traceback (most recent call last):" in crash_log
    assert f"RuntimeError: {PLANTED}" in crash_log
    run = json.loads((run_dir / "run.json").read_text())
    assert (run["verdict"], run["exit_code"]) == ("unknown", 2)


def test_python_m_scenarios_bad_option_is_one_line_exit_2() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "scenarios", "--task-budget", "many"],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == ExitCode.UNKNOWN
    assert out.stderr.strip().splitlines() == [
        "locust -f scenarios: error: argument --task-budget: invalid int value: 'many'"
    ]
