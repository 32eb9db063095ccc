"""The janitor as its own process (``python -m reference_queue.janitor``) and as a thread
in the API: it re-queues expired tasks, reports its rescues (recorded by the harness's
``python -m harness.rescues``), runs several at once
(safely on safe; pushing twice on naive — the note's F7), and stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from harness.contract import TaskId, TaskView, WorkerId, drive
from harness.servers import Deployment
from reference_queue import make_queue
from reference_queue.settings import ServeSettings


def janitor(
    redis_url: str, impl: str, *extra: str, number: int = 1, module: str = "reference_queue.janitor"
) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", module, "--redis-url", redis_url,
            "--impl", impl, "--number", str(number), *extra]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


RECORDING = "harness.rescues"  # the reference janitor, its reported rescues recorded


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for p in started:
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=10)


def stop(p: subprocess.Popen[str]) -> tuple[int, str]:
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=15)
    return p.returncode, err


def view(client: redis.Redis, impl: str, task_id: str) -> TaskView:
    got = drive(make_queue(impl, client).inspect(TaskId(task_id)))
    assert got is not None
    return got


def wait_until(predicate: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def claimed_task(client: redis.Redis, impl: str, lease: float) -> str:
    queue = make_queue(impl, client, lease_timeout=lease)
    task_id = drive(queue.submit('{"n": 1}')).task_id
    claim = drive(queue.claim(WorkerId("w1")))
    assert claim is not None
    assert claim.task_id == task_id
    return task_id


def rescue_events(history: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for f in sorted(history.glob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]


@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_janitor_requeues_an_expired_task_records_it_and_stops_on_sigterm(
    impl: str,
    redis_url: str,
    redis_client: redis.Redis,
    tmp_path: Path,
    procs: list[subprocess.Popen[str]],
) -> None:
    task_id = claimed_task(redis_client, impl, lease=0.5)
    history = tmp_path / "history"
    procs.append(janitor(redis_url, impl, "--interval", "0.1", "--lease-timeout", "0.5",
                         "--history-dir", str(history), module=RECORDING))  # fmt: skip
    assert wait_until(lambda: view(redis_client, impl, task_id).status == "pending")
    code, err = stop(procs[0])
    assert (code, err) == (0, "")
    events = rescue_events(history)
    assert [(e["type"], e["f"], e["task_id"]) for e in events] == [
        ("invoke", "rescue", task_id), ("ok", "rescue", task_id),
    ]  # fmt: skip
    assert str(events[0]["process"]).startswith("janitor-1@")
    assert view(redis_client, impl, task_id).pending_copies == 1


def test_three_safe_janitors_rescue_a_task_exactly_once(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    task_id = claimed_task(redis_client, "safe", lease=0.5)
    history = tmp_path / "history"
    for n in (1, 2, 3):
        procs.append(janitor(redis_url, "safe", "--interval", "0.05", "--lease-timeout", "0.5",
                             "--history-dir", str(history), number=n,
                             module=RECORDING))  # fmt: skip
    assert wait_until(lambda: view(redis_client, "safe", task_id).status == "pending")
    time.sleep(0.5)  # let every janitor sweep again: none may push a second copy
    assert [stop(p)[0] for p in procs] == [0, 0, 0]
    assert view(redis_client, "safe", task_id).pending_copies == 1
    oks = [e for e in rescue_events(history) if e["type"] == "ok"]
    assert [e["task_id"] for e in oks] == [task_id]


def test_two_naive_janitors_push_one_task_twice(
    redis_url: str, redis_client: redis.Redis, procs: list[subprocess.Popen[str]]
) -> None:
    """F7: both scan the expired task inside each other's scan-then-rescue window."""
    task_id = claimed_task(redis_client, "naive", lease=0.2)
    time.sleep(0.3)
    spec = "janitor_between_scan_and_rescue=delay:5"  # wider than the two start-ups' skew
    for n in (1, 2):
        procs.append(janitor(redis_url, "naive", "--interval", "10", "--lease-timeout", "0.2",
                             "--faults", spec, number=n))  # fmt: skip
    assert wait_until(lambda: view(redis_client, "naive", task_id).pending_copies == 2, 30)
    assert [stop(p)[0] for p in procs] == [0, 0]


@pytest.mark.parametrize(
    "args", [["--interval", "0"], ["--faults", "nonsense"], ["--impl", "fast"]]
)
def test_bad_arguments_exit_2_without_a_traceback(args: list[str], redis_url: str) -> None:
    base = {"--interval": "1", "--impl": "safe"}
    argv = [sys.executable, "-m", "reference_queue.janitor", "--redis-url", redis_url]
    for flag, default in base.items():
        if flag not in args:
            argv += [flag, default]
    out = subprocess.run(argv + args, capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "error:" in out.stderr


def test_in_process_janitor_thread_rescues_without_a_janitor_process(
    redis_url: str, redis_client: redis.Redis
) -> None:
    settings = ServeSettings(
        impl="safe", redis_url=redis_url, lease_timeout=0.5, janitor_interval=0.1
    )
    with (
        Deployment(settings, api_procs=1, janitors=0) as dep,
        httpx.Client(base_url=dep.base_url) as http,
    ):
        task_id = http.post("/tasks", json={"payload": 1}).json()["task_id"]
        first = http.get("/tasks/next", headers={"X-Worker-Id": "w1"}).json()
        assert first["task_id"] == task_id
        assert wait_until(lambda: http.get(f"/tasks/{task_id}").json()["status"] == "pending")
        again = http.get("/tasks/next", headers={"X-Worker-Id": "w2"}).json()
        assert (again["task_id"], again["attempt"]) == (task_id, 2)
