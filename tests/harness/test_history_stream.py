"""``harness analyze --stream`` judges a history exactly as the in-memory path does.

Both paths run on the same run folder (random small histories from the loader's
Hypothesis strategies, and a literal history with violations of several kinds); the
streamed verdict, counts, metrics and violations (task, events, explanation) must equal
the in-memory ones, and so must what its report draws: each shown violation's
interleaving table and timeline, the plots' bins, counts and fault windows, and (in a
history this small, every op sampled) the latency points. The streamed path is forced
to many partitions, so tasks are split across spill files even in a small history.
Memory and speed: benchmarks/analyzer.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

import harness.analyze_stream as analyze_stream
import harness.report.writer as report_writer
from harness.analyze import analyze_run
from harness.history import load_history
from harness.history_stream import partition_of
from harness.report import plots, timeline
from harness.report.interleaving import interleaving
from harness.report.writer import excerpt_key
from tests.harness.histories import T0, History
from tests.harness.loader_strategies import Shards, canonical, histories

LEASE = 0.002  # seconds: the strategies' busy leases expire within the run


@pytest.fixture(autouse=True)
def _many_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    """A few hundred bytes per partition: even a tiny history is split into many; and
    shards read in blocks of a few lines, so ops straddle blocks."""
    monkeypatch.setattr(analyze_stream, "SPILL_BYTES", 256)
    monkeypatch.setattr(analyze_stream, "BLOCK_BYTES", 1500)


@pytest.fixture
def _no_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    """The judgement is compared, not the pictures: drawing PNGs for 80 random examples
    took this module past its timeout on a loaded machine (test_report renders them).
    ``judged`` passes ``top=0`` for the same reason (no per-violation timelines)."""
    monkeypatch.setattr(report_writer, "draw", lambda data, out_dir, *a, **k: [])


def write_run(root: Path, shards: list[list[dict[str, Any]]], audit: Any = None) -> Path:
    history = root / "history"
    history.mkdir(parents=True)
    for n, events in enumerate(shards):
        (history / f"s{n:04d}.jsonl").write_bytes(canonical(events))
    (root / "run.json").write_bytes(orjson.dumps({"drained": True, "lease_timeout": LEASE}))
    if audit is not None:
        (root / "audit.json").write_bytes(orjson.dumps(audit))
    return root


def judged(run: Path, *, stream: bool) -> dict[str, Any]:
    """violations.json of one path, violations as a set (the streamed order differs)."""
    analyze_run(run, stream=stream, top=0)  # violations.json lists every violation
    document = orjson.loads((run / "violations.json").read_bytes())
    document["violations"] = sorted(
        (v["kind"], v["task_id"], tuple(v["events"]), v["explanation"])
        for v in document["violations"]
    )
    return dict(document)


def assert_same_judgement(run: Path) -> dict[str, Any]:
    in_memory = judged(run, stream=False)
    streamed = judged(run, stream=True)
    assert streamed == in_memory
    assert not list(run.glob(".stream-*")), "the spill folder is removed"
    return in_memory


@pytest.mark.timeout(600)  # two full analyses per example; slow beside CPU burners
@pytest.mark.usefixtures("_no_plots")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shards=histories(busy=True))
def test_streamed_equals_in_memory_on_random_busy_histories(shards: Shards) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        assert_same_judgement(write_run(Path(tmp), shards))


@pytest.mark.timeout(600)  # two full analyses per example; slow beside CPU burners
@pytest.mark.usefixtures("_no_plots")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shards=histories())
def test_streamed_equals_in_memory_on_random_histories(shards: Shards) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        assert_same_judgement(write_run(Path(tmp), shards))


def naive_history() -> History:
    """Two workers over six tasks: a double claim, a stale completion, a lost task."""
    h = History()
    for n in range(6):
        h.op("client", "submit", task_id=f"t{n}")
    deadline = (T0 + 3_000_000_000) / 1e9
    for n in range(5):
        h.op("w1", "claim", task_id=f"t{n}", worker_id="w1", token="a", expires_at=deadline)
    h.op("w2", "claim", task_id="t0", worker_id="w2", token="b", expires_at=deadline)
    h.op("w2", "complete", task_id="t0", worker_id="w2", token="b")
    h.op("w1", "complete", task_id="t0", worker_id="w1", token="a")
    for n in range(1, 5):
        h.op("w1", "complete", task_id=f"t{n}", worker_id="w1", token="a")
    h.event("nemesis", "info", "nemesis", value={"fault": "kill", "phase": "start"})
    return h


def by_process(h: History) -> dict[str, list[dict[str, Any]]]:
    """The history's events as one shard per process, as the recorder writes them."""
    shards: dict[str, list[dict[str, Any]]] = {}
    for event in h.events:
        shards.setdefault(event["process"], []).append(event)
    return shards


def test_a_naive_queue_history_with_violations_is_judged_the_same(tmp_path: Path) -> None:
    statuses = {f"t{n}": {"status": "completed", "attempts": 1} for n in range(5)}
    audit = {"tasks": {**statuses, "t5": {"status": "missing"}}, "stats": {}}
    run = write_run(tmp_path, list(by_process(naive_history()).values()), audit=audit)
    judgement = assert_same_judgement(run)
    assert judgement["verdict"] == "fail"
    assert {"double_claim", "lost"} <= {kind for kind, n in judgement["counts"].items() if n}
    tasks = {task for _, task, _, _ in judgement["violations"]}
    assert len({partition_of(t, 8) for t in tasks}) > 1, "violations come from several parts"


def test_the_streamed_examples_are_drawn_as_from_the_whole_history(tmp_path: Path) -> None:
    """Each shown violation (the first ``top`` of each kind) has an excerpt, from
    whichever partition holds its task, and draws from it the interleaving table and the
    timeline the whole in-memory frame draws for the same global events."""
    run = write_run(tmp_path, list(by_process(naive_history()).values()))
    streamed = analyze_stream.check_streamed(
        run, audit=None, lease_timeout=LEASE, drained=True, top=2
    )
    shown = [v for r in streamed.report.results.values() for v in r.violations[:2]]
    assert len({partition_of(v.task_id, 8) for v in shown}) > 1, "from several partitions"
    assert set(streamed.excerpts) == {excerpt_key(v) for v in shown}
    frame = load_history(run, use_cache=False)
    for v in shown:
        part, events = streamed.excerpts[excerpt_key(v)]
        assert interleaving(part, v.task_id, events) == interleaving(frame, v.task_id, v.events)
        drawn = timeline.picture(part, v.task_id, events, alias="t", lease_timeout=LEASE)
        assert drawn == timeline.picture(frame, v.task_id, v.events, alias="t", lease_timeout=LEASE)


def plot_data_of_both(run: Path) -> tuple[plots.PlotData, plots.PlotData]:
    """The plots' data of the in-memory path and of the streamed one."""
    frame = load_history(run, use_cache=False)
    whole = plots.whole_plot_data(frame)
    streamed = analyze_stream.check_streamed(run, audit=None, lease_timeout=LEASE, drained=True)
    assert streamed.plots is not None
    return whole, streamed.plots


def assert_same_plot_data(whole: plots.PlotData, parts: plots.PlotData) -> None:
    """Same bins, counts and fault windows; the same latency points (every op is in
    the sample of a history this small), in another order."""
    assert (parts.line.t0, parts.line.bins, parts.line.end_s) == (
        whole.line.t0,
        whole.line.bins,
        whole.line.end_s,
    )
    assert parts.line.width_s == pytest.approx(whole.line.width_s)
    assert parts.counts.keys() == whole.counts.keys()
    for name, counts in whole.counts.items():
        assert parts.counts[name].tolist() == counts.tolist(), name
    assert parts.windows == whole.windows

    def points(sample: plots.LatencySample) -> list[tuple[float, float, str, str]]:
        columns = (sample.seconds, sample.ms, sample.outcome, sample.op)
        return sorted(zip(*(c.tolist() for c in columns), strict=True))

    assert points(parts.latency) == points(whole.latency)


@pytest.mark.timeout(600)  # a streamed analysis per example; slow beside CPU burners
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shards=histories(busy=True))
def test_the_streamed_plots_add_up_to_the_whole_historys(shards: Shards) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        assert_same_plot_data(*plot_data_of_both(write_run(Path(tmp), shards)))


def test_a_fault_window_left_open_runs_to_the_historys_end_in_both(tmp_path: Path) -> None:
    h = naive_history()  # its nemesis window starts and is never stopped
    h.op("w2", "claim", task_id="t5", worker_id="w2", token="c")  # events after the marker
    run = write_run(tmp_path, list(by_process(h).values()))
    whole, parts = plot_data_of_both(run)
    assert len(whole.windows) == 1
    assert whole.windows[0][1] == whole.line.end_s
    assert_same_plot_data(whole, parts)


def test_the_streamed_report_pages_are_written(tmp_path: Path) -> None:
    run = write_run(tmp_path, [naive_history().events])
    analyze_run(run, stream=True)
    summary = orjson.loads((run / "summary.json").read_bytes())
    assert summary["verdict"] == "fail"
    assert summary["plots"] == ["throughput.png", "latency.png", "backlog.png"]
    assert all((run / name).read_bytes().startswith(b"\x89PNG") for name in summary["plots"])
    page = (run / "report.md").read_text()
    frame = load_history(run, use_cache=False)
    shown = [
        (kind, v)
        for kind, n in summary["results"].items()
        for v in violations_of(run, kind)[: report_writer.TOP]
        if n["count"]
    ]
    assert {kind for kind, _ in shown} >= {"double_claim", "lost"}
    for kind, v in shown:  # each drawn as the in-memory report draws it
        table = interleaving(frame, v["task_id"], v["events"]).markdown()
        assert table in page, f"{kind} {v['task_id']}: interleaving missing"
    assert list(run.glob("timeline-*.png")), "the timelines are drawn"
    assert (run / "index.html").stat().st_size > 0
    streamed_faults = nemesis_row(page)
    analyze_run(run, stream=False)
    assert streamed_faults == nemesis_row((run / "report.md").read_text())
    assert streamed_faults.startswith("| nemesis windows | 1: kill ")


def nemesis_row(page: str) -> str:
    return next(line for line in page.splitlines() if line.startswith("| nemesis windows |"))


def violations_of(run: Path, kind: str) -> list[dict[str, Any]]:
    """violations.json's violations of one kind, in the order the report shows them."""
    document = orjson.loads((run / "violations.json").read_bytes())
    return [v for v in document["violations"] if v["kind"] == kind]
