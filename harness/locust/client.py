"""The instrumented API client: every request feeds Locust's statistics *and* the history.

Each call is one op of one Jepsen process: the invoke is recorded before the request
leaves, and exactly one completion after the answer, classified by
:func:`harness.recorder.classify_http` (2xx ok, 4xx fail, 5xx / no answer info). Locust
sees the same request through its ``request`` event (FastHttpSession with
``catch_response``), counted as a success when the status is one the contract allows
for that endpoint (a 409 on a stale completion is a correct answer, not an error).

A ``429 rate_limited`` (a deployment with ``--rate-limit``) is a definite rejection:
``classify_http`` makes it a ``fail`` in the history, Locust counts it as an expected
answer, and :attr:`Answer.retry_after` tells the actor how long to back off.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Protocol

from harness.events import EventType, Op
from harness.recorder import classify_http

RATE_LIMITED = 429  # over the deployment's per-worker rate limit: no effect, back off
DEFAULT_BACKOFF = 1.0  # seconds, when a 429 carries no usable Retry-After


class OpLike(Protocol):
    def ok(self, **fields: Any) -> None: ...
    def fail(self, **fields: Any) -> None: ...
    def info(self, **fields: Any) -> None: ...


class History(Protocol):
    """What the client needs of :class:`harness.recorder.Recorder`."""

    def op(
        self,
        process: str,
        f: Op,
        *,
        task_id: str | None = None,
        token: str | None = None,
        worker_id: str | None = None,
        **invoke_fields: Any,
    ) -> OpLike: ...

    def write(self, data: dict[str, Any]) -> None: ...


class _NoOp:
    def ok(self, **fields: Any) -> None:
        pass

    def fail(self, **fields: Any) -> None:
        pass

    def info(self, **fields: Any) -> None:
        pass


class NullHistory:
    """Recording switched off (``--no-record``): same calls, nothing written."""

    _op = _NoOp()

    def op(self, process: str, f: Op, **fields: Any) -> OpLike:
        return self._op

    def write(self, data: dict[str, Any]) -> None:
        pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """A claimed task, as ``GET /tasks/next`` described it."""

    task_id: str
    payload: Any
    attempt: int
    token: str | None  # None on deployments without fencing tokens (naive)
    expires_at: float | None  # epoch seconds; None when the deployment gives no lease


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    status: int  # 0: no answer (timeout, connection reset)
    body: Any  # the decoded JSON, or None
    error: str | None = None  # the contract's error code, or the transport's failure
    retry_after: float | None = None  # seconds, from Retry-After on a 429 / 503

    @property
    def outcome(self) -> EventType:
        return classify_http(self.status)

    @property
    def rate_limited(self) -> bool:
        return self.status == RATE_LIMITED

    @property
    def backoff(self) -> float:
        """How long to wait before this worker's next request after a 429."""
        return self.retry_after if self.retry_after is not None else DEFAULT_BACKOFF


class Session(Protocol):
    """The part of Locust's FastHttpSession the client uses."""

    def request(self, method: str, url: str, **kwargs: Any) -> Any: ...


class QueueClient:
    """One user's view of the worker API; ``history`` records, ``session`` measures."""

    def __init__(
        self, session: Session, history: History, *, api_key: str | None, admin_key: str | None
    ) -> None:
        self._session = session
        self.history = history
        self._auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._admin_key = admin_key
        self.last_answer: Answer | None = None  # the latest claim's answer

    def call(
        self,
        method: str,
        path: str,
        *,
        name: str,
        expected: frozenset[int],
        json: Any = None,
        headers: dict[str, str] | None = None,
        rid: str | None = None,
    ) -> Answer:
        """One HTTP request through Locust's session; never raises for an answer."""
        request_headers = {**self._auth, **(headers or {})}
        if rid is not None:
            request_headers["X-Request-Id"] = rid
        with self._session.request(
            method, path, name=name, json=json, headers=request_headers, catch_response=True
        ) as response:
            status = int(response.status_code or 0)
            answer = Answer(
                status=status,
                body=_body(response),
                error=_error(response, status),
                retry_after=_retry_after(response),
            )
            if status in expected:
                response.success()
            else:
                response.failure(f"HTTP {status}: {answer.error or 'unexpected answer'}")
        return answer

    def submit(self, process: str, task_id: str, payload: Any) -> Answer:
        rid = request_id()
        rec = self.history.op(process, Op.SUBMIT, task_id=task_id, request_id=rid)
        answer = self.call(
            "POST",
            "/tasks",
            name="/tasks",
            expected=frozenset({200, 201}),
            json={"task_id": task_id, "payload": payload},
            rid=rid,
        )
        _finish(rec, answer, value={"created": answer.status == 201})
        return answer

    def claim(self, process: str, worker_id: str) -> tuple[EventType, Lease | None]:
        """(ok, lease) on a claim, (ok, None) when nothing is pending, else (fail|info, None).

        After a 429 the answer is in :attr:`last_answer` (its ``backoff``)."""
        rid = request_id()
        rec = self.history.op(process, Op.CLAIM, worker_id=worker_id, request_id=rid)
        answer = self.call(
            "GET",
            "/tasks/next",
            name="/tasks/next",
            expected=frozenset({200, 204, RATE_LIMITED}),
            headers={"X-Worker-Id": worker_id},
            rid=rid,
        )
        self.last_answer = answer
        lease = _lease(answer.body) if answer.status == 200 else None
        if answer.status == 200 and lease is None:
            rec.info(status=answer.status, error="unreadable claim answer")
            return EventType.INFO, None
        if lease is None:
            _finish(rec, answer)
        else:
            rec.ok(
                status=answer.status,
                task_id=lease.task_id,
                token=lease.token,
                expires_at=lease.expires_at,
                value={"attempt": lease.attempt},
            )
        return answer.outcome, lease

    def complete(self, process: str, worker_id: str, lease: Lease, result: Any) -> Answer:
        return self._finish_task(
            process, worker_id, lease, Op.COMPLETE, {"token": lease.token, "result": result}
        )

    def fail(self, process: str, worker_id: str, lease: Lease, error: str, retry: bool) -> Answer:
        body = {"token": lease.token, "error": error, "retry": retry}
        # The invoke says whether a retry was asked for: the checks tell a fail that
        # re-queues (not a finish) from a terminal one by it.
        return self._finish_task(process, worker_id, lease, Op.FAIL, body, {"retry": retry})

    def _finish_task(
        self,
        process: str,
        worker_id: str,
        lease: Lease,
        f: Op,
        body: dict[str, Any],
        invoke_value: dict[str, Any] | None = None,
    ) -> Answer:
        rid = request_id()
        rec = self.history.op(
            process,
            f,
            task_id=lease.task_id,
            token=lease.token,
            worker_id=worker_id,
            request_id=rid,
            value=invoke_value,
        )
        answer = self.call(
            "POST",
            f"/tasks/{lease.task_id}/{f}",
            name=f"/tasks/[id]/{f}",
            expected=frozenset({200, 409, RATE_LIMITED}),
            json=body,
            headers={"X-Worker-Id": worker_id},
            rid=rid,
        )
        status = answer.body.get("status") if isinstance(answer.body, dict) else None
        _finish(rec, answer, value={"status": status} if status else None)
        return answer

    def heartbeat(self, process: str, worker_id: str) -> Answer:
        rid = request_id()
        rec = self.history.op(process, Op.HEARTBEAT, worker_id=worker_id, request_id=rid)
        answer = self.call(
            "POST",
            f"/workers/{worker_id}/heartbeat",
            name="/workers/[id]/heartbeat",
            expected=frozenset({200, RATE_LIMITED}),
            headers={"X-Worker-Id": worker_id},
            rid=rid,
        )
        value = answer.body.get("leases_extended") if isinstance(answer.body, dict) else None
        _finish(rec, answer, value=value)
        return answer

    def janitor_run(self, process: str) -> list[str] | None:
        """Drive the deployment's janitor once; ``None`` when the call failed.

        Recorded like the reference janitor records its sweeps: each re-queued id is one
        ``rescue`` op, invoked when the sweep began and ok when it answered. A failed
        call records nothing: like a janitor that died mid-sweep, whatever it re-queued
        is unknown (the checks infer it from later claims).
        """
        start_ns = time.time_ns()
        headers = {"Authorization": f"Bearer {self._admin_key}"} if self._admin_key else {}
        answer = self.call(
            "POST",
            "/admin/janitor/run",
            name="/admin/janitor/run",
            expected=frozenset({200}),
            headers=headers,
            rid=request_id(),
        )
        rescued = answer.body.get("rescued") if isinstance(answer.body, dict) else None
        if answer.status != 200 or not isinstance(rescued, list):
            return None
        ids = [str(task_id) for task_id in rescued]
        for task_id in ids:
            rec = self.history.op(process, Op.RESCUE, task_id=task_id, time_ns=start_ns)
            rec.ok(status=answer.status)
        return ids


def request_id() -> str:
    return os.urandom(8).hex()


def _body(response: Any) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _error(response: Any, status: int) -> str | None:
    body = _body(response)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    if status == 0:
        return str(getattr(response, "error", None) or "no answer")
    return None


def _retry_after(response: Any) -> float | None:
    """Retry-After in seconds (the API sends whole seconds), or None."""
    headers = getattr(response, "headers", None) or {}
    try:
        seconds = float(headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def _lease(body: Any) -> Lease | None:
    if not isinstance(body, dict) or not isinstance(body.get("task_id"), str):
        return None
    given = body.get("lease")
    lease: dict[str, Any] = given if isinstance(given, dict) else {}
    expires_at = lease.get("expires_at")
    token = lease.get("token")
    return Lease(
        task_id=body["task_id"],
        payload=body.get("payload"),
        attempt=int(body.get("attempt") or 0),
        token=str(token) if token is not None else None,
        expires_at=float(expires_at) if isinstance(expires_at, int | float) else None,
    )


def _finish(rec: OpLike, answer: Answer, **ok_fields: Any) -> None:
    outcome = answer.outcome
    if outcome is EventType.OK:
        rec.ok(status=answer.status, **ok_fields)
    elif outcome is EventType.FAIL:
        rec.fail(status=answer.status, error=answer.error)
    else:
        rec.info(status=answer.status or None, error=answer.error)
