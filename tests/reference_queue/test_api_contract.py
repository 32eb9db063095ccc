"""The worker API's contract table (DESIGN.md section 3), answer by answer, on both queues.

Real uvicorn processes over real HTTP (``harness.servers.Deployment``, one API process,
no janitor process) against this xdist worker's Redis, flushed before every test.
Where the naive queue answers differently, the test asserts the specimen's behaviour
(it ignores tokens: a stale completion is accepted — F5).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from harness.servers import Deployment
from reference_queue.settings import ServeSettings
from tests.reference_queue.logs import lines_with

KEY = "contract-key"
ADMIN = "contract-admin"
LEASE = 3.0
AUTH = {"Authorization": f"Bearer {KEY}"}
W1 = {**AUTH, "X-Worker-Id": "w1"}
W2 = {**AUTH, "X-Worker-Id": "w2"}


@pytest.fixture(scope="module", params=["naive", "safe"])
def api(request: pytest.FixtureRequest, redis_url: str) -> Iterator[Deployment]:
    settings = ServeSettings(
        impl=request.param, redis_url=redis_url, api_key=KEY, admin_key=ADMIN, lease_timeout=LEASE
    )
    with Deployment(settings, api_procs=1, janitors=0) as dep:
        yield dep


@pytest.fixture
def http(api: Deployment, redis_client: redis.Redis) -> Iterator[httpx.Client]:
    """A client of the API; ``redis_client`` flushed the database first."""
    with httpx.Client(base_url=api.base_url, timeout=10) as client:
        yield client


def is_naive(api: Deployment) -> bool:
    return api.settings.impl == "naive"


def assert_error(r: httpx.Response, status: int, error: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= {"error", "detail"}, body
    if error is not None:
        assert body["error"] == error, body


def submit(http: httpx.Client, payload: object = None, task_id: str | None = None) -> str:
    body: dict[str, object] = {"payload": payload}
    if task_id is not None:
        body["task_id"] = task_id
    r = http.post("/tasks", json=body, headers=AUTH)
    assert r.status_code in (200, 201), r.text
    task_id = r.json()["task_id"]
    assert isinstance(task_id, str)
    return task_id


def claim(http: httpx.Client, headers: dict[str, str] = W1) -> dict[str, object]:
    r = http.get("/tasks/next", headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def token_of(task: dict[str, object]) -> str | None:
    lease = task["lease"]
    return lease["token"] if isinstance(lease, dict) else None


# ---- POST /tasks -------------------------------------------------------------------


def test_submit_creates_with_201_and_a_fresh_id(http: httpx.Client) -> None:
    r = http.post("/tasks", json={"payload": {"n": 1}}, headers=AUTH)
    assert r.status_code == 201
    assert set(r.json()) == {"task_id"}
    assert http.get("/stats", headers=AUTH).json()["pending"] == 1


def test_submit_same_task_id_twice_answers_200_and_enqueues_once(http: httpx.Client) -> None:
    first = http.post("/tasks", json={"payload": 1, "task_id": "job-1"}, headers=AUTH)
    again = http.post("/tasks", json={"payload": 2, "task_id": "job-1"}, headers=AUTH)
    assert (first.status_code, first.json()) == (201, {"task_id": "job-1"})
    assert (again.status_code, again.json()) == (200, {"task_id": "job-1"})
    assert http.get("/stats", headers=AUTH).json()["pending"] == 1
    assert claim(http)["payload"] == 1


def test_payload_over_64_kib_is_413(http: httpx.Client) -> None:
    r = http.post("/tasks", json={"payload": "x" * (64 * 1024)}, headers=AUTH)
    assert_error(r, 413, "payload_too_large")
    assert http.get("/stats", headers=AUTH).json()["pending"] == 0


def test_payload_of_exactly_64_kib_is_accepted(http: httpx.Client) -> None:
    payload = "x" * (64 * 1024 - 2)  # plus the two quotes: 65536 bytes of JSON
    assert http.post("/tasks", json={"payload": payload}, headers=AUTH).status_code == 201
    assert claim(http)["payload"] == payload


def test_body_over_the_cap_is_413_before_it_is_read(http: httpx.Client) -> None:
    r = http.post("/tasks", content=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers=AUTH)
    assert_error(r, 413, "payload_too_large")


@pytest.mark.parametrize("task_id", ["", "has space", "slash/x", "é", "x" * 129, 7])
def test_bad_task_id_in_a_body_is_422(http: httpx.Client, task_id: object) -> None:
    r = http.post("/tasks", json={"payload": 1, "task_id": task_id}, headers=AUTH)
    assert_error(r, 422, "invalid_request")
    assert "task_id" in r.json()["detail"]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"\xffI<\xfe",
        b"[]",
        b'{"task_id": "a"}',
        b'{"payload": 1, "task_id": null',
    ],
)
def test_bad_submit_body_is_422(http: httpx.Client, content: bytes) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    assert_error(http.post("/tasks", content=content, headers=headers), 422, "invalid_request")


def test_any_json_payload_round_trips(http: httpx.Client) -> None:
    payloads = [None, 0, -1.5, "text", [1, [2]], {"a": {"b": None}}, 10**30, True]
    for p in payloads:
        submit(http, p)
    got = [claim(http)["payload"] for _ in payloads]  # RPOP of LPUSH: first in, first out
    assert got == payloads


# ---- GET /tasks/next -----------------------------------------------------------------


def test_claim_with_nothing_pending_is_204(http: httpx.Client) -> None:
    r = http.get("/tasks/next", headers=W1)
    assert r.status_code == 204
    assert r.content == b""


@pytest.mark.parametrize("headers", [AUTH, {**AUTH, "X-Worker-Id": "bad id"}])
def test_claim_without_a_valid_worker_id_is_422(
    http: httpx.Client, headers: dict[str, str]
) -> None:
    submit(http, 1)
    assert_error(http.get("/tasks/next", headers=headers), 422, "invalid_request")
    assert http.get("/stats", headers=AUTH).json()["pending"] == 1  # nothing was popped


def test_claim_answers_the_task_with_a_lease_on_safe_and_none_on_naive(
    http: httpx.Client, api: Deployment
) -> None:
    task_id = submit(http, {"job": [1, 2]})
    before = time.time()
    task = claim(http)
    assert set(task) == {"task_id", "payload", "attempt", "lease"}
    assert (task["task_id"], task["payload"], task["attempt"]) == (task_id, {"job": [1, 2]}, 1)
    if is_naive(api):
        assert task["lease"] is None
    else:
        lease = task["lease"]
        assert isinstance(lease, dict)
        assert set(lease) == {"token", "expires_at"}
        assert isinstance(lease["token"], str)
        assert lease["token"]
        assert before + LEASE - 1 < lease["expires_at"] < time.time() + LEASE + 1


# ---- POST /tasks/{id}/complete ---------------------------------------------------------


def test_complete_answers_completed(http: httpx.Client) -> None:
    task_id = submit(http, 1)
    task = claim(http)
    r = http.post(
        f"/tasks/{task_id}/complete", json={"token": token_of(task), "result": 42}, headers=W1
    )
    assert (r.status_code, r.json()) == (200, {"task_id": task_id, "status": "completed"})
    view = http.get(f"/tasks/{task_id}", headers=AUTH).json()
    assert (view["status"], view["in_processing"], view["pending_copies"]) == (
        "completed",
        False,
        0,
    )


def test_complete_without_a_body_is_accepted_on_naive_and_lease_lost_on_safe(
    http: httpx.Client, api: Deployment
) -> None:
    task_id = submit(http, 1)
    claim(http)
    r = http.post(f"/tasks/{task_id}/complete", headers=W1)
    if is_naive(api):
        assert r.json() == {"task_id": task_id, "status": "completed"}
    else:
        assert_error(r, 409, "lease_lost")


def test_complete_of_an_unknown_task_is_404(http: httpx.Client) -> None:
    r = http.post("/tasks/nope/complete", json={"token": "1"}, headers=W1)
    assert_error(r, 404, "not_found")


def test_complete_needs_a_worker_id(http: httpx.Client) -> None:
    task_id = submit(http, 1)
    task = claim(http)
    r = http.post(f"/tasks/{task_id}/complete", json={"token": token_of(task)}, headers=AUTH)
    assert_error(r, 422, "invalid_request")


def test_second_completion_is_409_not_processing_on_safe_accepted_on_naive(
    http: httpx.Client, api: Deployment
) -> None:
    task_id = submit(http, 1)
    token = token_of(claim(http))
    first = http.post(f"/tasks/{task_id}/complete", json={"token": token}, headers=W1)
    second = http.post(f"/tasks/{task_id}/complete", json={"token": token}, headers=W1)
    assert first.status_code == 200
    if is_naive(api):  # the specimen: no ownership check, a duplicate completion (F5)
        assert second.json() == {"task_id": task_id, "status": "completed"}
        assert http.get("/stats", headers=AUTH).json()["completed"] == 2
    else:
        assert_error(second, 409, "not_processing")
        assert http.get("/stats", headers=AUTH).json()["completed"] == 1


def test_wrong_token_is_409_lease_lost_on_safe(http: httpx.Client, api: Deployment) -> None:
    task_id = submit(http, 1)
    claim(http)
    r = http.post(f"/tasks/{task_id}/complete", json={"token": "999999"}, headers=W1)
    if is_naive(api):
        assert r.status_code == 200  # naive ignores tokens
    else:
        assert_error(r, 409, "lease_lost")
        assert http.get(f"/tasks/{task_id}", headers=AUTH).json()["status"] == "processing"


def test_expired_lease_is_rescued_and_the_late_completion_is_refused_on_safe(
    http: httpx.Client, api: Deployment
) -> None:
    task_id = submit(http, 1)
    stale = claim(http)
    time.sleep(LEASE + 0.3)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    rescued = http.post("/admin/janitor/run", headers=admin)
    assert (rescued.status_code, rescued.json()) == (200, {"rescued": [task_id]})
    fresh = claim(http, W2)
    assert (fresh["task_id"], fresh["attempt"]) == (task_id, 2)
    late = http.post(f"/tasks/{task_id}/complete", json={"token": token_of(stale)}, headers=W1)
    if is_naive(api):  # F5: the slow worker's late completion is accepted
        assert late.status_code == 200
    else:
        assert_error(late, 409, "lease_lost")
        done = http.post(f"/tasks/{task_id}/complete", json={"token": token_of(fresh)}, headers=W2)
        assert done.json() == {"task_id": task_id, "status": "completed"}


# ---- POST /tasks/{id}/fail -------------------------------------------------------------


def test_fail_with_retry_puts_the_task_back(http: httpx.Client) -> None:
    task_id = submit(http, 1)
    token = token_of(claim(http))
    r = http.post(
        f"/tasks/{task_id}/fail", json={"token": token, "error": "boom", "retry": True}, headers=W1
    )
    assert r.json() == {"task_id": task_id, "status": "pending"}
    assert http.get(f"/tasks/{task_id}", headers=AUTH).json()["status"] == "pending"
    assert claim(http)["attempt"] == 2


def test_fail_without_retry_is_terminal(http: httpx.Client) -> None:
    task_id = submit(http, 1)
    token = token_of(claim(http))
    r = http.post(
        f"/tasks/{task_id}/fail", json={"token": token, "error": "boom", "retry": False}, headers=W1
    )
    assert r.json() == {"task_id": task_id, "status": "failed"}
    assert http.get("/stats", headers=AUTH).json()["failed"] == 1
    assert http.get("/tasks/next", headers=W1).status_code == 204


def test_fail_of_an_unknown_task_is_404(http: httpx.Client) -> None:
    r = http.post("/tasks/nope/fail", json={"error": "e", "retry": False}, headers=W1)
    assert_error(r, 404, "not_found")


@pytest.mark.parametrize("body", [{}, {"error": "e"}, {"retry": True}, {"error": 1, "retry": []}])
def test_fail_with_a_bad_body_is_422(http: httpx.Client, body: dict[str, object]) -> None:
    task_id = submit(http, 1)
    claim(http)
    assert_error(http.post(f"/tasks/{task_id}/fail", json=body, headers=W1), 422)


def test_stale_failure_after_completion_is_409_on_safe(http: httpx.Client, api: Deployment) -> None:
    task_id = submit(http, 1)
    token = token_of(claim(http))
    http.post(f"/tasks/{task_id}/complete", json={"token": token}, headers=W1)
    r = http.post(
        f"/tasks/{task_id}/fail", json={"token": token, "error": "late", "retry": True}, headers=W1
    )
    if is_naive(api):  # F8: a stale failure report re-queues a completed task
        assert r.json()["status"] == "pending"
    else:
        assert_error(r, 409, "not_processing")
        assert http.get(f"/tasks/{task_id}", headers=AUTH).json()["status"] == "completed"


# ---- heartbeat, inspect, stats, healthz ------------------------------------------------


def test_heartbeat_extends_held_leases_on_safe(http: httpx.Client, api: Deployment) -> None:
    submit(http, 1)
    claim(http)
    r = http.post("/workers/w1/heartbeat", headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {"worker_id": "w1", "leases_extended": 0 if is_naive(api) else 1}
    other = http.post("/workers/w2/heartbeat", headers=AUTH)
    assert other.json() == {"worker_id": "w2", "leases_extended": 0}


def test_heartbeat_with_a_bad_worker_id_is_422(http: httpx.Client) -> None:
    assert_error(http.post("/workers/bad%20id/heartbeat", headers=AUTH), 422)


def test_inspect_reports_where_the_task_is(http: httpx.Client) -> None:
    task_id = submit(http, {"a": 1})
    view = http.get(f"/tasks/{task_id}", headers=AUTH)
    assert view.status_code == 200
    body = view.json()
    assert {k: body[k] for k in ("task_id", "status", "attempts", "worker_id")} == {
        "task_id": task_id, "status": "pending", "attempts": 0, "worker_id": None,
    }  # fmt: skip
    assert (body["record_status"], body["pending_copies"], body["in_processing"]) == (
        "pending",
        1,
        False,
    )
    claim(http)
    body = http.get(f"/tasks/{task_id}", headers=AUTH).json()
    assert (body["status"], body["attempts"], body["worker_id"]) == ("processing", 1, "w1")


def test_inspect_says_missing_when_the_record_is_live_but_the_task_is_nowhere(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    task_id = submit(http, 1)
    redis_client.delete("queue:pending")  # what the note's F1 leaves behind
    body = http.get(f"/tasks/{task_id}", headers=AUTH).json()
    assert (body["status"], body["record_status"]) == ("missing", "pending")


def test_inspect_of_an_unknown_task_is_404_and_a_bad_id_422(http: httpx.Client) -> None:
    assert_error(http.get("/tasks/nope", headers=AUTH), 404, "not_found")
    assert_error(http.get("/tasks/" + "x" * 129, headers=AUTH), 422)


def test_stats_counts_each_state(http: httpx.Client) -> None:
    for i in range(4):
        submit(http, i)
    a, b = claim(http), claim(http)
    http.post(f"/tasks/{a['task_id']}/complete", json={"token": token_of(a)}, headers=W1)
    http.post(
        f"/tasks/{b['task_id']}/fail",
        json={"token": token_of(b), "error": "x", "retry": False},
        headers=W1,
    )
    claim(http)
    stats = http.get("/stats", headers=AUTH)
    assert stats.json() == {"pending": 1, "processing": 1, "completed": 1, "failed": 1}


def test_healthz_needs_no_key(http: httpx.Client) -> None:
    r = http.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})


def test_openapi_schema_lists_the_table(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert set(paths) == {
        "/tasks", "/tasks/next", "/tasks/{task_id}", "/tasks/{task_id}/complete",
        "/tasks/{task_id}/fail", "/workers/{worker_id}/heartbeat", "/stats", "/healthz",
        "/admin/janitor/run",
    }  # fmt: skip


# ---- auth, request ids, unknown routes -------------------------------------------------

ENDPOINTS = [
    ("POST", "/tasks"), ("GET", "/tasks/next"), ("POST", "/tasks/t/complete"),
    ("POST", "/tasks/t/fail"), ("POST", "/workers/w1/heartbeat"), ("GET", "/tasks/t"),
    ("GET", "/stats"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("auth", [None, "Bearer wrong", f"Basic {KEY}", KEY])
def test_every_endpoint_but_healthz_needs_the_api_key(
    http: httpx.Client, method: str, path: str, auth: str | None
) -> None:
    headers = {"X-Worker-Id": "w1"} | ({"Authorization": auth} if auth else {})
    r = http.request(
        method, path, headers=headers, json={"payload": 1, "error": "e", "retry": True}
    )
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    assert http.get("/stats", headers=AUTH).json()["pending"] == 0


@pytest.mark.parametrize("auth", [None, f"Bearer {KEY}", "Bearer wrong"])
def test_admin_janitor_needs_the_admin_key(http: httpx.Client, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    assert_error(http.post("/admin/janitor/run", headers=headers), 401, "unauthorized")


def test_request_id_is_echoed_or_made(http: httpx.Client) -> None:
    given = http.get("/healthz", headers={"X-Request-Id": "req-123"})
    assert given.headers["x-request-id"] == "req-123"
    made = http.get("/healthz").headers["x-request-id"]
    other = http.get("/healthz").headers["x-request-id"]
    assert len(made) == 32
    assert made != other
    junk = http.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert junk.headers["x-request-id"] != "bad id with spaces"


def test_unknown_route_and_method_use_the_error_model(http: httpx.Client) -> None:
    assert_error(http.get("/nope", headers=AUTH), 404, "not_found")
    assert_error(http.delete("/tasks", headers=AUTH), 405, "method_not_allowed")


# ---- a second deployment: no admin key, an abort fault, info logs -----------------------


@pytest.fixture(scope="module")
def faulty(
    request: pytest.FixtureRequest, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """naive with ``after_pop=abort`` (the handler dies between RPOP and the MULTI)."""
    settings = ServeSettings(
        impl="naive", redis_url=redis_url, faults="after_pop=abort", log_level="info"
    )
    logs = tmp_path_factory.mktemp("faulty-logs")
    with Deployment(settings, api_procs=1, janitors=0, log_dir=logs) as dep:
        yield dep


def test_admin_surface_does_not_exist_without_an_admin_key(
    faulty: Deployment, redis_client: redis.Redis
) -> None:
    r = httpx.post(faulty.base_url + "/admin/janitor/run", headers={"Authorization": "Bearer x"})
    assert_error(r, 404, "not_found")


def test_injected_abort_is_500_injected_fault_and_loses_the_naive_task(
    faulty: Deployment, redis_client: redis.Redis
) -> None:
    with httpx.Client(base_url=faulty.base_url, timeout=10) as http:
        task_id = submit(http, 1)
        r = http.get("/tasks/next", headers={"X-Worker-Id": "w1"})
        assert (r.status_code, r.json()) == (
            500,
            {"error": "injected_fault", "detail": "after_pop"},
        )
        view = http.get(f"/tasks/{task_id}").json()
        assert (view["status"], view["pending_copies"], view["in_processing"]) == (
            "missing",
            0,
            False,
        )


def test_every_log_line_of_a_request_carries_its_id(
    faulty: Deployment, redis_client: redis.Redis
) -> None:
    rid = "trace-me-42"
    with httpx.Client(base_url=faulty.base_url, timeout=10) as http:
        submit(http, 1)
        r = http.get("/tasks/next", headers={"X-Worker-Id": "w1", "X-Request-Id": rid})
        assert r.headers["x-request-id"] == rid
    # the fault point firing, the handler dying there, the access line of the 500
    lines = lines_with(faulty.api_log, rid, 3, seconds=30)
    assert any("injected abort at after_pop" in line for line in lines), lines
    assert any("GET /tasks/next -> 500" in line for line in lines), lines
