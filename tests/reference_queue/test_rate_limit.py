"""Per-worker rate limiting across two API processes (state in Redis): counts, not
timings — with ``5/m`` a burst of 30 claims from one worker gets exactly 5 answers
and 25 ``429 rate_limited`` with ``Retry-After``, whichever process answers each."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import redis

from harness.servers import Deployment
from reference_queue.api_ratelimit import Rate
from reference_queue.settings import ServeSettings
from tests.reference_queue.promtext import scrape, value


def deploy(redis_url: str, rate: str) -> Deployment:
    return Deployment(
        ServeSettings(impl="safe", redis_url=redis_url, rate_limit=rate), api_procs=2, janitors=0
    )


@pytest.fixture
def per_minute(redis_url: str, redis_client: redis.Redis) -> Iterator[Deployment]:
    with deploy(redis_url, "5/m") as d:
        yield d


def claims(dep: Deployment, worker: str, n: int) -> list[httpx.Response]:
    """``n`` claims on fresh connections (spread over both API processes)."""
    url = dep.base_url + "/tasks/next"
    return [httpx.get(url, headers={"X-Worker-Id": worker}, timeout=10) for _ in range(n)]


def test_a_burst_gets_the_limit_and_the_rest_429_across_processes(per_minute: Deployment) -> None:
    answers = claims(per_minute, "w1", 30)
    assert Counter(r.status_code for r in answers) == {204: 5, 429: 25}
    assert [r.status_code for r in answers[:5]] == [204] * 5  # admitted first, then refused
    for r in answers[5:]:
        assert r.json()["error"] == "rate_limited"
        assert "w1" in r.json()["detail"]
        assert 1 <= int(r.headers["retry-after"]) <= 60
    # the same worker's heartbeat (keyed by its path id) is over the limit too
    beat = httpx.post(per_minute.base_url + "/workers/w1/heartbeat", timeout=10)
    assert beat.status_code == 429
    # another worker has its own budget
    assert Counter(r.status_code for r in claims(per_minute, "w2", 7)) == {204: 5, 429: 2}
    assert value(scrape(per_minute.base_url), "qharness_rate_limited_total") == 25 + 1 + 2


def test_health_metrics_and_submit_are_not_limited(per_minute: Deployment) -> None:
    claims(per_minute, "w1", 10)
    base = per_minute.base_url
    assert {httpx.get(base + "/healthz").status_code for _ in range(10)} == {200}
    assert {httpx.get(base + "/metrics").status_code for _ in range(10)} == {200}
    posts = [httpx.post(base + "/tasks", json={"payload": n}) for n in range(10)]
    assert {r.status_code for r in posts} == {201}


def test_retry_after_is_honest(redis_url: str, redis_client: redis.Redis) -> None:
    """After waiting Retry-After seconds the next request is admitted again."""
    with deploy(redis_url, "2/2s") as dep:
        answers = claims(dep, "w1", 6)
        refused = [r for r in answers if r.status_code == 429]
        assert refused, [r.status_code for r in answers]  # 6 claims would need over 4 s
        time.sleep(int(refused[-1].headers["retry-after"]))
        assert claims(dep, "w1", 1)[0].status_code == 204


@pytest.mark.parametrize("spec", ["10", "10/x", "0/s", "ten/s"])
def test_bad_rate_limit_flag_exits_2_with_one_line(spec: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "serve", "--rate-limit", spec],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "rate limit" in lines[0], lines


@pytest.mark.parametrize(
    ("spec", "limit", "window"),
    [("10/s", 10, 1.0), ("600/m", 600, 60.0), ("5/10s", 5, 10.0), (" 1 / h ", 1, 3600.0)],
)
def test_rate_specs(spec: str, limit: int, window: float) -> None:
    assert Rate.parse(spec) == Rate(limit=limit, window=window)
