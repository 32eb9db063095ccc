"""``harness serve`` and ``harness.servers.Deployment``: the URL line, a curl-like walk
on both queues, SIGINT/SIGTERM leave no process behind the moment serve returns
(checked with psutil), and a
killed or stopped API worker is replaced by uvicorn's supervisor."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import psutil
import pytest

from harness.servers import Deployment
from reference_queue.settings import ServeSettings

URL = re.compile(r"^http://127\.0\.0\.1:\d+$")


def serve(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start ``harness serve`` and read the URL it prints on its first stdout line."""
    p = subprocess.Popen(
        [sys.executable, "-m", "harness", "serve", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert p.stdout is not None
    line = p.stdout.readline().strip()  # blocks until the deployment answers (or exits)
    if not URL.match(line):
        p.kill()
        pytest.fail(f"no URL line: {line!r}; stderr: {p.communicate()[1][-2000:]}")
    return p, line


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
        except psutil.NoSuchProcess:
            pass
    return out


def wait_until(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def walk(base_url: str, headers: dict[str, str] | None = None) -> list[tuple[int, object]]:
    """What a person does with curl: submit, claim, complete, look."""
    w = {"X-Worker-Id": "curl-worker", **(headers or {})}
    with httpx.Client(base_url=base_url, timeout=10, headers=headers) as http:
        sub = http.post("/tasks", json={"payload": {"hello": "world"}, "task_id": "walk-1"})
        got = http.get("/tasks/next", headers=w)
        token = (got.json()["lease"] or {}).get("token")
        done = http.post("/tasks/walk-1/complete", json={"token": token}, headers=w)
        look = http.get("/tasks/walk-1")
    return [
        (sub.status_code, sub.json()),
        (got.status_code, got.json()["payload"]),
        (done.status_code, done.json()),
        (look.status_code, look.json()["status"]),
    ]


EXPECTED_WALK = [
    (201, {"task_id": "walk-1"}),
    (200, {"hello": "world"}),
    (200, {"task_id": "walk-1", "status": "completed"}),
    (200, "completed"),
]


@pytest.mark.slow
@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_serve_prints_the_url_walks_a_task_and_sigint_stops_everything(impl: str) -> None:
    p, url = serve("--impl", impl, "--api-procs", "2", "--janitors", "1", "--lease-timeout", "5")
    try:
        children = descendants(p.pid)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "redis-server" in names
        assert "uvicorn" in names
        assert "reference_queue.janitor" in names
        assert len(children) >= 5  # redis, uvicorn supervisor + 2 workers, a janitor
        assert walk(url) == EXPECTED_WALK
    finally:
        p.send_signal(signal.SIGINT)
        code = p.wait(timeout=30)
    # At the moment serve returns, nothing it started may still run: a caller may start
    # the next deployment straight away (no grace period, no polling).
    assert not alive(children), alive(children)
    assert code == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/healthz", timeout=5)


@pytest.mark.slow
def test_serve_takes_keys_from_the_environment_and_stops_on_sigterm() -> None:
    env = {"QHARNESS_API_KEY": "k1", "QHARNESS_ADMIN_KEY": "a1"}
    p, url = serve("--impl", "safe", "--api-procs", "1", "--janitors", "0", env=env)
    try:
        children = descendants(p.pid)
        assert httpx.get(url + "/stats").status_code == 401
        assert walk(url, {"Authorization": "Bearer k1"}) == EXPECTED_WALK
        admin = httpx.post(url + "/admin/janitor/run", headers={"Authorization": "Bearer a1"})
        assert (admin.status_code, admin.json()) == (200, {"rescued": []})
    finally:
        p.send_signal(signal.SIGTERM)
        code = p.wait(timeout=30)
    assert not alive(children), alive(children)
    assert code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--api-procs", "0"], "--api-procs"),
        (["--faults", "after_pop=explode"], "after_pop"),
        (["--lease-timeout", "-1"], "lease_timeout"),
    ],
)
def test_bad_serve_flags_exit_2_with_one_line(args: list[str], message: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "harness", "serve", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("harness serve: error:")
    assert message in lines[0]


def _two_workers(dep: Deployment, timeout: float) -> list[int]:
    """Both API workers' pids, once there are two (uvicorn's supervisor may be in the
    middle of replacing one that was slow to answer its ping on a loaded machine)."""
    seen: list[int] = []

    def two() -> bool:
        seen[:] = dep.api_pids()
        return len(seen) == 2

    assert wait_until(two, timeout), seen
    return list(seen)


@pytest.mark.slow
def test_killed_and_stopped_api_workers_are_replaced(redis_url: str) -> None:
    settings = ServeSettings(impl="safe", redis_url=redis_url)
    with Deployment(settings, api_procs=2, janitors=0) as dep:
        first = _two_workers(dep, 30)
        os.kill(first[0], signal.SIGKILL)
        assert wait_until(lambda: len(dep.api_pids()) == 2 and first[0] not in dep.api_pids(), 30)
        assert all(
            httpx.get(dep.base_url + "/healthz", timeout=10).status_code == 200 for _ in range(10)
        )

        stopped = _two_workers(dep, 30)[1]
        os.kill(stopped, signal.SIGSTOP)  # hung: it stops answering the supervisor's pings
        assert wait_until(lambda: stopped not in dep.api_pids() and len(dep.api_pids()) == 2, 45)
        assert httpx.get(dep.base_url + "/healthz", timeout=10).status_code == 200
        everyone = [psutil.Process(dep.api.pid), *descendants(dep.api.pid)] if dep.api else []
    assert not alive(everyone), alive(everyone)  # stop() returned: every one has exited
