"""The instrumented client: what each HTTP answer becomes in the history and in Locust.

The HTTP side is a canned-answer session (the contract's answers, byte for byte); the
recorder is the real one writing a real shard, read back as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.locust.client import Lease, NullHistory, QueueClient
from harness.recorder import Recorder


class Answered:
    """What Locust's FastHttpSession hands back with ``catch_response=True``."""

    def __init__(self, status: int, body: Any = None) -> None:
        self.status_code = status
        self.content = b"" if body is None else json.dumps(body).encode()
        self.error = "ConnectionRefusedError" if status == 0 else None
        self.locust: str | None = None

    def json(self) -> Any:
        return json.loads(self.content)

    def success(self) -> None:
        self.locust = "success"

    def failure(self, why: str) -> None:
        self.locust = f"failure: {why}"

    def __enter__(self) -> Answered:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class CannedSession:
    def __init__(self, *answers: Answered) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, str, dict[str, Any]]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Answered:
        self.requests.append((method, url, kwargs))
        return self.answers.pop(0)


LEASE = Lease(task_id="t-1", payload={}, attempt=1, token="tok", expires_at=1e9)


def _client(tmp_path: Path, *answers: Answered) -> tuple[QueueClient, CannedSession, Path]:
    recorder = Recorder(tmp_path, "shard.jsonl")
    session = CannedSession(*answers)
    return QueueClient(session, recorder, api_key="k", admin_key="adm"), session, recorder.path


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_submit_created_and_already_there_are_both_ok(tmp_path: Path) -> None:
    client, session, path = _client(tmp_path, Answered(201, {"task_id": "a"}), Answered(200))
    client.submit("producer-1.0@h:1", "a", {"x": 1})
    client.submit("producer-1.0@h:1", "a", {"x": 1})
    invoke, ok, _, again = _lines(path)
    assert (invoke["type"], invoke["f"], invoke["task_id"]) == ("invoke", "submit", "a")
    assert (ok["type"], ok["status"], ok["value"]) == ("ok", 201, {"created": True})
    assert (again["type"], again["value"]) == ("ok", {"created": False})
    method, url, kwargs = session.requests[0]
    assert (method, url) == ("POST", "/tasks")
    assert kwargs["json"] == {"task_id": "a", "payload": {"x": 1}}
    assert kwargs["headers"]["Authorization"] == "Bearer k"
    assert kwargs["headers"]["X-Request-Id"] == invoke["request_id"]


def test_claim_ok_nothing_pending_and_unknown(tmp_path: Path) -> None:
    body = {"task_id": "t-1", "payload": {}, "attempt": 2,
            "lease": {"token": "tok", "expires_at": 1234.5}}  # fmt: skip
    client, _, path = _client(tmp_path, Answered(200, body), Answered(204), Answered(503))
    outcome, lease = client.claim("w-1.0@h:1", "w-1.0-h:1")
    assert lease == Lease(task_id="t-1", payload={}, attempt=2, token="tok", expires_at=1234.5)
    assert str(outcome) == "ok"
    assert client.claim("w-1.0@h:1", "w-1.0-h:1") == (outcome, None)  # 204: ok, no task
    assert str(client.claim("w-1.0@h:1", "w-1.0-h:1")[0]) == "info"
    lines = _lines(path)
    assert [(e["type"], e.get("task_id")) for e in lines] == [
        ("invoke", None), ("ok", "t-1"), ("invoke", None), ("ok", None), ("invoke", None),
        ("info", None),
    ]  # fmt: skip
    assert (lines[1]["token"], lines[1]["expires_at"], lines[1]["worker_id"]) == (
        "tok",
        1234.5,
        "w-1.0-h:1",
    )


def test_naive_claim_without_lease_has_no_token(tmp_path: Path) -> None:
    body = {"task_id": "t-1", "payload": None, "attempt": 1, "lease": None}
    client, _, _ = _client(tmp_path, Answered(200, body))
    assert client.claim("w@h:1", "w")[1] == Lease(
        task_id="t-1", payload=None, attempt=1, token=None, expires_at=None
    )


@pytest.mark.parametrize(
    ("status", "body", "event", "locust"),
    [
        (200, {"task_id": "t-1", "status": "completed"}, "ok", "success"),
        (409, {"error": "lease_lost", "detail": "..."}, "fail", "success"),
        (404, {"error": "not_found", "detail": "..."}, "fail", "failure: HTTP 404: not_found"),
        (503, {"error": "unavailable", "detail": "..."}, "info", "failure: HTTP 503: unavailable"),
        (0, None, "info", "failure: HTTP 0: ConnectionRefusedError"),
    ],
)
def test_complete_answers_map_to_ok_fail_info(
    tmp_path: Path, status: int, body: Any, event: str, locust: str
) -> None:
    answer = Answered(status, body)
    client, session, path = _client(tmp_path, answer)
    client.complete("w@h:1", "w", LEASE, {"r": 1})
    invoke, done = _lines(path)
    assert (invoke["f"], invoke["token"], invoke["task_id"]) == ("complete", "tok", "t-1")
    assert done["type"] == event
    assert answer.locust == locust  # a 409 is a correct answer, not a Locust failure
    if event == "fail":
        assert done["error"] == body["error"]
    assert session.requests[0][1] == "/tasks/t-1/complete"


def test_fail_says_whether_it_asked_for_a_retry(tmp_path: Path) -> None:
    client, session, path = _client(tmp_path, Answered(200, {"status": "pending"}))
    client.fail("w@h:1", "w", LEASE, "boom", retry=True)
    invoke, ok = _lines(path)
    assert invoke["value"] == {"retry": True}
    assert ok["value"] == {"status": "pending"}
    assert session.requests[0][2]["json"] == {"token": "tok", "error": "boom", "retry": True}


def test_janitor_records_one_rescue_per_requeued_task(tmp_path: Path) -> None:
    client, session, path = _client(
        tmp_path, Answered(200, {"rescued": ["a", "b"]}), Answered(401, {"error": "unauthorized"})
    )
    assert client.janitor_run("janitor-1.0@h:1") == ["a", "b"]
    assert client.janitor_run("janitor-1.0@h:1") is None  # nothing known: nothing recorded
    lines = _lines(path)
    assert [(e["type"], e["f"], e["task_id"]) for e in lines] == [
        ("invoke", "rescue", "a"), ("ok", "rescue", "a"),
        ("invoke", "rescue", "b"), ("ok", "rescue", "b"),
    ]  # fmt: skip
    assert lines[0]["time_ns"] == lines[2]["time_ns"]  # both invoked when the sweep began
    assert session.requests[0][2]["headers"]["Authorization"] == "Bearer adm"


def test_null_history_makes_the_same_calls_and_writes_nothing(tmp_path: Path) -> None:
    session = CannedSession(Answered(201))
    client = QueueClient(session, NullHistory(), api_key=None, admin_key=None)
    assert client.submit("p@h:1", "a", 1).status == 201
    assert "Authorization" not in session.requests[0][2]["headers"]
    assert list(tmp_path.iterdir()) == []
