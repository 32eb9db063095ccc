"""The client plug-in (DESIGN.md §11): how the harness talks to a deployment.

A deployment that speaks the worker API of DESIGN.md §3 needs nothing written. One whose
API differs — other paths, field names, status codes, auth scheme, a claim that is a
``POST`` — plugs in with a small class named on the command line
(``locust -f scenarios --client module:Class`` or ``--client path/to/file.py:Class``)
that satisfies :class:`DeploymentClient`: one method per operation, each making the
deployment's own request(s) and answering in the contract's terms (an :class:`Answer`
with the contract's status code and JSON body for what happened). The harness does the
rest around it: it records every call as a history op, feeds Locust's statistics, and
judges the run. :class:`ContractClient` is the default: §3 over HTTP with httpx.

What the status codes of an :class:`Answer` mean to the harness (classify_http):
2xx took effect (``204`` on a claim: nothing pending), ``409`` definitely had no effect
(a stale or unknown lease), ``429`` rejected, back off for ``retry_after``; any other
4xx a definite rejection; ``0`` (no answer: timeout, reset) and 5xx unknown.

A worked example: docs/custom-client.md.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable
from urllib.parse import quote

import httpx
import orjson

from harness.errors import ConfigError
from harness.events import EventType
from harness.recorder import classify_http

NO_ANSWER = 0  # Answer.status when the request got no answer (timeout, reset)
RATE_LIMITED = 429  # over the deployment's per-worker rate limit: no effect, back off
DEFAULT_BACKOFF = 1.0  # seconds, when a 429 carries no usable Retry-After


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """A claimed task, as ``GET /tasks/next`` describes it."""

    task_id: str
    payload: Any
    attempt: int
    token: str | None  # None on deployments without fencing tokens (naive)
    expires_at: float | None  # epoch seconds; None when the deployment gives no lease


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """One operation's outcome in the contract's terms (§3): status code and JSON body."""

    status: int  # 0: no answer (timeout, connection reset)
    body: Any  # the decoded JSON, or None
    error: str | None = None  # the contract's error code, or the transport's failure
    retry_after: float | None = None  # seconds, from Retry-After on a 429 / 503

    @property
    def outcome(self) -> EventType:
        """What the answer makes of the op in the history (:func:`classify_http`)."""
        return classify_http(self.status)

    @property
    def rate_limited(self) -> bool:
        return self.status == RATE_LIMITED

    @property
    def backoff(self) -> float:
        """How long to wait before this worker's next request after a 429."""
        return self.retry_after if self.retry_after is not None else DEFAULT_BACKOFF


@runtime_checkable
class DeploymentClient(Protocol):
    """A deployment's worker API, answered in the contract's terms (DESIGN.md §3).

    Constructed as ``Class(base_url, api_key=...)``, one per Locust user (so it may keep
    a connection); methods are called one at a time. Bodies of the answers:

    ========= ========================= ===========================================
    method    success status            body
    ========= ========================= ===========================================
    submit    201 new, 200 known id     ``{"task_id"}``
    claim     200, 204 nothing pending  ``{"task_id", "payload", "attempt",
                                        "lease": {"token", "expires_at"} | None}``
    complete  200 (409 lease lost)      ``{"task_id", "status": "completed"}``
    fail      200 (409 lease lost)      ``{"task_id", "status": "pending"|"failed"}``
    heartbeat 200                       ``{"worker_id", "leases_extended"}``
    status    200 (404 unknown id)      ``{"task_id", "status", "attempts", "worker_id"}``
    stats     200                       ``{"pending", "processing", "completed", "failed"}``
    ========= ========================= ===========================================
    """

    def submit(self, task_id: str, payload: Any) -> Answer: ...
    def claim(self, worker_id: str) -> Answer: ...
    def complete(self, worker_id: str, lease: Lease, result: Any) -> Answer: ...
    def fail(self, worker_id: str, lease: Lease, error: str, retry: bool) -> Answer: ...
    def heartbeat(self, worker_id: str) -> Answer: ...
    def status(self, task_id: str) -> Answer: ...
    def stats(self) -> Answer: ...
    def close(self) -> None: ...


class ClientFactory(Protocol):
    def __call__(self, base_url: str, *, api_key: str | None) -> DeploymentClient: ...


class ContractClient:
    """The default: DESIGN.md §3 over HTTP (httpx), answers passed through as they come."""

    def __init__(self, base_url: str, *, api_key: str | None, timeout: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    def submit(self, task_id: str, payload: Any) -> Answer:
        return self._send("POST", "/tasks", json={"task_id": task_id, "payload": payload})

    def claim(self, worker_id: str) -> Answer:
        return self._send("GET", "/tasks/next", worker=worker_id)

    def complete(self, worker_id: str, lease: Lease, result: Any) -> Answer:
        body = {"token": lease.token, "result": result}
        return self._send("POST", f"/tasks/{_q(lease.task_id)}/complete", body, worker_id)

    def fail(self, worker_id: str, lease: Lease, error: str, retry: bool) -> Answer:
        body = {"token": lease.token, "error": error, "retry": retry}
        return self._send("POST", f"/tasks/{_q(lease.task_id)}/fail", body, worker_id)

    def heartbeat(self, worker_id: str) -> Answer:
        return self._send("POST", f"/workers/{_q(worker_id)}/heartbeat", worker=worker_id)

    def status(self, task_id: str) -> Answer:
        return self._send("GET", f"/tasks/{_q(task_id)}")

    def stats(self) -> Answer:
        return self._send("GET", "/stats")

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, json: Any = None, worker: str | None = None) -> Answer:
        headers = {"X-Worker-Id": worker} if worker else {}
        try:
            response = self._http.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            return Answer(status=NO_ANSWER, body=None, error=f"{type(exc).__name__}: {exc}")
        return answer_of(response.status_code, response.content, response.headers)


def answer_of(status: int, content: bytes, headers: Any) -> Answer:
    """An :class:`Answer` from a contract-speaking HTTP response's parts."""
    body = _json(content)
    error = body.get("error") if isinstance(body, dict) else None
    return Answer(
        status=status,
        body=body,
        error=str(error) if isinstance(error, str) else None,
        retry_after=retry_after(headers),
    )


def retry_after(headers: Any) -> float | None:
    """``Retry-After`` in seconds (the contract sends whole seconds), or None."""
    try:
        seconds = float((headers or {}).get("Retry-After", ""))
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def lease_of(body: Any) -> Lease | None:
    """The lease a claim's 200 body describes, or None when it is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("task_id"), str):
        return None
    given = body.get("lease")
    lease: dict[str, Any] = given if isinstance(given, dict) else {}
    expires_at, token, attempt = lease.get("expires_at"), lease.get("token"), body.get("attempt")
    return Lease(
        task_id=body["task_id"],
        payload=body.get("payload"),
        attempt=attempt if isinstance(attempt, int) else 0,
        token=str(token) if token is not None else None,
        expires_at=float(expires_at) if isinstance(expires_at, int | float) else None,
    )


def load_client(spec: str) -> ClientFactory:
    """The class named by ``module:Class`` or ``path/to/file.py:Class``.

    Raises :class:`ConfigError` with one line saying what is wrong.
    """
    where, _, name = spec.rpartition(":")
    if not where or not name:
        raise ConfigError(f"--client {spec!r}: expected module:Class or path/to/file.py:Class")
    try:
        module = _module(where)
    except Exception as exc:  # an import of the user's code: any error is a bad setting
        raise ConfigError(f"--client {spec!r}: cannot import {where}: {exc}") from exc
    factory = getattr(module, name, None)
    if not isinstance(factory, type):
        raise ConfigError(f"--client {spec!r}: {where} has no class {name}")
    missing = [m for m in _METHODS if not callable(getattr(factory, m, None))]
    if missing:
        raise ConfigError(f"--client {spec!r}: {name} lacks {', '.join(missing)}")
    return cast(ClientFactory, factory)


_METHODS = ("submit", "claim", "complete", "fail", "heartbeat", "status", "stats", "close")


def _module(where: str) -> Any:
    if where.endswith(".py") or "/" in where:
        path = Path(where).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no file {path}")
        module_name = f"qharness_client_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"not a Python file: {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # as `python -m` would: the user's own modules
    return importlib.import_module(where)


def _json(content: bytes) -> Any:
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _q(part: str) -> str:
    return quote(part, safe="")
