"""`harness hunt` end to end: a real embedded Redis, a real search, a report folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main


# `unexpected` is not found, so its whole search runs: 120 s beside a full suite and burners.
@pytest.mark.timeout(600)
def test_hunt_naive_finds_races_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "hunt"
    # Bounded by work (one search per kind), not by a time budget: a loaded machine gets
    # the same result (a 5 s budget missed `lost` beside two CPU burners).
    argv = ["hunt", "--impl", "naive", "--searches", "1", "--seed", "1", "--out", str(out)]
    code = main([*argv, "--kind", "lost", "--kind", "unexpected"])
    assert code == 1
    summary = json.loads((out / "hunt.json").read_text())
    assert summary["kinds"]["lost"]["found"] is True
    assert summary["kinds"]["lost"]["length"] == 2
    assert summary["kinds"]["unexpected"]["found"] is False
    program = summary["kinds"]["lost"]["hypothesis_program"]  # Hypothesis's printout
    assert program[0] == "state = QueueMachine()"
    assert "state.w0_claim()" in program
    assert "state.w0_crash()" in program
    report = (out / "report.md").read_text()
    assert "| Time | Worker A |" in report
    assert "| Janitor | Queue state |" in report
    signature = "def test_no_lost_naive(\n    qharness_redis: redis.Redis, qharness_queue_factory"
    assert signature in report
    assert "from harness.testing import QueueFactoryMaker, findings_of, replay" in report
    assert "Promise judged against: **exactly-once-completion**" in report
    run = json.loads((out / "lost" / "run.json").read_text())
    assert run["promise"]["kind"] == "exactly-once-completion"
    assert "design-note-under-test.md" in run["promise"]["source"]
    violations = json.loads((out / "lost" / "violations.json").read_text())
    assert violations["counts"]["lost"] == 1  # the analyzer agrees with the model
    assert (out / "lost" / "history" / "explorer.jsonl").exists()


def test_hunt_safe_finds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "hunt"
    code = main(
        [
            "hunt",
            "--impl",
            "safe",
            "--budget",
            "2s",
            "--out",
            str(out),
            "--hypothesis-profile",
            "ci",
            "--kind",
            "lost",
            "--kind",
            "resurrection",
        ]
    )
    assert code == 0
    assert "no race found" in capsys.readouterr().out
    summary = json.loads((out / "hunt.json").read_text())
    assert not any(k["found"] for k in summary["kinds"].values())
    # the examples dead-letter tasks on purpose: the queue's warnings do not flood the run
    assert not [r for r in caplog.records if r.name.startswith("reference_queue")]


@pytest.mark.parametrize(
    "argv",
    [
        ["hunt", "--impl", "nosuch"],
        ["hunt", "--impl", "no_such_module:Queue"],
        ["hunt", "--impl", "naive", "--budget", "soon"],
        ["hunt", "--impl", "naive", "--budget", "0s"],
        ["hunt", "--impl", "naive", "--lease-timeout", "0"],
        ["hunt", "--impl", "naive", "--searches", "0"],
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("harness hunt: error:")
