"""End to end: the real ``locust`` command against a real reference deployment.

Each test starts its own deployment (Redis + 2 uvicorn workers + a janitor, all on
127.0.0.1) and runs ``locust -f scenarios`` as a subprocess, as an engineer would. The
same profile and the same race-widening faults are aimed at the naive and the safe
queue: the naive one must be caught (exit 1, lost and duplicate/stale completions in
the report), the safe one must pass with every task completed exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.redis_server import free_port
from harness.servers import Deployment
from harness.settings import child_env
from reference_queue.settings import Impl, ServeSettings

# The per-test timeout guards against hangs; it must exceed the runs' own ceilings
# (-t 100s, a 45 s drain, then audit and analysis: _locust allows 240 s), or a run that
# is merely slow on a loaded machine is cut short (seen: the naive race run at 180 s).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
LOCUST = str(Path(sys.executable).with_name("locust"))
ADMIN_KEY = "admin-key-for-tests"
# Widen the naive queue's windows: a delay between RPOP and the processing MULTI, a
# claim that dies after popping (F1: lost), a janitor that sleeps between its scan and
# its rescue (F6). The safe queue's operations are single scripts: no such points.
RACE_FAULTS = (
    "after_pop=delay:0.02,after_get_data=abort@0.05,janitor_between_scan_and_rescue=delay:0.3"
)
LEASE = 1.0
# -t and --drain-timeout are only ceilings: a run stops itself once the budget is
# submitted and drained (seconds on a quiet machine). Both are generous because on a
# loaded 2-core CI machine a task that meets several stalled slow workers in a row
# needs a lease expiry and a rescue for each, and 8 s of draining was once not enough.
RACE_PROFILE = (
    "--headless", "-u", "20", "-r", "20", "-t", "100s",
    "--task-budget", "150", "--lease-timeout", str(LEASE),
    "--mix", "Producer=2,Worker=10,SlowWorker=8,JanitorTrigger=1",
    "--slow-probability", "0.5", "--crash-probability", "0.05", "--fail-probability", "0",
    "--task-duration", "uniform:0.05-0.3", "--heartbeat-interval", "0.3",
    "--janitor-interval", "0.3", "--drain-timeout", "45", "--admin-key", ADMIN_KEY,
    "--only-summary",
)  # fmt: skip


def _deployment(impl: Impl, *, faults: str = "", history: Path | None = None) -> Deployment:
    settings = ServeSettings(
        impl=impl,
        lease_timeout=LEASE,
        admin_key=ADMIN_KEY,
        faults=faults,
        max_attempts=100,  # a task unlucky enough to meet five slow workers is not a finding
    )
    return Deployment(settings, api_procs=2, janitors=1, janitor_interval=0.3, history_dir=history)


@pytest.fixture
def naive_racy(tmp_path: Path) -> Iterator[Deployment]:
    with _deployment(Impl.NAIVE, faults=RACE_FAULTS, history=tmp_path / "run" / "history") as d:
        yield d


@pytest.fixture
def safe_racy(tmp_path: Path) -> Iterator[Deployment]:
    with _deployment(Impl.SAFE, faults=RACE_FAULTS, history=tmp_path / "run" / "history") as d:
        yield d


@pytest.fixture
def safe_plain() -> Iterator[Deployment]:
    with _deployment(Impl.SAFE) as d:
        yield d


def _locust(host: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOCUST, "-f", str(ROOT / "scenarios"), "--host", host, *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=cwd,
        env=child_env(QHARNESS_API_KEY=None, QHARNESS_ADMIN_KEY=None),
    )


def _events(run_dir: Path, pattern: str = "*.jsonl") -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for shard in sorted((run_dir / "history").glob(pattern))
        for line in shard.read_text().splitlines()
    ]


def _ok(events: list[dict[str, Any]], f: str) -> list[dict[str, Any]]:
    return [e for e in events if e["f"] == f and e["type"] == "ok"]


def _why(out: subprocess.CompletedProcess[str], deployment: Deployment | None = None) -> str:
    """Enough of Locust's output (head and tail) and of the API log to diagnose a failure."""
    err = out.stderr
    text = err if len(err) < 6000 else f"{err[:3000]}\n[...]\n{err[-3000:]}"
    if deployment is not None and deployment.api_log.exists():
        text += "\n--- api.log (tail) ---\n" + deployment.api_log.read_text()[-2000:]
    return text


def _verdict_lines(out: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in out.stderr.splitlines() if line.startswith("qharness verdict:")]


def test_naive_under_race_faults_is_caught(naive_racy: Deployment, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    out = _locust(naive_racy.base_url, tmp_path, *RACE_PROFILE, "--run-dir", str(run_dir))
    assert out.returncode == 1, _why(out, naive_racy)
    (line,) = _verdict_lines(out)
    assert line.startswith("qharness verdict: FAIL")
    assert line.endswith(f"report: {run_dir / 'report.md'}")
    report = json.loads((run_dir / "violations.json").read_text())
    counts = report["counts"]
    assert report["verdict"] == "fail"
    assert counts["lost"] > 0, counts
    assert counts["duplicate_completion"] + counts["stale_completion"] > 0, counts
    run = json.loads((run_dir / "run.json").read_text())
    assert run["lease_timeout"] == LEASE
    assert run["verdict"] == "fail"
    assert "lost" in (run_dir / "report.md").read_text()


def test_safe_under_the_same_faults_completes_every_task_once(
    safe_racy: Deployment, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    out = _locust(safe_racy.base_url, tmp_path, *RACE_PROFILE, "--run-dir", str(run_dir))
    assert out.returncode == 0, _why(out)
    assert _verdict_lines(out)[0].startswith("qharness verdict: PASS")
    run = json.loads((run_dir / "run.json").read_text())
    # Exactly-once is only checkable on a run that drained; say so if it did not.
    assert run["drained"] is True, (run["stop_reason"], run["final_stats"])
    events = _events(run_dir)
    submitted = {e["task_id"] for e in _ok(events, "submit")}
    completions = Counter(e["task_id"] for e in _ok(events, "complete"))
    assert len(submitted) == 150
    assert completions == Counter(dict.fromkeys(submitted, 1))  # each exactly once
    late = [e for e in events if e["f"] == "complete" and e.get("status") == 409]
    assert late  # slow workers did outstay their leases, and were turned away
    stats = httpx.get(safe_racy.base_url + "/stats", timeout=10).json()
    assert (stats["completed"], stats["pending"], stats["processing"]) == (150, 0, 0)


def _assert_one_op_at_a_time(events: list[dict[str, Any]]) -> None:
    """Per process: invoke, completion, invoke, ... (a lost or doubled line breaks it)."""
    by_process: dict[str, list[str]] = defaultdict(list)
    for e in sorted(events, key=lambda e: e["time_ns"]):
        if e["f"] != "crash":
            by_process[e["process"]].append(e["type"])
    for process, types in by_process.items():
        expected = ["invoke" if i % 2 == 0 else types[i] for i in range(len(types))]
        assert types == expected, process
        assert all(t != "invoke" for t in types[1::2]), process


def test_two_processes_merge_into_one_history(safe_plain: Deployment, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    out = _locust(
        safe_plain.base_url, tmp_path,
        "--headless", "-u", "16", "-r", "16", "-t", "60s", "--processes", "2",
        "--task-budget", "300", "--mix", "Producer=2,Worker=14", "--crash-probability", "0",
        "--run-dir", str(run_dir), "--only-summary",
    )  # fmt: skip
    assert out.returncode == 0, _why(out)
    assert len(_verdict_lines(out)) == 1  # analysed once, by the master
    run = json.loads((run_dir / "run.json").read_text())
    assert run["mode"] == "master"
    assert run["workers"] == 2
    assert "incomplete_shards" not in run
    assert "missing_workers" not in run
    shards = sorted(p.name for p in (run_dir / "history").glob("*.jsonl"))
    assert len(shards) == 2, shards
    assert run["shards"] == {s: (run_dir / "history" / s).stat().st_size for s in shards}
    events = _events(run_dir)
    lines = [json.dumps(e, sort_keys=True) for e in events]
    assert len(lines) == len(set(lines))  # nothing arrived twice
    _assert_one_op_at_a_time(events)
    submitted = {e["task_id"] for e in _ok(events, "submit")}
    stats = httpx.get(safe_plain.base_url + "/stats", timeout=10).json()
    assert len(submitted) == 300 == sum(stats.values())
    assert (run_dir / "audit.json").exists(), f"no audit: {run.get('audit_error')}"
    audit = json.loads((run_dir / "audit.json").read_text())
    assert set(audit["tasks"]) == submitted


def test_defaults_alone_write_a_report_folder(safe_plain: Deployment, tmp_path: Path) -> None:
    """``locust -f scenarios --headless -u N -r N -t T --host URL``, nothing else.

    T is long enough for the users to record something even on a loaded machine (with
    -t 5s a busy CI box twice in four runs recorded no event: rightly ``unknown``, proving
    nothing); the run still ends at T, drained or not, and must pass either way."""
    out = _locust(safe_plain.base_url, tmp_path, "--headless", "-u", "6", "-r", "6", "-t", "15s")
    folders = list((tmp_path / "reports").glob("*-locust"))
    assert len(folders) == 1, out.stderr[-3000:]
    run_dir = folders[0]
    run = json.loads((run_dir / "run.json").read_text())
    assert run["profile"] == "mixed"
    assert run["stop_reason"] in ("stopped", "drained"), _why(out, safe_plain)
    assert (run_dir / "report.md").exists(), f"{run}\n{_why(out, safe_plain)}"  # str: in full
    (line,) = _verdict_lines(out)
    assert line.endswith(f"report: {Path('reports') / run_dir.name / 'report.md'}")
    # The safe queue under the defaults must pass: not merely "not fail" (an unknown
    # verdict would hide a crashed check or a run that proved nothing).
    assert (out.returncode, run["verdict"]) == (0, "pass"), _why(out, safe_plain)


def test_a_deployment_that_never_answers_is_unknown_not_pass(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    out = _locust(f"http://127.0.0.1:{port}", tmp_path, "--headless", "-u", "3", "-r", "3",
                  "-t", "2s", "--run-dir", str(tmp_path / "run"), "--only-summary")  # fmt: skip
    assert out.returncode == 2, out.stderr[-3000:]
    (line,) = _verdict_lines(out)
    assert line.startswith("qharness verdict: UNKNOWN (the deployment at http://127.0.0.1:")
    assert "never answered GET /stats" in line
    assert "Traceback" not in out.stderr
