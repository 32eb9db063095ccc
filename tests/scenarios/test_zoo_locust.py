"""`locust -f scenarios/zoo --library celery`: a real library under load, in process.

Real Locust, real Celery + kombu, a real embedded Redis started by the Locust process.
Workers crash mid-task and slow workers stall past the (shortened) visibility timeout;
the library's own recovery runs as the janitor. The run must drain and end with the
same verdict line, history, audit and report as an HTTP deployment, judged against
Celery's declared at-least-once promise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.settings import child_env

ROOT = Path(__file__).resolve().parents[2]
LOCUST = str(Path(sys.executable).with_name("locust"))


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_celery_under_load_drains_and_is_judged_against_its_promise(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = [
        LOCUST, "-f", str(ROOT / "scenarios" / "zoo"), "--library", "celery",
        "--library-option", "visibility_timeout=2", "--lease-timeout", "2",
        "--headless", "-u", "10", "-r", "10", "-t", "90s", "--task-budget", "40",
        "--task-duration", "0.05", "--crash-probability", "0.1", "--slow-probability", "0.2",
        "--janitor-interval", "0.3", "--heartbeat-interval", "0.5", "--drain-timeout", "40",
        "--run-dir", str(run_dir), "--only-summary",
    ]  # fmt: skip
    out = subprocess.run(
        args, capture_output=True, text=True, timeout=200, check=False, cwd=tmp_path,
        env=child_env(QHARNESS_API_KEY=None, QHARNESS_ADMIN_KEY=None),
    )  # fmt: skip
    verdicts = [line for line in out.stderr.splitlines() if line.startswith("qharness verdict:")]
    assert len(verdicts) == 1, out.stderr[-3000:]
    run = json.loads((run_dir / "run.json").read_text())
    assert run["host"] == "zoo://celery"
    assert run["drained"] is True, out.stderr[-3000:]
    assert run["promise"]["kind"] == "at-least-once"
    assert run["lease_timeout"] == 2.0
    events = [
        json.loads(line)
        for shard in (run_dir / "history").glob("*.jsonl")
        for line in shard.read_text().splitlines()
    ]
    done = {e["task_id"] for e in events if e["f"] == "complete" and e["type"] == "ok"}
    failed = {e["task_id"] for e in events if e["f"] == "fail" and e["type"] == "ok"}
    assert len(done | failed) == 40  # every task ran to an end: nothing lost under load
    assert any(e["f"] == "crash" for e in events)  # workers did die mid-task
    assert any(e["f"] == "rescue" for e in events)  # and kombu's restore brought work back
    audit = json.loads((run_dir / "audit.json").read_text())
    assert len(audit["tasks"]) == 40
    assert {t["status"] for t in audit["tasks"].values()} <= {"completed", "failed"}
    report = (run_dir / "report.md").read_text()
    assert "Promise judged against: at-least-once" in report
    violations = json.loads((run_dir / "violations.json").read_text())
    assert verdicts[0].startswith(f"qharness verdict: {violations['verdict'].upper()}")
    assert "| kind | verdict | against the promise |" in report
    assert "zoo      claim" in out.stdout + out.stderr  # Locust counted the library calls


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_rq_under_concurrent_load_drains_with_nothing_left_started(tmp_path: Path) -> None:
    """rq's lease is at least 61 s (heartbeat TTL), too long to wait out here: no crashes,
    no stalls; concurrent greenlets still interleave rq's round trips."""
    run_dir = tmp_path / "run"
    args = [
        LOCUST, "-f", str(ROOT / "scenarios" / "zoo"), "--library", "rq",
        "--headless", "-u", "6", "-r", "6", "-t", "60s", "--task-budget", "30",
        "--task-duration", "0.05", "--crash-probability", "0", "--slow-probability", "0",
        "--janitor-interval", "0.5", "--drain-timeout", "20",
        "--run-dir", str(run_dir), "--only-summary",
    ]  # fmt: skip
    out = subprocess.run(
        args, capture_output=True, text=True, timeout=200, check=False, cwd=tmp_path,
        env=child_env(QHARNESS_API_KEY=None, QHARNESS_ADMIN_KEY=None),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    run = json.loads((run_dir / "run.json").read_text())
    assert run["drained"] is True
    assert run["promise"]["kind"] == "at-least-once"
    stats = run["final_stats"]
    assert (stats["pending"], stats["processing"]) == (0, 0)  # no execution left started
    assert stats["completed"] + stats["failed"] == 30  # --fail-probability's share failed
