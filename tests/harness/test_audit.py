"""`harness audit` against the real reference API (uvicorn over HTTP, real Redis)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from harness.analyze import analyze_run
from harness.audit import audit_run
from harness.checks import Verdict, load_audit
from harness.recorder import Recorder
from harness.servers import Deployment
from reference_queue.settings import ServeSettings

KEY = "audit-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def api(redis_url: str) -> Iterator[Deployment]:
    settings = ServeSettings(impl="safe", redis_url=redis_url, api_key=KEY, lease_timeout=30)
    with Deployment(settings, api_procs=1, janitors=0) as dep:
        yield dep


@pytest.fixture
def run_dir(api: Deployment, redis_client: redis.Redis, tmp_path: Path) -> Path:
    """A recorded run: t-done submitted, claimed, completed; t-wait submitted; t-ghost never."""
    with (
        httpx.Client(base_url=api.base_url, headers=AUTH, timeout=10) as http,
        Recorder(tmp_path / "history", "client.jsonl") as rec,
    ):
        for task in ("t-done", "t-wait"):
            op = rec.op("producer-1", "submit", task_id=task)  # type: ignore[arg-type]
            r = http.post("/tasks", json={"payload": {"n": 1}, "task_id": task})
            op.ok(status=r.status_code)
        op = rec.op("worker-1", "claim", worker_id="w1")  # type: ignore[arg-type]
        body = http.get("/tasks/next", headers={"X-Worker-Id": "w1"}).json()
        lease = body["lease"]
        op.ok(task_id=body["task_id"], token=lease["token"], expires_at=lease["expires_at"])
        assert body["task_id"] == "t-done"
        op = rec.op("worker-1", "complete", task_id="t-done", token=lease["token"], worker_id="w1")  # type: ignore[arg-type]
        r = http.post(
            "/tasks/t-done/complete", json={"token": lease["token"]}, headers={"X-Worker-Id": "w1"}
        )
        op.ok(status=r.status_code)
        rec.op("producer-1", "submit", task_id="t-ghost").info(error="timeout")  # type: ignore[arg-type]
    return tmp_path


def test_audit_reads_every_task_and_the_stats(api: Deployment, run_dir: Path) -> None:
    audit = audit_run(run_dir, api.base_url, api_key=KEY)
    assert load_audit(run_dir / "audit.json") == audit
    statuses = {task: entry["status"] for task, entry in audit.tasks.items()}
    assert statuses == {"t-done": "completed", "t-wait": "pending", "t-ghost": "unknown_to_server"}
    assert audit.tasks["t-wait"]["pending_copies"] == 1  # the API's extension fields are kept
    assert audit.tasks["t-done"]["in_processing"] is False
    assert audit.stats["pending"] == 1
    report = analyze_run(run_dir)
    assert report.results["audit_mismatch"].verdict == Verdict.PASS
    assert report.results["audit_mismatch"].exercised
    assert report.results["lost"].verdict == Verdict.PASS  # t-wait is still pending


def test_audit_cli_writes_audit_json(api: Deployment, run_dir: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "audit",
            "--host",
            api.base_url,
            str(run_dir),
            "--api-key",
            KEY,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "audited 3 tasks: completed 1, pending 1, unknown_to_server 1" in out.stdout
    assert set(orjson.loads((run_dir / "audit.json").read_bytes())["tasks"]) == {
        "t-done",
        "t-wait",
        "t-ghost",
    }


def test_audit_without_the_key_is_one_clear_line(api: Deployment, run_dir: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "harness", "audit", "--host", api.base_url, str(run_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 2
    assert out.stderr.startswith("harness audit: error:")
    assert "401" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (run_dir / "audit.json").exists()
