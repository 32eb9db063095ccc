"""Redis killed, paused and restarted under a running API: 503 + Retry-After while it is
gone (answered within the client timeout, never a hang, never a 500), normal service
once it is back — including the safe queue's Lua scripts, which the restarted Redis
no longer has (NOSCRIPT → reloaded)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from harness.servers import Deployment
from reference_queue.settings import ServeSettings

WORKER = {"X-Worker-Id": "w1"}
TIMEOUT = 10.0  # an answer slower than this is a hang: httpx raises and the test fails


@pytest.fixture(params=["naive", "safe"])
def dep(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """A deployment with its own embedded Redis (this test kills it)."""
    with Deployment(ServeSettings(impl=request.param), api_procs=1, janitors=0) as d:
        yield d


def walk(http: httpx.Client) -> list[int]:
    """submit, claim, complete, inspect, stats, healthz: the statuses answered."""
    statuses = []
    r = http.post("/tasks", json={"payload": {"n": 1}})
    statuses.append(r.status_code)
    claimed = http.get("/tasks/next", headers=WORKER)
    statuses.append(claimed.status_code)
    if claimed.status_code == 200:
        task = claimed.json()
        token = (task["lease"] or {}).get("token")
        done = http.post(
            f"/tasks/{task['task_id']}/complete", json={"token": token}, headers=WORKER
        )
        statuses.append(done.status_code)
        statuses.append(http.get(f"/tasks/{task['task_id']}").status_code)
    statuses.append(http.get("/stats").status_code)
    statuses.append(http.get("/healthz").status_code)
    return statuses


def assert_unavailable(http: httpx.Client) -> None:
    for method, path in [("POST", "/tasks"), ("GET", "/tasks/next"), ("GET", "/stats"),
                         ("GET", "/tasks/t1"), ("POST", "/workers/w1/heartbeat"),
                         ("GET", "/healthz")]:  # fmt: skip
        r = http.request(method, path, json={"payload": 1}, headers=WORKER)
        assert r.status_code == 503, (method, path, r.status_code, r.text)
        assert r.headers["retry-after"] == "1"
        assert r.json()["error"] == "redis_unavailable"


def wait_healthy(http: httpx.Client) -> None:
    for _ in range(100):
        if http.get("/healthz").status_code == 200:
            return
    pytest.fail("the API did not report healthy after Redis came back")


def test_redis_killed_then_restarted(dep: Deployment) -> None:
    assert dep.redis is not None
    with httpx.Client(base_url=dep.base_url, timeout=TIMEOUT) as http:
        assert walk(http) == [201, 200, 200, 200, 200, 200]
        dep.redis.kill()
        assert_unavailable(http)
        dep.redis.restart()
        wait_healthy(http)
        assert walk(http) == [201, 200, 200, 200, 200, 200]
        assert walk(http) == [201, 200, 200, 200, 200, 200]


def test_redis_paused_answers_503_within_the_socket_timeout(dep: Deployment) -> None:
    assert dep.redis is not None
    with httpx.Client(base_url=dep.base_url, timeout=TIMEOUT) as http:
        assert walk(http)[0] == 201
        dep.redis.pause()
        try:
            r = http.get("/tasks/next", headers=WORKER)
            assert (r.status_code, r.json()["error"]) == (503, "redis_unavailable")
            assert r.headers["retry-after"] == "1"
        finally:
            dep.redis.resume()
        wait_healthy(http)
        assert walk(http) == [201, 200, 200, 200, 200, 200]
