"""The race report: files, contract JSON, interleaving tables, claims ledger, plots."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from harness.checks import Verdict, check_history
from harness.history import frame_from_events
from harness.report import Judgement, claims_ledger, interleaving_table, write_report
from harness.settings import from_env
from tests.harness.histories import History
from tests.harness.test_checks_completion import f4_f5_slow_worker_rescued

PNG = b"\x89PNG\r\n\x1a\n"


def test_interleaving_table_in_the_notes_style() -> None:
    h = f4_f5_slow_worker_rescued()
    table = interleaving_table(h.frame(), "t1", [2, 3, 6, 7, 8, 9])
    assert table.splitlines() == [
        "| Time | Producer | Worker A | Worker B | Janitor | Queue state |",
        "|---|---|---|---|---|---|",
        "| +0.0 ms | submit(t1) |  |  |  |  |",
        "| +1.0 ms | submit(t1) → ok |  |  |  | pending: {t1} |",
        "| **+2.0 ms** |  | **GET /tasks/next** |  |  |  |",
        "| **+3.0 ms** |  | **claim → t1** |  |  | **processing: {t1} (A)** |",
        "| +4.0 ms |  |  |  | scan expired |  |",
        "| +5.0 ms |  |  |  | rescue → re-queue t1 | pending: {t1} |",
        "| **+6.0 ms** |  |  | **GET /tasks/next** |  |  |",
        "| **+7.0 ms** |  |  | **claim → t1** |  | **processing: {t1} (B)** |",
        "| **+8.0 ms** |  | **complete(t1)** |  |  |  |",
        "| **+9.0 ms** |  | **complete(t1) → ok** |  |  "
        "| **completed by A; processing: {t1} (B)** |",
        "| +10.0 ms |  |  | complete(t1) |  |  |",
        "| +11.0 ms |  |  | complete(t1) → ok |  | completed by A, then completed by B |",
    ]


def test_f7_pushed_twice_shows_two_pending_copies() -> None:
    h = History()
    h.submit("t1")
    h.claim("worker-A", "t1")
    h.rescue("janitor-1@h:1", "t1")
    h.rescue("janitor-2@h:2", "t1")
    table = interleaving_table(h.frame(), "t1", [])
    assert "| janitor-1 rescue → re-queue t1 |" not in table  # janitors are not lettered
    assert table.splitlines()[-1].endswith("| rescue → re-queue t1 | pending: {t1, t1} |")


def test_write_report_files_and_the_violations_contract(tmp_path: Path) -> None:
    frame = f4_f5_slow_worker_rescued().frame()
    report = check_history(frame, lease_timeout=60, drained=True)
    write_report(tmp_path, frame, report, run_info={"impl": "naive"}, top=5)
    doc = orjson.loads((tmp_path / "violations.json").read_bytes())
    assert set(doc) == {"verdict", "counts", "metrics", "violations"}
    assert doc["verdict"] == "fail"
    assert doc["counts"]["double_claim"] == 1
    assert {v["kind"] for v in doc["violations"]} == {
        "duplicate_completion",
        "stale_completion",
        "double_claim",
    }
    assert all(set(v) == {"kind", "task_id", "events", "explanation"} for v in doc["violations"])
    summary = orjson.loads((tmp_path / "summary.json").read_bytes())
    assert summary["results"]["audit_mismatch"] == {
        "verdict": "pass",
        "count": 0,
        "exercised": False,
        "note": "no audit.json: nothing to compare",
    }
    for name in ("throughput.png", "latency.png", "backlog.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG)
    md = (tmp_path / "report.md").read_text()
    assert '<a id="double_claim-1"></a>' in md
    assert "| Time | Producer | Worker A | Worker B | Janitor | Queue state |" in md
    page = (tmp_path / "index.html").read_text()
    assert '<h4 id="stale_completion-1">' in page
    assert 'src="latency.png"' in page


def test_large_runs_show_the_top_examples_and_count_the_rest(tmp_path: Path) -> None:
    h = History()
    for n in range(8):
        h.submit(f"t{n}")
        h.claim("worker-A", f"t{n}")
        h.complete("worker-A", f"t{n}")
        h.complete("worker-B", f"t{n}")  # no claim of its own: stale, and a duplicate
    frame = h.frame()
    report = check_history(frame, lease_timeout=60, drained=True)
    write_report(tmp_path, frame, report, run_info={}, top=3)
    md = (tmp_path / "report.md").read_text()
    assert md.count("#### duplicate_completion-") == 3
    assert "…and 5 more (all in violations.json)." in md
    assert len(orjson.loads((tmp_path / "violations.json").read_bytes())["violations"]) == 16


def test_the_ledger_refutes_holds_or_says_not_exercised() -> None:
    bad = check_history(f4_f5_slow_worker_rescued().frame(), lease_timeout=60, drained=True)
    rows = {row.claim: row for row in claims_ledger(bad)}
    assignment = rows["Task assignment (no duplicates possible)"]
    assert (assignment.judgement, assignment.link) == (Judgement.REFUTED, "double_claim-1")
    h = History()
    for n, worker in enumerate(("worker-A", "worker-B")):
        h.submit(f"t{n}")
        h.claim(worker, f"t{n}")
        h.complete(worker, f"t{n}")
    good = check_history(h.frame(), lease_timeout=60, drained=True)
    assert good.verdict == Verdict.PASS
    judged = {row.claim: row.judgement for row in claims_ledger(good)}
    assert judged["Task assignment (no duplicates possible)"] == Judgement.HOLDS
    assert judged["Janitor cleanup (safe even with worker activity)"] == Judgement.NOT_EXERCISED
    assert all(row.link is None for row in claims_ledger(good))


def test_fault_windows_are_read_from_nemesis_events(tmp_path: Path) -> None:
    h = f4_f5_slow_worker_rescued()
    h.event("nemesis", "info", "nemesis", value={"fault": "pause-api", "phase": "start"})
    h.claim("worker-C", None)
    h.event("nemesis", "info", "nemesis", value={"fault": "pause-api", "phase": "stop"})
    frame = frame_from_events(h.events)
    from harness.report.plots import fault_windows, timeline

    windows = fault_windows(frame, timeline(frame))
    assert windows == [(pytest.approx(0.012), pytest.approx(0.015), "pause-api")]
    report = check_history(frame, lease_timeout=60, drained=True)
    write_report(tmp_path, frame, report, run_info={})
    assert (tmp_path / "throughput.png").read_bytes().startswith(PNG)


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _chromium_or_skip() -> str:
    """Debian's chromium; `make test` installs it. Missing in CI is a failure, not a skip."""
    found = shutil.which("chromium")
    if found is None:
        if from_env().ci:
            pytest.fail(
                "chromium is missing in CI: `make test` installs it (apt-get install chromium)"
            )
        pytest.skip("needs Debian's chromium (`make test` installs it as root)")
    return found


def _plot_pixels(png: Path) -> tuple[float, float]:
    """(share of non-white pixels, share of saturated colour pixels) of a screenshot."""
    import matplotlib.image

    rgb = matplotlib.image.imread(str(png))[..., :3]
    non_white = (rgb < 0.95).any(axis=-1).mean()
    saturation = rgb.max(axis=-1) - rgb.min(axis=-1)
    return float(non_white), float((saturation > 0.3).mean())


def _screenshot(chromium: str, page: Path, shot: Path, profile: Path) -> None:
    out = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1200,8000",
         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert shot.read_bytes().startswith(PNG)


def test_the_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    chromium = _chromium_or_skip()
    frame = f4_f5_slow_worker_rescued().frame()
    write_report(tmp_path, frame, check_history(frame, lease_timeout=60, drained=True), run_info={})
    _screenshot(chromium, tmp_path / "index.html", tmp_path / "with.png", tmp_path / "p1")
    ink, colour = _plot_pixels(tmp_path / "with.png")
    assert ink > 0.02, "the page rendered (almost) blank"
    # The same page with its plot files removed: the plots are what adds the colour.
    plots = [p for p in tmp_path.glob("*.png") if p.name != "with.png"]
    assert len(plots) == 3
    for plot in plots:
        plot.rename(plot.with_suffix(".hidden"))
    _screenshot(chromium, tmp_path / "index.html", tmp_path / "without.png", tmp_path / "p2")
    _, colour_without = _plot_pixels(tmp_path / "without.png")
    assert colour > 2 * colour_without, "the plots did not render"
    for plot in plots:
        plot.with_suffix(".hidden").rename(plot)
    dom = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile2'}",
            "--dump-dom",
            (tmp_path / "index.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr
    assert dom.stdout.count("<img ") == 3
    assert 'id="double_claim-1"' in dom.stdout
