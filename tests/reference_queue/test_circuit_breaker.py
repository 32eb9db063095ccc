"""The Redis circuit breaker of an API process, with Redis really killed and restarted.

Asserted by counts, not wall time: after ``threshold`` connection errors the breaker
is open, and the following requests are 503 without a Redis attempt — the process's
own counters say how many requests tried Redis (``qharness_redis_errors_total``) and
how many were refused at once (``qharness_breaker_refused_total``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from harness.servers import Deployment
from reference_queue.api_breaker import BreakerOpen, BreakerState, CircuitBreaker
from reference_queue.settings import ServeSettings
from tests.reference_queue.promtext import scrape, value

THRESHOLD = 3


def deploy(impl: str, cooldown: float) -> Deployment:
    """One API process (the breaker is per process) with its own embedded Redis."""
    settings = ServeSettings(impl=impl, breaker_threshold=THRESHOLD, breaker_cooldown=cooldown)
    return Deployment(settings, api_procs=1, janitors=0)


@pytest.fixture(params=["naive", "safe"])
def long_cooldown(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """A cool-down far longer than the test: no half-open probe happens by itself."""
    with deploy(request.param, cooldown=600.0) as d:
        yield d


def walk(http: httpx.Client) -> list[int]:
    task = http.post("/tasks", json={"payload": 1}).json()["task_id"]
    claim = http.get("/tasks/next", headers={"X-Worker-Id": "w1"})
    token = (claim.json()["lease"] or {}).get("token")
    done = http.post(
        f"/tasks/{task}/complete", json={"token": token}, headers={"X-Worker-Id": "w1"}
    )
    return [claim.status_code, done.status_code]


def test_opens_after_threshold_errors_and_then_refuses_without_trying(
    long_cooldown: Deployment,
) -> None:
    dep = long_cooldown
    assert dep.redis is not None
    with httpx.Client(base_url=dep.base_url, timeout=10) as http:
        assert http.get("/healthz").json() == {"status": "ok", "breaker": "closed"}
        assert walk(http) == [200, 200]
        dep.redis.kill()
        answers = [http.get("/stats") for _ in range(10)]
        assert {(r.status_code, r.json()["error"]) for r in answers} == {(503, "redis_unavailable")}
        assert {r.headers["retry-after"] for r in answers} == {"1"}
        assert all("circuit breaker open" in r.json()["detail"] for r in answers[THRESHOLD:])
        s = scrape(dep.base_url)
        assert value(s, "qharness_redis_errors_total") == THRESHOLD  # only these tried Redis
        assert value(s, "qharness_breaker_refused_total") == 10 - THRESHOLD
        assert value(s, "qharness_breaker_state") == 1  # open
        assert value(s, "qharness_queue_tasks") == 0  # not read while open: left out
        health = http.get("/healthz")
        assert (health.status_code, health.json()["breaker"]) == (503, "open")
        dep.redis.restart()
        # /healthz always pings: its success closes the breaker at once
        assert http.get("/healthz").json() == {"status": "ok", "breaker": "closed"}
        assert walk(http) == [200, 200]
        assert value(scrape(dep.base_url), "qharness_breaker_state") == 0


def test_a_half_open_probe_after_the_cooldown_closes_it() -> None:
    with (
        deploy("safe", cooldown=0.5) as dep,
        httpx.Client(base_url=dep.base_url, timeout=10) as http,
    ):
        assert dep.redis is not None
        dep.redis.kill()
        for _ in range(THRESHOLD):
            assert http.get("/stats").status_code == 503
        assert http.get("/stats").json()["detail"].startswith("circuit breaker open")
        dep.redis.restart()
        statuses = []
        for _ in range(100):  # refused fast until the cool-down ends; then the probe passes
            statuses.append(http.get("/stats").status_code)
            if statuses[-1] == 200:
                break
            time.sleep(0.05)
        assert statuses[-1] == 200, statuses
        s = scrape(dep.base_url)
        assert value(s, "qharness_breaker_state") == 0
        assert value(s, "qharness_redis_errors_total") == THRESHOLD  # the probe did not fail
        assert value(s, "qharness_breaker_refused_total") == 1 + len(statuses) - 1


def test_off_by_default_every_request_tries_redis() -> None:
    with Deployment(ServeSettings(impl="safe"), api_procs=1, janitors=0) as dep:
        assert dep.redis is not None
        assert httpx.get(dep.base_url + "/healthz").json() == {"status": "ok"}
        dep.redis.kill()
        for _ in range(2 * THRESHOLD):
            assert httpx.get(dep.base_url + "/stats").status_code == 503
        s = scrape(dep.base_url)
        assert value(s, "qharness_redis_errors_total") == 2 * THRESHOLD
        assert value(s, "qharness_breaker_refused_total") == 0


def test_state_machine_with_a_manual_clock() -> None:
    """closed → open after THRESHOLD errors → one half-open probe → closed / re-opened."""
    now = [0.0]
    seen: list[BreakerState] = []
    breaker = CircuitBreaker(
        threshold=THRESHOLD, cooldown=5.0, on_change=seen.append, clock=lambda: now[0]
    )

    def attempt(error: Exception | None) -> str:
        try:
            with breaker.call():
                if error is not None:
                    raise error
        except BreakerOpen:
            return "refused"
        except redis.ConnectionError:
            return "error"
        return "ok"

    down = redis.ConnectionError("refused")
    assert [attempt(down) for _ in range(THRESHOLD + 2)] == ["error"] * THRESHOLD + ["refused"] * 2
    assert breaker.state is BreakerState.OPEN
    now[0] = 5.0
    assert breaker.state is BreakerState.HALF_OPEN
    assert attempt(down) == "error"  # the probe failed: open for another cool-down
    assert attempt(None) == "refused"
    now[0] = 10.0
    assert attempt(None) == "ok"  # the probe succeeded
    assert breaker.state is BreakerState.CLOSED
    assert seen == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.OPEN,
                    BreakerState.HALF_OPEN, BreakerState.CLOSED]  # fmt: skip
    # an answer that is an error (a 404, a Lua error) still proves Redis is reachable
    for _ in range(THRESHOLD + 1):
        with pytest.raises(redis.ResponseError), breaker.call():
            raise redis.ResponseError("a Lua error")
    assert breaker.state is BreakerState.CLOSED
