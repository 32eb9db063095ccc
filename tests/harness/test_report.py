"""The race report: files, contract JSON, interleaving tables, claims ledger, plots."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from harness.checks import Verdict, check_history, load_audit
from harness.history import frame_from_events
from harness.report import Judgement, claims_ledger, interleaving_table, write_report
from harness.report.plots import plot_all
from harness.report.timeline import svg_is_self_contained
from harness.settings import from_env
from tests.harness.histories import History
from tests.harness.test_analyze_cli import clean_history
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


def _ink_pixels(png: Path) -> int:
    import matplotlib.image

    rgb = matplotlib.image.imread(str(png))[..., :3]
    return int((rgb < 0.95).any(axis=-1).sum())


def _screenshot(
    chromium: str, page: Path, shot: Path, profile: Path, size: str = "1200,8000"
) -> None:
    out = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert shot.read_bytes().startswith(PNG)


def _dump_dom(chromium: str, page: Path, profile: Path) -> str:
    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert dom.returncode == 0, dom.stderr
    return dom.stdout


PLOTS = ("throughput.png", "latency.png", "backlog.png")


def test_the_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    chromium = _chromium_or_skip()
    frame = f4_f5_slow_worker_rescued().frame()
    write_report(tmp_path, frame, check_history(frame, lease_timeout=60, drained=True), run_info={})
    page = tmp_path / "index.html"
    bare = tmp_path / "bare.html"  # without the inline timelines: only the plots add colour
    bare.write_text(_without_timelines(page.read_text()))
    _screenshot(chromium, bare, tmp_path / "with.png", tmp_path / "p1")
    ink, colour = _plot_pixels(tmp_path / "with.png")
    assert ink > 0.02, "the page rendered (almost) blank"
    # The same page with its plot files removed: the plots are what adds the colour.
    for plot in PLOTS:
        (tmp_path / plot).rename((tmp_path / plot).with_suffix(".hidden"))
    _screenshot(chromium, bare, tmp_path / "without.png", tmp_path / "p2")
    _, colour_without = _plot_pixels(tmp_path / "without.png")
    assert colour > 2 * colour_without, "the plots did not render"
    for plot in PLOTS:
        (tmp_path / plot).with_suffix(".hidden").rename(tmp_path / plot)
    dom = _dump_dom(chromium, page, tmp_path / "profile2")
    assert dom.count("<img ") == 3
    assert 'id="double_claim-1"' in dom


LONG_ID = "r20261202T050020-52b7-000034"


def naive_janitor_race() -> History:
    """F4/F5 as a naive run records it: a run's long task id, a fault window, a lease."""
    h = History()
    h.submit(LONG_ID, process="producer-2@host:90")
    h.claim("slow-worker-3@host:101", LONG_ID)
    h.event("nemesis", "info", "nemesis", value={"fault": "pause-api", "phase": "start"})
    h.rescue("janitor-1@host:7", LONG_ID)
    h.event("nemesis", "info", "nemesis", value={"fault": "pause-api", "phase": "stop"})
    h.claim("worker-9@host:102", LONG_ID)
    h.complete("slow-worker-3@host:101", LONG_ID)
    h.complete("worker-9@host:102", LONG_ID)
    return h


NAIVE_RUN = {"impl": "naive", "profile": "janitor_race", "lease_timeout": 0.008}


def test_the_header_is_a_run_summary_and_tasks_are_aliased(tmp_path: Path) -> None:
    frame = naive_janitor_race().frame()
    report = check_history(frame, lease_timeout=0.008, drained=True)
    write_report(tmp_path, frame, report, run_info=NAIVE_RUN)
    md = (tmp_path / "report.md").read_text()
    head = md.split("## Checks")[0].splitlines()
    assert head[2:13] == [
        "| run summary |  |",
        "|---|---|",
        "| verdict | FAIL — duplicate_completion (1 tasks), stale_completion (1 tasks), "
        "double_claim (1 tasks) |",
        "| implementation | naive |",
        "| profile | janitor_race |",
        "| duration | 13 ms of history |",
        "| tasks | 1 (1 acknowledged) |",
        "| ops | 8 (615.4/s), 2 indeterminate |",
        "| lease | run.json lease_timeout 0.008 s (the API gave no expires_at) |",
        "| nemesis windows | 1: pause-api 4 ms to 7 ms |",
        "",
    ]
    assert "#### double_claim-1: task t1 (r20261202T050020-52b7-000034)" in md
    assert "| +3.0 ms |  | claim → t1 |  |  | processing: {t1} (A) |" in md
    tables = md.split("## Violations")[1].split("Task aliases:")[0]
    assert LONG_ID not in "".join(line for line in tables.splitlines() if line.startswith("|"))
    assert "| t1 | r20261202T050020-52b7-000034 |" in md
    assert "![timeline of t1](timeline-double_claim-1.png)" in md
    assert (tmp_path / "timeline-double_claim-1.png").read_bytes().startswith(PNG)


def test_each_violation_has_an_inline_svg_timeline_and_no_script(tmp_path: Path) -> None:
    frame = naive_janitor_race().frame()
    write_report(
        tmp_path, frame, check_history(frame, lease_timeout=0.008, drained=True),
        run_info=NAIVE_RUN,
    )  # fmt: skip
    page = (tmp_path / "index.html").read_text()
    assert page.count('<div class="timeline"><svg') == 3
    assert "<script" not in page
    assert svg_is_self_contained(page)  # no script, no http(s) or // reference
    svg = page.split('<div class="timeline">')[1]
    for text in ("Slow A", "Worker B", "janitor-1", "lease runs out", "re-queue"):
        assert text in svg, text


def _without_timelines(page: str) -> str:
    parts = page.split('<div class="timeline">')
    return parts[0] + "".join(part.split("</svg></div>", 1)[1] for part in parts[1:])


def test_the_summary_and_a_naive_timeline_render_in_headless_chromium(tmp_path: Path) -> None:
    chromium = _chromium_or_skip()
    frame = naive_janitor_race().frame()
    report = check_history(frame, lease_timeout=0.008, drained=True)
    write_report(tmp_path, frame, report, run_info=NAIVE_RUN, top=1)
    for plot in PLOTS:
        (tmp_path / plot).unlink()  # only the summary table and the timelines draw colour
    page = tmp_path / "index.html"
    _screenshot(chromium, page, tmp_path / "top.png", tmp_path / "p1", size="1200,700")
    ink, _ = _plot_pixels(tmp_path / "top.png")
    assert ink > 0.05, "the top of the page (title and run summary) rendered blank"
    _screenshot(chromium, page, tmp_path / "full.png", tmp_path / "p2")
    bare = tmp_path / "bare.html"
    bare.write_text(_without_timelines(page.read_text()))
    _screenshot(chromium, bare, tmp_path / "bare.png", tmp_path / "p3")
    # Each timeline is a ~900x330 px picture: its lanes' bars, lines, marks and labels
    # cover well over 20,000 px; a timeline that failed to render adds none.
    added = _ink_pixels(tmp_path / "full.png") - _ink_pixels(tmp_path / "bare.png")
    assert added > 3 * 20_000, f"the inline SVG timelines did not render ({added} px)"
    dom = _dump_dom(chromium, page, tmp_path / "p4")
    first_table = dom.split("<table", 2)[1]
    assert first_table.startswith(' class="summary"')
    for row in ("verdict", "implementation", "profile", "duration", "tasks", "ops", "lease",
                "nemesis windows"):  # fmt: skip
        assert f'<th scope="row">{row}</th>' in first_table
    assert dom.count("<svg") == 3


def _orange_pixels(png: Path) -> int:
    import matplotlib.image

    rgb = matplotlib.image.imread(str(png))[..., :3]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return int(((r > 0.9) & (g > 0.4) & (g < 0.65) & (b < 0.25)).sum())


@pytest.mark.parametrize(("result", "orange"), [("ok", False), ("fail", True)])
def test_latency_points_are_coloured_by_outcome(tmp_path: Path, result: str, orange: bool) -> None:
    """Rejected ops are orange points beside the quantile lines; accepted ones are not."""
    h = History()
    for n in range(30):
        h.submit(f"t{n}", result=result)
    (latency,) = [p for p in plot_all(h.frame(), tmp_path) if p.name == "latency.png"]
    assert (_orange_pixels(latency) > 50) is orange


def test_a_finding_without_events_has_no_timeline(tmp_path: Path) -> None:
    """An audit entry for a task the history never mentions: nothing to draw."""
    (tmp_path / "audit.json").write_bytes(
        orjson.dumps(
            {
                "tasks": {
                    "t0": {"status": "completed", "attempts": 1},
                    "t1": {"status": "completed", "attempts": 1},
                    "ghost": {"status": "completed", "attempts": 1},
                },
                "stats": {},
            }
        )
    )
    frame = clean_history().frame()
    audit = load_audit(tmp_path / "audit.json")
    report = check_history(frame, audit=audit, lease_timeout=60, drained=True)
    assert [(v.kind, v.task_id, v.events) for v in report.violations] == [
        ("audit_mismatch", "ghost", [])
    ]
    write_report(tmp_path, frame, report, run_info={})
    assert '<h4 id="audit_mismatch-1">' in (tmp_path / "index.html").read_text()
    assert "<svg" not in (tmp_path / "index.html").read_text()
    assert "![timeline" not in (tmp_path / "report.md").read_text()
    assert not list(tmp_path.glob("timeline-*.png"))
