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

import logging
import os
import time
from collections.abc import Callable
from typing import Any, Protocol

from harness.clients import (
    RATE_LIMITED,
    Answer,
    DeploymentClient,
    Lease,
    lease_of,
    retry_after,
)
from harness.events import EventType, Op

__all__ = ["RATE_LIMITED", "Answer", "History", "Lease", "NullHistory", "QueueClient"]

logger = logging.getLogger(__name__)

PLUGIN_REQUEST_TYPE = "client"  # Locust's request type of the calls of a --client plug-in


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


class Session(Protocol):
    """The part of Locust's FastHttpSession the client uses."""

    def request(self, method: str, url: str, **kwargs: Any) -> Any: ...


SUBMITTED = frozenset({200, 201})
CLAIMED = frozenset({200, 204, RATE_LIMITED})
FINISHED = frozenset({200, 409, RATE_LIMITED})
BEAT = frozenset({200, RATE_LIMITED})
VIEWED = frozenset({200, 404})


class PluginAnswer(Exception):
    """The Locust failure of a plug-in call whose answer the contract does not expect."""


class QueueClient:
    """One user's view of the worker API; ``history`` records, ``session`` measures.

    With ``plugin`` (a ``--client`` class instance) every call goes through it instead
    of the session, and is reported to Locust through ``request_event`` as
    ``client:<op>``; the history is recorded the same way either way.
    """

    def __init__(
        self,
        session: Session,
        history: History,
        *,
        api_key: str | None,
        admin_key: str | None,
        plugin: DeploymentClient | None = None,
        request_event: Any = None,
    ) -> None:
        self._session = session
        self.history = history
        self._auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._admin_key = admin_key
        self.plugin = plugin
        self._request_event = request_event
        self.last_answer: Answer | None = None  # the latest claim's answer

    def via_plugin(
        self, op: str, expected: frozenset[int], call: Callable[[DeploymentClient], Answer]
    ) -> Answer:
        """One call of the plug-in, timed and reported to Locust like an HTTP request."""
        assert self.plugin is not None
        began = time.perf_counter()
        try:
            answer = call(self.plugin)
        except Exception as exc:  # the user's code: an escaping error is an unknown outcome
            logger.exception("--client %s raised", op)
            answer = Answer(status=0, body=None, error=f"{type(exc).__name__}: {exc}")
        failure = None
        if answer.status not in expected:
            failure = PluginAnswer(f"answer {answer.status}: {answer.error or 'unexpected'}")
        if self._request_event is not None:
            self._request_event.fire(
                request_type=PLUGIN_REQUEST_TYPE,
                name=f"client:{op}",
                response_time=(time.perf_counter() - began) * 1000,
                response_length=0,
                exception=failure,
                context={},
            )
        return answer

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
                retry_after=retry_after(getattr(response, "headers", None)),
            )
            if status in expected:
                response.success()
            else:
                response.failure(f"HTTP {status}: {answer.error or 'unexpected answer'}")
        return answer

    def submit(self, process: str, task_id: str, payload: Any) -> Answer:
        rid = request_id()
        rec = self.history.op(process, Op.SUBMIT, task_id=task_id, request_id=rid)
        if self.plugin is not None:
            answer = self.via_plugin("submit", SUBMITTED, lambda c: c.submit(task_id, payload))
        else:
            answer = self.call(
                "POST",
                "/tasks",
                name="/tasks",
                expected=SUBMITTED,
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
        if self.plugin is not None:
            answer = self.via_plugin("claim", CLAIMED, lambda c: c.claim(worker_id))
        else:
            answer = self.call(
                "GET",
                "/tasks/next",
                name="/tasks/next",
                expected=CLAIMED,
                headers={"X-Worker-Id": worker_id},
                rid=rid,
            )
        self.last_answer = answer
        lease = lease_of(answer.body) if answer.status == 200 else None
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
        if self.plugin is not None:
            answer = self.via_plugin(
                str(f), FINISHED, lambda c: _plugin_finish(c, f, worker_id, lease, body)
            )
        else:
            answer = self.call(
                "POST",
                f"/tasks/{lease.task_id}/{f}",
                name=f"/tasks/[id]/{f}",
                expected=FINISHED,
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
        if self.plugin is not None:
            answer = self.via_plugin("heartbeat", BEAT, lambda c: c.heartbeat(worker_id))
        else:
            answer = self.call(
                "POST",
                f"/workers/{worker_id}/heartbeat",
                name="/workers/[id]/heartbeat",
                expected=BEAT,
                headers={"X-Worker-Id": worker_id},
                rid=rid,
            )
        value = answer.body.get("leases_extended") if isinstance(answer.body, dict) else None
        _finish(rec, answer, value=value)
        return answer

    def status(self, task_id: str) -> Answer:
        """Where the task is now (``GET /tasks/{id}``): an observation, not a history op."""
        if self.plugin is not None:
            return self.via_plugin("status", VIEWED, lambda c: c.status(task_id))
        return self.call(
            "GET", f"/tasks/{task_id}", name="/tasks/[id]", expected=VIEWED, rid=request_id()
        )

    def janitor_run(self, process: str) -> list[str] | None:
        """Drive the deployment's janitor once; ``None`` when the call failed.

        Recorded like the reference janitor records its sweeps: each re-queued id is one
        ``rescue`` op, invoked when the sweep began and ok when it answered. A failed
        call records nothing: like a janitor that died mid-sweep, whatever it re-queued
        is unknown (the checks infer it from later claims). Not available through a
        ``--client`` plug-in (the admin endpoint is the contract's own).
        """
        if self.plugin is not None:
            return None
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


def _plugin_finish(
    client: DeploymentClient, f: Op, worker_id: str, lease: Lease, body: dict[str, Any]
) -> Answer:
    if f is Op.COMPLETE:
        return client.complete(worker_id, lease, body.get("result"))
    return client.fail(worker_id, lease, str(body.get("error", "")), bool(body.get("retry")))


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


def _finish(rec: OpLike, answer: Answer, **ok_fields: Any) -> None:
    outcome = answer.outcome
    if outcome is EventType.OK:
        rec.ok(status=answer.status, **ok_fields)
    elif outcome is EventType.FAIL:
        rec.fail(status=answer.status, error=answer.error)
    else:
        rec.info(status=answer.status or None, error=answer.error)
