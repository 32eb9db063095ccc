"""The CLI answers --help for every command, and the package imports cleanly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.cli import COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "harness", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "usage: harness" in out.stdout


def test_unknown_command_is_a_usage_error() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "harness", "frobnicate"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    assert "invalid choice" in out.stderr
