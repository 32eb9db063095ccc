"""The worker HTTP API (DESIGN.md section 3): ``create_app(settings)`` serves either queue.

Both deployments run the *same* queue generators through :func:`drive` (with the
configured fault points); they differ only in where that synchronous code runs:

- naive keeps the note's shape: ``async def`` endpoints calling the synchronous
  redis-py client, so every Redis round trip (and every injected delay) blocks the
  event loop of its process — F13, part of the specimen;
- safe uses plain ``def`` endpoints, which Starlette runs on its thread pool: the
  event loop never waits on Redis. Measured (``python -m benchmarks.api``, 2 shared
  cores) against the same Lua scripts as ``async def`` endpoints on ``redis.asyncio``:
  median 510 vs 534 claim+complete/s, within the run-to-run noise (383 to 997), so the
  simpler choice stays — one synchronous queue code path, shared with the explorer.

uvicorn with ``--workers N`` imports the app by string: :func:`app_from_env` is the
``--factory`` target and rebuilds :class:`ServeSettings` from ``QHARNESS_SERVE_*``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hmac
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import orjson
import redis
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from harness.settings import serve_env
from reference_queue import api_models as m
from reference_queue.api_support import (
    ApiError,
    RequestContext,
    configure_logging,
    install_error_handlers,
    json_response,
)
from reference_queue.client import bounded_client
from reference_queue.factory import make_queue
from reference_queue.faults import Faults
from reference_queue.janitor import Janitor
from reference_queue.settings import Impl, ServeSettings, SettingsError
from reference_queue.types import Outcome, TaskId, TaskQueue, TaskView, WorkerId, drive

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_CONFLICT_DETAIL = {
    Outcome.LEASE_LOST: "the token is stale or missing (the lease expired or another claim "
    "superseded it): nothing changed",
    Outcome.NOT_PROCESSING: "the task is not being processed: nothing changed",
}


class Service:
    """The queue plus what each request needs; every method is synchronous on purpose."""

    def __init__(self, settings: ServeSettings, client: redis.Redis) -> None:
        self.settings = settings
        self.client = client
        self.faults = Faults.parse(settings.faults)
        self.queue: TaskQueue = make_queue(
            settings.impl,
            client,
            lease_timeout=settings.lease_timeout,
            max_attempts=settings.max_attempts,
        )

    def submit(self, body: m.SubmitBody) -> Response:
        payload = _encode(body.payload, "payload")
        task_id = TaskId(body.task_id) if body.task_id else None
        done = drive(self.queue.submit(payload, task_id), self.faults, op="submit")
        logger.info("submit %s created=%s", done.task_id, done.created)
        return json_response({"task_id": done.task_id}, 201 if done.created else 200)

    def claim(self, worker: str) -> Response:
        claim = drive(self.queue.claim(WorkerId(worker)), self.faults, op="claim")
        if claim is None:
            return Response(status_code=204)
        logger.info("claim %s by %s attempt %d", claim.task_id, worker, claim.attempt)
        lease = None
        if claim.token is not None and claim.expires_at is not None:
            lease = {"token": claim.token, "expires_at": claim.expires_at}
        return json_response(
            {
                "task_id": claim.task_id,
                "payload": orjson.Fragment(claim.payload),  # stored as JSON text already
                "attempt": claim.attempt,
                "lease": lease,
            }
        )

    def complete(self, task_id: str, worker: str, body: m.CompleteBody | None) -> Response:
        body = body or m.CompleteBody()
        result = None if body.result is None else _encode(body.result, "result")
        steps = self.queue.complete(TaskId(task_id), WorkerId(worker), body.token, result)
        return self._finished(task_id, worker, drive(steps, self.faults, op="complete"))

    def fail(self, task_id: str, worker: str, body: m.FailBody) -> Response:
        steps = self.queue.fail(
            TaskId(task_id), WorkerId(worker), body.token, body.error, body.retry
        )
        return self._finished(task_id, worker, drive(steps, self.faults, op="fail"))

    def _finished(self, task_id: str, worker: str, outcome: Outcome) -> Response:
        logger.info("%s by %s: %s", task_id, worker, outcome)
        if outcome.accepted:
            return json_response({"task_id": task_id, "status": str(outcome)})
        if outcome is Outcome.NOT_FOUND:
            raise ApiError(404, "not_found", f"no task {task_id!r}")
        raise ApiError(409, str(outcome), _CONFLICT_DETAIL.get(outcome, str(outcome)))

    def heartbeat(self, worker: str) -> Response:
        extended = drive(self.queue.heartbeat(WorkerId(worker)), self.faults, op="heartbeat")
        return json_response({"worker_id": worker, "leases_extended": extended})

    def inspect(self, task_id: str) -> Response:
        view = drive(self.queue.inspect(TaskId(task_id)), self.faults, op="inspect")
        if view is None:
            raise ApiError(404, "not_found", f"no task {task_id!r}")
        return json_response(_view(view))

    def stats(self) -> Response:
        s = drive(self.queue.stats(), self.faults, op="stats")
        body = {"pending": s.pending, "processing": s.processing}
        return json_response({**body, "completed": s.completed, "failed": s.failed})

    def healthz(self) -> Response:
        try:
            self.client.ping()
        except redis.RedisError as exc:
            headers = {"Retry-After": str(self.settings.retry_after)}
            raise ApiError(503, "redis_unavailable", f"Redis unavailable: {exc}", headers) from exc
        return json_response({"status": "ok"})

    def rescue(self) -> Response:
        rescued = drive(self.queue.rescue_expired(), self.faults, op="rescue_expired")
        return json_response({"rescued": rescued})


def _encode(value: Any, what: str) -> str:
    """Compact JSON text of a payload or result; 413 past 64 KiB, 422 if not JSON-able."""
    try:
        text = orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # e.g. integers beyond 64 bits: the stdlib copes
        try:
            text = orjson.dumps(orjson.Fragment(_stdlib_json(value))).decode()
        except ValueError as exc:
            raise ApiError(422, "invalid_request", f"{what} is not valid JSON: {exc}") from exc
    if len(text.encode()) > m.MAX_PAYLOAD:
        raise ApiError(413, "payload_too_large", f"{what} is over {m.MAX_PAYLOAD} bytes as JSON")
    return text


def _stdlib_json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _view(v: TaskView) -> dict[str, Any]:
    return {
        "task_id": v.task_id,
        "status": str(v.status),
        "attempts": v.attempts,
        "worker_id": v.worker_id,
        "record_status": v.record_status,
        "pending_copies": v.pending_copies,
        "in_processing": v.in_processing,
        "lease_expires_at": v.lease_expires_at,
    }


def _bearer_check(key: str) -> Callable[..., Any]:
    """A dependency that lets a request through only with ``Authorization: Bearer key``.

    ``async``: it does no I/O, so running it on the thread pool would only cost a hop.
    """
    scheme = HTTPBearer(auto_error=False)

    # A default, not Annotated: the annotation is a string (__future__) naming a local.
    async def check(
        creds: HTTPAuthorizationCredentials | None = Depends(scheme),  # noqa: B008
    ) -> None:
        given = creds.credentials.encode() if creds is not None else b""
        if creds is None or not hmac.compare_digest(given, key.encode()):
            raise ApiError(
                401, "unauthorized", "missing or wrong bearer key", {"WWW-Authenticate": "Bearer"}
            )

    return check


def _on_loop(fn: F) -> F:
    """The naive flavour: the same synchronous body, run *on* the event loop (F13)."""

    @functools.wraps(fn)
    async def blocking(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return blocking  # type: ignore[return-value]


def _worker_routes(svc: Service, deps: list[Any]) -> APIRouter:
    """The table's worker endpoints as plain functions; the caller picks the flavour."""
    common = m.error_responses(422, 500, 503) | (m.error_responses(401) if deps else {})
    r = APIRouter(dependencies=deps, responses=common)
    flavour: Callable[[F], F] = _on_loop if svc.settings.impl is Impl.NAIVE else (lambda f: f)
    errs = m.error_responses
    exists: dict[int | str, dict[str, Any]] = {
        200: {"model": m.Submitted, "description": "that task_id exists: nothing enqueued"}
    }

    @r.post("/tasks", status_code=201, response_model=m.Submitted, responses=exists | errs(413))
    @flavour
    def submit(body: m.SubmitBody) -> Response:
        """Enqueue a task; 200 instead of 201 when that task_id already exists."""
        return svc.submit(body)

    @r.get("/tasks/next", response_model=m.ClaimOut, responses={204: {"description": "empty"}})
    @flavour
    def claim(worker: m.WorkerIdHeader) -> Response:
        """Claim the next pending task for the worker in X-Worker-Id; 204 when none."""
        return svc.claim(worker)

    @r.post("/tasks/{task_id}/complete", response_model=m.StatusOut, responses=errs(404, 409))
    @flavour
    def complete(
        task_id: m.TaskIdPath, worker: m.WorkerIdHeader, body: m.CompleteBody | None = None
    ) -> Response:
        """Report success; 409 lease_lost / not_processing means it had no effect."""
        return svc.complete(task_id, worker, body)

    @r.post("/tasks/{task_id}/fail", response_model=m.StatusOut, responses=errs(404, 409))
    @flavour
    def fail(task_id: m.TaskIdPath, worker: m.WorkerIdHeader, body: m.FailBody) -> Response:
        """Report failure; retry=true puts the task back in the pending list."""
        return svc.fail(task_id, worker, body)

    @r.post("/workers/{worker_id}/heartbeat", response_model=m.HeartbeatOut)
    @flavour
    def heartbeat(worker_id: m.WorkerIdPath) -> Response:
        """Extend the leases this worker holds (safe); the note's last_active (naive)."""
        return svc.heartbeat(worker_id)

    @r.get("/tasks/{task_id}", response_model=m.TaskOut, responses=errs(404))
    @flavour
    def inspect(task_id: m.TaskIdPath) -> Response:
        """Where the task really is (pending list / processing set), not only its record."""
        return svc.inspect(task_id)

    @r.get("/stats", response_model=m.StatsOut)
    @flavour
    def stats() -> Response:
        return svc.stats()

    return r


def _health_and_admin(svc: Service) -> APIRouter:
    r = APIRouter(responses=m.error_responses(500, 503))
    flavour: Callable[[F], F] = _on_loop if svc.settings.impl is Impl.NAIVE else (lambda f: f)

    @r.get("/healthz", response_model=m.HealthOut, responses=m.error_responses(503))
    @flavour
    def healthz() -> Response:
        """200 when Redis answers, else 503 (no key needed)."""
        return svc.healthz()

    admin_key = svc.settings.admin_key
    if admin_key:  # closed by default: the route does not exist without an admin key

        @r.post(
            "/admin/janitor/run",
            response_model=m.RescueOut,
            dependencies=[Depends(_bearer_check(admin_key))],
            responses=m.error_responses(401),
        )
        @flavour
        def run_janitor() -> Response:
            """Run one janitor sweep now; needs the admin key."""
            return svc.rescue()

    return r


def create_app(settings: ServeSettings) -> FastAPI:
    """The API for ``settings.impl`` against ``settings.redis_url``."""
    if not settings.redis_url:
        raise SettingsError("create_app needs settings.redis_url")
    client = bounded_client(
        settings.redis_url,
        timeout=settings.redis_timeout,
        max_connections=settings.max_connections,
    )
    svc = Service(settings, client)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        janitor = None
        if settings.janitor_interval is not None:
            janitor = Janitor(svc.queue, interval=settings.janitor_interval, faults=svc.faults)
            janitor.start_thread()
        try:
            yield
        finally:
            if janitor is not None:
                janitor.stop.set()
            client.close()

    app = FastAPI(
        title=f"qharness reference queue ({settings.impl})",
        version="1",
        description="The worker HTTP API of DESIGN.md section 3.",
        lifespan=lifespan,
    )
    deps = [Depends(_bearer_check(settings.api_key))] if settings.api_key else []
    app.include_router(_worker_routes(svc, deps))
    app.include_router(_health_and_admin(svc))
    install_error_handlers(app, settings.retry_after)
    app.add_middleware(RequestContext)  # type: ignore[arg-type]
    app.state.service = svc
    return app


def _die_with_parent() -> None:
    """Linux: SIGKILL this API worker when its uvicorn supervisor dies (even by SIGKILL)."""
    if sys.platform == "linux":
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def app_from_env() -> FastAPI:
    """uvicorn ``--factory`` target: settings from ``QHARNESS_SERVE_*`` variables."""
    settings = ServeSettings.from_env_vars(serve_env())
    configure_logging(settings.log_level)
    if settings.die_with_parent:
        _die_with_parent()
    logger.info("serving impl=%s redis=%s", settings.impl, settings.redis_url)
    return create_app(settings)
