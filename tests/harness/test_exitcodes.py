"""Exit codes are a contract at every ``harness`` command (``harness.exitcodes``):
a crash is never a verdict. Each command is run as a real subprocess in which one
harness-internal function was made to raise (a planted bug, not a mock of the system
under test); it must end with exit 2 and exactly one line on stderr naming the file
that holds the traceback — the run folder's crash.log when there is one, else a temp
file — and no traceback on the terminal. Ctrl-C is 130; bad options are 2, one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.exitcodes import ExitCode
from tests.harness.test_analyze_cli import clean_history, run_folder

PLANTED = "planted bug"
BOOM = f"def boom(*_args, **_kwargs):\n    raise RuntimeError({PLANTED!r})\n"


def harness_with(patch: str, *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """``harness ARGS`` in a fresh interpreter once ``patch`` (Python) has run; temp
    files (a crash log without a run folder) land in ``tmp``."""
    code = f"import sys\n{patch}\nfrom harness.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True, text=True, timeout=180, check=False, cwd=tmp,
        env={**os.environ, "TMPDIR": str(tmp)},
    )  # fmt: skip


def the_one_line(out: subprocess.CompletedProcess[str], *, progress: bool = False) -> str:
    """stderr's one line (after the command's progress lines, if it prints any)."""
    lines = out.stderr.strip().splitlines()
    assert "Traceback" not in out.stderr + out.stdout
    if progress:  # hunt, run and compare announce what they start before they start it
        assert [line for line in lines if "error" in line] == lines[-1:], out.stderr
        return lines[-1]
    assert len(lines) == 1, out.stderr
    return lines[0]


def traceback_file(line: str) -> Path:
    """The file a one-line crash report names; it must hold the planted traceback."""
    assert "(traceback in " in line, line
    path = Path(line.rsplit("(traceback in ", 1)[1].removesuffix(")"))
    text = path.read_text()
    assert "Traceback (most recent call last):" in text
    assert f"RuntimeError: {PLANTED}" in text
    return path


def assert_crash_reported(out: subprocess.CompletedProcess[str], command: str) -> Path:
    assert out.returncode == ExitCode.UNKNOWN, out.stderr
    line = the_one_line(out, progress=command in ("hunt", "run", "compare"))
    assert line.startswith(f"harness {command}: error: internal error: RuntimeError: {PLANTED}")
    return traceback_file(line)


def test_the_codes_and_the_verdicts_they_stand_for() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 130]
    assert [ExitCode.of(v) for v in ("pass", "fail", "unknown", "")] == [0, 1, 2, 2]


def test_analyze_crashing_outside_the_checks_is_2_with_the_traceback_in_the_run_folder(
    tmp_path: Path,
) -> None:
    run = run_folder(tmp_path / "run", clean_history().events, {"drained": True})
    patch = BOOM + "import harness.analyze\nharness.analyze.load_history = boom"
    out = harness_with(patch, "analyze", str(run), tmp=tmp_path)
    assert assert_crash_reported(out, "analyze") == run / "crash.log"


def test_a_crashing_check_is_unknown_exit_2_and_one_line(tmp_path: Path) -> None:
    run = run_folder(tmp_path / "run", clean_history().events, {"drained": True})
    patch = BOOM + "import harness.checks.completion as c\nc.duplicate_completions = boom"
    out = harness_with(patch, "analyze", str(run), tmp=tmp_path)
    assert out.returncode == ExitCode.UNKNOWN
    assert out.stdout.splitlines()[0] == "verdict: unknown"
    line = the_one_line(out)  # the checker's log line, its traceback moved to the file
    assert "check duplicate_completion crashed" in line
    assert traceback_file(line) == run / "crash.log"


def test_audit_crash(tmp_path: Path) -> None:
    run = run_folder(tmp_path / "run", clean_history().events)
    patch = BOOM + "import harness.audit\nharness.audit.load_history = boom"
    out = harness_with(patch, "audit", "--host", "http://127.0.0.1:9", str(run), tmp=tmp_path)
    assert assert_crash_reported(out, "audit") == run / "crash.log"


def test_serve_crash_without_a_run_folder_goes_to_a_temp_file(tmp_path: Path) -> None:
    patch = BOOM + "import harness.commands.serve as s\ns.Deployment = boom"
    out = harness_with(patch, "serve", "--impl", "safe", tmp=tmp_path)
    path = assert_crash_reported(out, "serve")
    assert path.parent == tmp_path
    assert path.name.startswith("qharness-crash-")


def test_hunt_crash(tmp_path: Path) -> None:
    patch = BOOM + "import harness.commands.hunt as h\nh.hunt = boom"
    args = ("hunt", "--impl", "safe", "--budget", "5s", "--out", str(tmp_path / "hunt"))
    out = harness_with(patch, *args, tmp=tmp_path)
    assert assert_crash_reported(out, "hunt").parent == tmp_path


@pytest.mark.parametrize("command", ["run", "compare"])
def test_run_and_compare_crash_leave_the_traceback_in_the_run_folder(
    tmp_path: Path, command: str
) -> None:
    patch = BOOM + "import harness.run\nharness.run.Progress = boom"
    args = ["--impl", "safe"] if command == "run" else ["--profiles", "test1_simultaneous"]
    reports = tmp_path / "reports"
    out = harness_with(patch, command, *args, "--reports", str(reports), tmp=tmp_path)
    path = assert_crash_reported(out, command)
    assert path.name == "crash.log"
    assert path.parent.parent in (reports, *reports.glob("*-compare"))
    assert (path.parent / "history").is_dir()  # it is the run folder


def test_ctrl_c_is_130_with_one_line(tmp_path: Path) -> None:
    run = run_folder(tmp_path / "run", clean_history().events)
    patch = (
        "def interrupt(*_args, **_kwargs):\n    raise KeyboardInterrupt\n"
        "import harness.analyze\nharness.analyze.load_history = interrupt"
    )
    out = harness_with(patch, "analyze", str(run), tmp=tmp_path)
    assert out.returncode == ExitCode.INTERRUPTED
    assert the_one_line(out) == "harness analyze: interrupted"


@pytest.mark.parametrize("command", ["serve", "analyze", "audit", "hunt", "run", "compare"])
def test_an_unknown_option_is_exit_2_and_one_line(tmp_path: Path, command: str) -> None:
    out = harness_with("", command, "--no-such-option", tmp=tmp_path)
    assert out.returncode == ExitCode.UNKNOWN
    line = the_one_line(out)
    assert line.startswith("harness")
    assert "error:" in line
    assert "--no-such-option" in line or "required" in line
