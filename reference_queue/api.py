"""The worker HTTP API (DESIGN.md section 3): ``create_app(settings)`` serves either queue.

Both deployments run the *same* queue generators through :func:`drive` (with the
configured fault points); they differ only in where that synchronous code runs:

- naive keeps the note's shape: ``async def`` endpoints calling the synchronous
  redis-py client, so every Redis round trip (and every injected delay) blocks the
  event loop of its process — F13, part of the specimen;
- safe never blocks the event loop: its hot endpoints (claim, complete, fail,
  heartbeat) are ``async def`` on ``redis.asyncio`` (:mod:`reference_queue.safe_async`:
  the same Lua scripts, KEYS/ARGV and parsing as :class:`~reference_queue.safe.SafeQueue`),
  the rest plain ``def`` on Starlette's thread pool. Chosen by measurement on a quiet
  machine (``python -m benchmarks.api --rounds 3``, 2 cores, 32 users): 2,169
  claim+complete/s awaited vs about 1,600 with ``def`` endpoints on the thread pool
  (naive: 1,713); the thread hop costs more than the Redis round trip.

What a request does lives in :class:`reference_queue.api_service.Service`; this module
routes. Deployment options (docs/deployment-options.md): ``GET /metrics`` (Prometheus,
same key as the worker API), a per-worker rate limit on the worker endpoints (a
dependency, off by default), a per-process Redis circuit breaker (off by default).

uvicorn with ``--workers N`` imports the app by string: :func:`app_from_env` is the
``--factory`` target and rebuilds :class:`ServeSettings` from ``QHARNESS_SERVE_*``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hmac
import logging
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reference_queue import api_metrics as metrics
from reference_queue import api_models as m
from reference_queue.api_service import CountingJanitor, Service
from reference_queue.api_support import (
    ApiError,
    RequestContext,
    configure_logging,
    install_error_handlers,
)
from reference_queue.client import bounded_client
from reference_queue.settings import (
    METRICS_DIR_VAR,
    Impl,
    ServeSettings,
    SettingsError,
    env_value,
    serve_env,
)

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
_GOOD_ID = re.compile(m.ID_PATTERN)


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


def _rate_limited(svc: Service) -> list[Any]:
    """The dependency of the rate-limited routes (none when no limit is configured).

    Keyed by ``X-Worker-Id``, else the heartbeat's path id, else the client address.
    A plain ``def``: its Redis round trip runs on the thread pool.
    """
    if svc.limiter is None:
        return []

    def check(request: Request) -> None:
        given = (request.headers.get("x-worker-id", ""), request.path_params.get("worker_id", ""))
        valid = [key for key in given if _GOOD_ID.match(key)]
        svc.admit(valid[0] if valid else f"addr:{request.client.host if request.client else '-'}")

    return [Depends(check)]


Handler = Callable[..., Response]


def _hot_routes(
    r: APIRouter,
    svc: Service,
    flavour: Callable[[Handler], Handler],
    limited: list[Any],
    empty: dict[int | str, dict[str, Any]],
) -> None:
    """Claim, complete, fail, heartbeat: on safe they await Redis (``svc.fast``, measured
    faster than the thread pool); on naive they block the event loop like the note."""
    errs = m.error_responses
    limit_errs = errs(429) if limited else {}
    fast = svc.fast is not None

    async def claim_fast(worker: m.WorkerIdHeader) -> Response:
        return await svc.aclaim(worker)

    @flavour
    def claim_sync(worker: m.WorkerIdHeader) -> Response:
        return svc.claim(worker)

    r.get(
        "/tasks/next",
        response_model=m.ClaimOut,
        responses=empty | limit_errs,
        dependencies=limited,
        description="Claim the next pending task for the worker in X-Worker-Id; 204 when none.",
    )(claim_fast if fast else claim_sync)

    async def complete_fast(
        task_id: m.TaskIdPath, worker: m.WorkerIdHeader, body: m.CompleteBody | None = None
    ) -> Response:
        return await svc.acomplete(task_id, worker, body)

    @flavour
    def complete_sync(
        task_id: m.TaskIdPath, worker: m.WorkerIdHeader, body: m.CompleteBody | None = None
    ) -> Response:
        return svc.complete(task_id, worker, body)

    r.post(
        "/tasks/{task_id}/complete",
        response_model=m.StatusOut,
        responses=errs(404, 409) | limit_errs,
        dependencies=limited,
        description="Report success; 409 lease_lost / not_processing means it had no effect.",
    )(complete_fast if fast else complete_sync)

    async def fail_fast(
        task_id: m.TaskIdPath, worker: m.WorkerIdHeader, body: m.FailBody
    ) -> Response:
        return await svc.afail(task_id, worker, body)

    @flavour
    def fail_sync(task_id: m.TaskIdPath, worker: m.WorkerIdHeader, body: m.FailBody) -> Response:
        return svc.fail(task_id, worker, body)

    r.post(
        "/tasks/{task_id}/fail",
        response_model=m.StatusOut,
        responses=errs(404, 409) | limit_errs,
        dependencies=limited,
        description="Report failure; retry=true puts the task back in the pending list.",
    )(fail_fast if fast else fail_sync)

    async def heartbeat_fast(worker_id: m.WorkerIdPath) -> Response:
        return await svc.aheartbeat(worker_id)

    @flavour
    def heartbeat_sync(worker_id: m.WorkerIdPath) -> Response:
        return svc.heartbeat(worker_id)

    r.post(
        "/workers/{worker_id}/heartbeat",
        response_model=m.HeartbeatOut,
        responses=limit_errs,
        dependencies=limited,
        description="Extend the leases this worker holds (safe); the note's last_active (naive).",
    )(heartbeat_fast if fast else heartbeat_sync)


def _worker_routes(svc: Service, deps: list[Any]) -> APIRouter:
    """The table's worker endpoints as plain functions; the caller picks the flavour."""
    common = m.error_responses(422, 500, 503) | (m.error_responses(401) if deps else {})
    r = APIRouter(dependencies=deps, responses=common)
    flavour: Callable[[F], F] = _on_loop if svc.settings.impl is Impl.NAIVE else (lambda f: f)
    errs = m.error_responses
    limited = _rate_limited(svc)
    empty: dict[int | str, dict[str, Any]] = {204: {"description": "empty"}}
    exists: dict[int | str, dict[str, Any]] = {
        200: {"model": m.Submitted, "description": "that task_id exists: nothing enqueued"}
    }

    @r.post("/tasks", status_code=201, response_model=m.Submitted, responses=exists | errs(413))
    @flavour
    def submit(body: m.SubmitBody) -> Response:
        """Enqueue a task; 200 instead of 201 when that task_id already exists."""
        return svc.submit(body)

    _hot_routes(r, svc, flavour, limited, empty)

    @r.get("/tasks/{task_id}", response_model=m.TaskOut, responses=errs(404))
    @flavour
    def inspect(task_id: m.TaskIdPath) -> Response:
        """Where the task really is (pending list / processing set), not only its record."""
        return svc.inspect(task_id)

    @r.get("/stats", response_model=m.StatsOut)
    @flavour
    def stats() -> Response:
        return svc.stats()

    # Not in the OpenAPI schema: Prometheus text, not JSON. Needs the key like the rest.
    @r.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        """Prometheus text format; plain ``def`` on both flavours (not the specimen)."""
        return svc.scrape()

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
    svc = Service(settings, client, env_value(METRICS_DIR_VAR))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        janitor = None
        if settings.janitor_interval is not None:
            janitor = CountingJanitor(
                svc.queue, interval=settings.janitor_interval, faults=svc.faults
            )
            janitor.start_thread()
        try:
            yield
        finally:
            if janitor is not None:
                janitor.stop.set()
            client.close()
            if svc.fast is not None:
                await svc.fast.close()

    app = FastAPI(
        title=f"qharness reference queue ({settings.impl})",
        version="1",
        description="The worker HTTP API of DESIGN.md section 3.",
        lifespan=lifespan,
    )
    deps = [Depends(_bearer_check(settings.api_key))] if settings.api_key else []
    routers = [_worker_routes(svc, deps), _health_and_admin(svc)]
    for router in routers:
        app.include_router(router)
    install_error_handlers(app, settings.retry_after)
    # Outermost last: RequestContext wraps the metrics, so their log lines carry the id.
    routes = [route for router in routers for route in router.routes]
    app.add_middleware(metrics.RequestMetrics, routes=routes)
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
