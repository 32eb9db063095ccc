"""The note's standalone worker (``python -m reference_queue.worker``) against a real
safe deployment: it completes tasks with their tokens, heartbeats keep a long task's
lease alive against a fast janitor, and it exits cleanly on SIGTERM or when idle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from harness.servers import Deployment
from reference_queue.settings import ServeSettings
from tests.reference_queue.promtext import scrape, value

KEY = "worker-key"


@pytest.fixture(scope="module")
def dep(redis_url: str) -> Iterator[Deployment]:
    """safe, 2 s leases, a janitor thread sweeping every 0.2 s, an API key."""
    settings = ServeSettings(
        impl="safe", redis_url=redis_url, lease_timeout=2.0, janitor_interval=0.2, api_key=KEY
    )
    with Deployment(settings, api_procs=1, janitors=0) as d:
        yield d


@pytest.fixture
def http(dep: Deployment, redis_client: redis.Redis) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=dep.base_url, headers=headers, timeout=10) as client:
        yield client


def worker(dep: Deployment, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "reference_queue.worker", "--host", dep.base_url, *args]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "QHARNESS_API_KEY": KEY, **(env or {})},
    )  # fmt: skip


def finish(p: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    try:
        _, err = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    return p.returncode, err


def test_worker_completes_tasks_with_their_tokens(dep: Deployment, http: httpx.Client) -> None:
    ids = [http.post("/tasks", json={"payload": i}).json()["task_id"] for i in range(3)]
    code, err = finish(
        worker(dep, "--worker-id", "wk-1", "--poll-interval", "0.05", "--max-tasks", "3")
    )
    assert (code, err) == (0, "")
    for task_id in ids:
        view = http.get(f"/tasks/{task_id}").json()
        assert (view["status"], view["attempts"], view["worker_id"]) == ("completed", 1, "wk-1")
    assert http.get("/stats").json() == {"pending": 0, "processing": 0, "completed": 3, "failed": 0}


def test_heartbeats_keep_a_long_task_leased(dep: Deployment, http: httpx.Client) -> None:
    """The task runs 4 s on a 2 s lease with a janitor every 0.2 s: only heartbeats save it."""
    task_id = http.post("/tasks", json={"payload": "slow"}).json()["task_id"]
    p = worker(
        dep, "--worker-id", "wk-slow", "--task-duration", "4", "--heartbeat-interval", "0.3",
        "--max-tasks", "1",
    )  # fmt: skip
    assert finish(p) == (0, "")
    view = http.get(f"/tasks/{task_id}").json()
    assert (view["status"], view["attempts"]) == ("completed", 1)


def test_without_heartbeats_the_lease_is_lost_and_the_late_completion_refused(
    dep: Deployment, http: httpx.Client
) -> None:
    """The control for the test above: same task, heartbeats too rare to help."""
    task_id = http.post("/tasks", json={"payload": "slow"}).json()["task_id"]
    p = worker(dep, "--worker-id", "wk-late", "--task-duration", "4", "--heartbeat-interval", "9",
               "--max-tasks", "1")  # fmt: skip
    code, err = finish(p)
    assert code == 0
    assert "answered 409" in err
    assert "not_processing" in err
    view = http.get(f"/tasks/{task_id}").json()
    assert (view["status"], view["attempts"]) == ("pending", 1)  # rescued, not completed
    assert http.get("/stats").json()["completed"] == 0


def _polls(dep: Deployment) -> float:
    answers = scrape(dep.base_url, {"Authorization": f"Bearer {KEY}"})
    return value(answers, "qharness_requests_total", endpoint="/tasks/next")


def test_sigterm_stops_an_idle_worker_cleanly(dep: Deployment, http: httpx.Client) -> None:
    before = _polls(dep)
    p = worker(dep, "--poll-interval", "0.1")
    # SIGTERM only once it polls: its handler is installed before its first poll. (A
    # fixed 30 s wait once ran out on a loaded machine before Python had even started
    # the worker, and the signal's default action killed it: -15.)
    deadline = time.monotonic() + 120
    while _polls(dep) <= before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _polls(dep) > before, "the worker never polled"
    assert p.poll() is None
    p.send_signal(signal.SIGTERM)
    assert finish(p, 15) == (0, "")


def test_poll_interval_comes_from_the_environment(dep: Deployment, http: httpx.Client) -> None:
    ok = worker(dep, "--exit-when-idle", "0.3", env={"POLL_INTERVAL": "0.05"})
    assert finish(ok) == (0, "")
    bad = worker(dep, "--exit-when-idle", "0.3", env={"POLL_INTERVAL": "soon"})
    code, err = finish(bad)
    assert code == 2
    assert "POLL_INTERVAL" in err
    assert "Traceback" not in err


def test_a_wrong_key_is_logged_and_claims_nothing(dep: Deployment, http: httpx.Client) -> None:
    http.post("/tasks", json={"payload": 1})
    p = worker(dep, "--api-key", "wrong", "--exit-when-idle", "0.3", "--poll-interval", "0.1")
    code, err = finish(p)
    assert code == 0
    assert "401" in err
    assert http.get("/stats").json()["pending"] == 1
