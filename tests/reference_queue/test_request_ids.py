"""Request ids across two API processes: the id a client sends (or one the API makes)
comes back in ``X-Request-Id`` and is on every log line the API writes for that request
(the handler's lines and the access line), in the deployment's ``api.log`` — the link
from a history event's ``request_id`` to the server's account of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from harness.servers import Deployment
from reference_queue.settings import ServeSettings
from tests.reference_queue.logs import lines_with

W1 = {"X-Worker-Id": "w1"}


@pytest.fixture
def dep(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Deployment]:
    settings = ServeSettings(impl="safe", redis_url=redis_url, log_level="info")
    with Deployment(settings, api_procs=2, janitors=0, log_dir=tmp_path) as d:
        yield d


def test_a_given_id_round_trips_and_marks_every_line_of_its_request(dep: Deployment) -> None:
    ids = [f"hist-{n}" for n in range(4)]
    sent = [
        httpx.post(dep.base_url + "/tasks", json={"payload": 1}, headers={"X-Request-Id": ids[0]}),
        httpx.get(dep.base_url + "/tasks/next", headers={**W1, "X-Request-Id": ids[1]}),
    ]
    task = sent[1].json()
    body = {"token": task["lease"]["token"]}
    done = f"/tasks/{task['task_id']}/complete"
    sent.append(httpx.post(dep.base_url + done, json=body, headers={**W1, "X-Request-Id": ids[2]}))
    sent.append(httpx.post(dep.base_url + done, json=body, headers={**W1, "X-Request-Id": ids[3]}))
    assert [r.status_code for r in sent] == [201, 200, 200, 409]
    assert [r.headers["x-request-id"] for r in sent] == ids
    claim_lines = lines_with(dep.api_log, f"[{ids[1]}]", 2)
    assert any(f"claim {task['task_id']} by w1" in line for line in claim_lines), claim_lines
    assert any("GET /tasks/next -> 200" in line for line in claim_lines), claim_lines
    refused = lines_with(dep.api_log, f"[{ids[3]}]", 2)
    assert any("not_processing" in line for line in refused), refused
    assert any(f"POST {done} -> 409" in line for line in refused), refused
    # and no line of one request carries another's id
    for rid, other in [(ids[1], ids[3]), (ids[3], ids[1])]:
        assert not any(other in line for line in lines_with(dep.api_log, f"[{rid}]", 2))


def test_a_made_id_is_on_the_log_lines_too(dep: Deployment) -> None:
    r = httpx.get(dep.base_url + "/tasks/next", headers=W1)
    assert r.status_code == 204
    rid = r.headers["x-request-id"]
    assert len(rid) == 32
    lines = lines_with(dep.api_log, f"[{rid}]", 1)
    assert any("GET /tasks/next -> 204" in line for line in lines), lines
