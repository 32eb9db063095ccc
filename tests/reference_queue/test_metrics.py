"""``GET /metrics`` across two API processes: a known sequence of requests, then every
scrape (whichever process answers it) reports the same totals, parsed with the client
library's parser. Also: the key is required when configured, and queue depth is read
from Redis at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis

from harness.servers import Deployment
from reference_queue.settings import ServeSettings
from tests.reference_queue.promtext import label_values, scrape, value

KEY = "metrics-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
W1 = {**AUTH, "X-Worker-Id": "w1"}


@pytest.fixture
def dep(redis_url: str, redis_client: redis.Redis) -> Iterator[Deployment]:
    """Two API processes (uvicorn --workers 2) on this worker's flushed Redis."""
    settings = ServeSettings(impl="safe", redis_url=redis_url, api_key=KEY)
    with Deployment(settings, api_procs=2, janitors=0) as d:
        yield d


def call(dep: Deployment, method: str, path: str, **kw: object) -> httpx.Response:
    """One request on a fresh connection, so the two processes share the work."""
    return httpx.request(method, dep.base_url + path, timeout=10, **kw)  # type: ignore[arg-type]


def post(dep: Deployment, path: str, body: dict[str, object]) -> int:
    return call(dep, "POST", path, json=body, headers=W1).status_code


def known_sequence(dep: Deployment) -> None:
    """5 submits + a duplicate; 3 claims; complete, complete again (409 not_processing),
    a wrong token (409 lease_lost), fail with retry; 3 more claims and an empty one."""
    statuses = [post(dep, "/tasks", {"payload": n, "task_id": f"t{n}"}) for n in (0, 1, 2, 3, 4, 0)]
    assert statuses == [201] * 5 + [200]
    a, b, c = (call(dep, "GET", "/tasks/next", headers=W1).json() for _ in range(3))
    assert post(dep, f"/tasks/{a['task_id']}/complete", {"token": a["lease"]["token"]}) == 200
    assert post(dep, f"/tasks/{a['task_id']}/complete", {"token": a["lease"]["token"]}) == 409
    assert post(dep, f"/tasks/{b['task_id']}/complete", {"token": "stale"}) == 409
    failed = {"token": c["lease"]["token"], "error": "boom", "retry": True}
    assert post(dep, f"/tasks/{c['task_id']}/fail", failed) == 200
    claims = [call(dep, "GET", "/tasks/next", headers=W1).status_code for _ in range(4)]
    assert claims == [200, 200, 200, 204]  # t3, t4 and the failed one, then nothing


def test_counters_match_a_known_sequence_on_every_scrape(dep: Deployment) -> None:
    known_sequence(dep)
    for _ in range(4):  # each scrape may be answered by either process
        s = scrape(dep.base_url, AUTH)
        assert value(s, "qharness_submits_total") == 5
        assert value(s, "qharness_claims_total") == 6  # 3 + the 3 re-claims
        assert value(s, "qharness_completions_total") == 1
        assert value(s, "qharness_failures_total", retry="true") == 1
        assert value(s, "qharness_rejections_total", reason="not_processing") == 1
        assert value(s, "qharness_rejections_total", reason="lease_lost") == 1
        assert value(s, "qharness_requests_total", endpoint="/tasks", status="201") == 5
        assert value(s, "qharness_requests_total", endpoint="/tasks", status="200") == 1
        complete = "/tasks/{task_id}/complete"
        assert value(s, "qharness_requests_total", endpoint=complete, status="409") == 2
        assert value(s, "qharness_requests_total", endpoint="/tasks/next", status="204") == 1
        latency = "qharness_request_duration_seconds_count"
        assert value(s, latency, endpoint="/tasks/next", method="GET") == 7
        assert value(s, "qharness_requests_in_flight", endpoint="/tasks/next") == 0
        # queue depth from Redis at scrape time: 2 of 5 tasks still leased, 1 completed
        assert value(s, "qharness_queue_tasks", state="pending") == 0
        assert value(s, "qharness_queue_tasks", state="processing") == 4
        assert value(s, "qharness_queue_tasks", state="completed") == 1
        # one breaker gauge per live API process: the scrape summed both processes' files
        pids = label_values(s, "qharness_breaker_state", "pid")
        assert pids == {str(p) for p in dep.api_pids()}
        assert len(pids) == 2


def test_metrics_needs_the_api_key_and_is_not_in_the_schema(dep: Deployment) -> None:
    r = call(dep, "GET", "/metrics")
    assert (r.status_code, r.json()["error"]) == (401, "unauthorized")
    r = call(dep, "GET", "/metrics", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert "/metrics" not in call(dep, "GET", "/openapi.json").json()["paths"]


def test_unknown_paths_share_one_label(dep: Deployment) -> None:
    for n in range(3):
        assert call(dep, "GET", f"/no/such/{n}", headers=AUTH).status_code == 404
    s = scrape(dep.base_url, AUTH)
    assert value(s, "qharness_requests_total", endpoint="other", status="404") == 3
    assert not any("/no/such" in str(x.labels) for x in s)
