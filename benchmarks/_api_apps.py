"""The two baselines of ``benchmarks/api.py``, served by uvicorn exactly like the API.

- ``bare_app``: a FastAPI app with the same two routes and answer shapes and no Redis
  at all — the ceiling of FastAPI + uvicorn + the load generator on this machine.
- ``async_safe_app``: the safe queue's claim and complete as ``async def`` endpoints on
  :class:`~reference_queue.safe_async.AsyncSafe` (what the API ships), without the
  API's metrics, rate limit and breaker — what those extras cost.

Both are uvicorn ``--factory`` targets; the Redis URL comes from ``QHARNESS_SERVE_*``.
"""

from __future__ import annotations

import itertools

import orjson
from fastapi import FastAPI
from fastapi.responses import Response

from harness.contract import Outcome, TaskId, WorkerId
from reference_queue.api_models import CompleteBody, TaskIdPath, WorkerIdHeader
from reference_queue.api_support import RequestContext, install_error_handlers, json_response
from reference_queue.client import bounded_client
from reference_queue.faults import Faults
from reference_queue.safe import SafeQueue
from reference_queue.safe_async import AsyncSafe, bounded_async_client
from reference_queue.settings import ServeSettings, serve_env


def _served(app: FastAPI) -> FastAPI:
    """What every target shares: ``/healthz`` (the deployment waits for it), the API's
    error handlers and its request-id middleware."""

    @app.get("/healthz")
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    install_error_handlers(app, 1)
    app.add_middleware(RequestContext)  # type: ignore[arg-type]
    return app


def bare_app() -> FastAPI:
    app = FastAPI()
    counter = itertools.count()

    @app.get("/tasks/next")
    async def claim(worker: WorkerIdHeader) -> Response:
        n = next(counter)
        lease = {"token": str(n), "expires_at": 1.0}
        return json_response(
            {"task_id": f"t{n}", "payload": {"n": n}, "attempt": 1, "lease": lease}
        )

    @app.post("/tasks/{task_id}/complete")
    async def complete(
        task_id: TaskIdPath, worker: WorkerIdHeader, body: CompleteBody | None = None
    ) -> Response:
        return json_response({"task_id": task_id, "status": "completed"})

    return _served(app)


def async_safe_app() -> FastAPI:
    settings = ServeSettings.from_env_vars(serve_env())
    assert settings.redis_url is not None
    queue = SafeQueue(
        bounded_client(settings.redis_url),
        lease_timeout=settings.lease_timeout,
        max_attempts=settings.max_attempts,
    )
    fast = AsyncSafe(queue, bounded_async_client(settings.redis_url), Faults())
    app = FastAPI()

    @app.get("/tasks/next")
    async def claim(worker: WorkerIdHeader) -> Response:
        got = await fast.claim(WorkerId(worker))
        if got is None:
            return Response(status_code=204)
        lease = {"token": got.token, "expires_at": got.expires_at}
        payload = orjson.Fragment(got.payload)
        return json_response(
            {"task_id": got.task_id, "payload": payload, "attempt": got.attempt, "lease": lease}
        )

    @app.post("/tasks/{task_id}/complete")
    async def complete(
        task_id: TaskIdPath, worker: WorkerIdHeader, body: CompleteBody | None = None
    ) -> Response:
        token = body.token if body is not None else None
        outcome = await fast.complete(TaskId(task_id), token, None)
        if outcome is not Outcome.COMPLETED:
            return json_response({"error": str(outcome), "detail": str(outcome)}, 409)
        return json_response({"task_id": task_id, "status": "completed"})

    return _served(app)
