"""The end of a run's small pure parts: the verdict line."""

from __future__ import annotations

from pathlib import Path

from harness.locust.finish import Conclusion


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
