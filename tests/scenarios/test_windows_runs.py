"""End to end: the default mix's window seekers, lease discovery, a custom client, and
violations where Locust users look — each a real ``locust -f scenarios`` run against a
real deployment on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.redis_server import free_port
from harness.servers import Deployment
from harness.settings import child_env
from reference_queue.settings import Impl, ServeSettings
from tests.deployments.contract_app import create_app as contract_app
from tests.deployments.jobs_app import create_app as jobs_app
from tests.deployments.memory_queue import Fencing, MemoryQueue
from tests.deployments.served import served

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LOCUST = str(Path(sys.executable).with_name("locust"))
SHORT = ("-u", "20", "-r", "20", "--task-budget", "120", "--only-summary")
# More stale completers than the default mix: a single test run must not depend on luck.
AIMED = "Producer=2,Worker=10,StaleCompleter=6,LateFailer=1,RepeatCompleter=1"


def locust(
    host: str, cwd: Path, *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOCUST, "-f", str(ROOT / "scenarios"), "--host", host, *args],
        capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd,
        env=child_env(QHARNESS_API_KEY=None, QHARNESS_ADMIN_KEY=None),
    )  # fmt: skip


def summary(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    return data


def test_status_only_fencing_is_refuted_where_its_window_is_open(tmp_path: Path) -> None:
    queue = MemoryQueue(lease_timeout=1.0, fencing=Fencing.STATUS)
    with served(contract_app(queue)) as url:
        out = locust(url, tmp_path, "--headless", *SHORT, "-t", "40s", "--mix", AIMED,
                     "--run-dir", str(tmp_path / "run"))  # fmt: skip
    assert out.returncode == 1, out.stderr[-3000:]
    found = summary(tmp_path / "run")
    assert found["results"]["stale_completion"]["count"] >= 1
    assert found["windows"]["stale_while_held"] >= 1
    assert "qharness windows hit: stale_while_held" in out.stderr


def test_token_fencing_passes_the_same_aimed_run(tmp_path: Path) -> None:
    queue = MemoryQueue(lease_timeout=1.0, fencing=Fencing.TOKEN)
    with served(contract_app(queue)) as url:
        out = locust(url, tmp_path, "--headless", *SHORT, "-t", "40s", "--mix", AIMED,
                     "--run-dir", str(tmp_path / "run"))  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    found = summary(tmp_path / "run")
    assert found["windows"]["stale_while_held"] >= 1  # tried, and refused every time
    counts = queue.counts()
    assert counts["completed"] + counts["failed"] == 120


def test_without_any_lease_the_naive_queue_fails_with_its_lease_inferred(tmp_path: Path) -> None:
    settings = ServeSettings(impl=Impl.NAIVE, lease_timeout=2.0)
    with Deployment(settings, api_procs=2, janitors=1, janitor_interval=0.5) as deployment:
        out = locust(deployment.base_url, tmp_path, "--headless", *SHORT, "-t", "60s",
                     "--run-dir", str(tmp_path / "run"))  # fmt: skip
    assert out.returncode == 1, out.stderr[-3000:]
    report = (tmp_path / "run" / "report.md").read_text()
    assert "lease inferred: between" in report
    assert "qharness lease inferred: between" in out.stderr
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["lease_timeout"] is None
    assert "lease_discovery" in run  # what the ladder learnt, when a stall ran to its end


def test_a_custom_client_drives_a_differently_shaped_api(tmp_path: Path) -> None:
    queue = MemoryQueue(lease_timeout=1.0, fencing=Fencing.TOKEN)
    with served(jobs_app(queue, api_key="k"), ready_path="/v2/summary") as url:
        out = locust(url, tmp_path, "--headless", *SHORT, "-t", "40s", "--api-key", "k",
                     "--client", f"{ROOT / 'docs/examples/jobs_client.py'}:JobsClient",
                     "--run-dir", str(tmp_path / "run"),
                     "--csv", str(tmp_path / "stats"))  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    counts = queue.counts()  # --fail-probability: some end failed, terminally
    assert (counts["pending"], counts["processing"]) == (0, 0)
    assert counts["completed"] + counts["failed"] == 120
    stats = (tmp_path / "stats_stats.csv").read_text()
    for op in ("client:submit", "client:claim", "client:complete", "client:status"):
        assert op in stats, op
    audit = json.loads((tmp_path / "run" / "audit.json").read_text())
    assert {v["status"] for v in audit["tasks"].values()} <= {"completed", "failed"}


def test_violations_show_in_the_web_ui_as_failures_and_in_the_qharness_tab(
    tmp_path: Path,
) -> None:
    queue = MemoryQueue(lease_timeout=1.0, fencing=Fencing.STATUS)
    port = free_port()
    with served(contract_app(queue)) as url:
        proc = subprocess.Popen(
            [LOCUST, "-f", str(ROOT / "scenarios"), "--host", url, "--autostart", *SHORT,
             "-t", "40s", "--mix", AIMED, "--web-host", "127.0.0.1", "--web-port", str(port),
             "--run-dir", str(tmp_path / "run")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            env=child_env(QHARNESS_API_KEY=None, QHARNESS_ADMIN_KEY=None),
        )  # fmt: skip
        try:
            seen = _poll_until_failures(port, deadline=time.monotonic() + 90)
            page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    assert "qharness" in page  # the tab is in the page's template args
    errors, rows = seen
    kinds = {e["name"] for e in errors if e["method"] == "qharness"}
    assert "stale_completion" in kinds
    assert any(r["item"] == "violations: stale_completion" for r in rows)


def _poll_until_failures(port: int, deadline: float) -> tuple[list[Any], list[Any]]:
    errors: list[Any] = []
    rows: list[Any] = []
    while time.monotonic() < deadline:
        try:
            body = httpx.get(f"http://127.0.0.1:{port}/stats/requests", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            time.sleep(1)
            continue
        errors = body.get("errors", [])
        tabs = {t["key"]: t["data"] for t in body.get("extended_stats", [])}
        rows = tabs.get("qharness", [])
        if any(e["method"] == "qharness" for e in errors):
            return errors, rows
        time.sleep(1)
    return errors, rows
