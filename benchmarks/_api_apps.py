"""The two baselines of ``benchmarks/api.py``, served by uvicorn exactly like the API.

- ``bare_app``: a FastAPI app with the same two routes and answer shapes and no Redis
  at all — the ceiling of FastAPI + uvicorn + the load generator on this machine.
- ``async_safe_app``: the safe queue's claim and complete as ``async def`` endpoints on
  ``redis.asyncio`` (same Lua scripts, same middleware and error handlers) — the
  alternative to the API's plain ``def`` endpoints on the thread pool.

Both are uvicorn ``--factory`` targets; the Redis URL comes from ``QHARNESS_SERVE_*``.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import redis.asyncio as aioredis
from fastapi import FastAPI
from fastapi.responses import Response

from harness.settings import serve_env
from reference_queue.api_models import CompleteBody, TaskIdPath, WorkerIdHeader
from reference_queue.api_support import RequestContext, install_error_handlers, json_response
from reference_queue.keys import Keys
from reference_queue.safe import script_source
from reference_queue.settings import ServeSettings


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

    @app.get("/healthz")
    async def healthz() -> Response:  # the deployment waits for it
        return json_response({"status": "ok"})

    install_error_handlers(app, 1)
    app.add_middleware(RequestContext)  # type: ignore[arg-type]
    return app


def async_safe_app() -> FastAPI:
    settings = ServeSettings.from_env_vars(serve_env())
    assert settings.redis_url is not None
    client = aioredis.Redis.from_url(settings.redis_url, decode_responses=True, socket_timeout=1.0)
    keys = Keys()
    claim_script = client.register_script(script_source("claim"))
    finish_script = client.register_script(script_source("finish"))
    app = FastAPI()

    @app.get("/tasks/next")
    async def claim(worker: WorkerIdHeader) -> Response:
        got: Any = await claim_script(
            keys=[keys.pending, keys.processing, keys.token_seq],
            args=["", keys.prefix, worker, repr(settings.lease_timeout)],
        )
        if not got:
            return Response(status_code=204)
        task_id, payload, attempts, token, deadline = got
        lease = {"token": str(token), "expires_at": float(deadline)}
        body = {"task_id": task_id, "payload": orjson.Fragment(payload), "attempt": int(attempts)}
        return json_response({**body, "lease": lease})

    @app.post("/tasks/{task_id}/complete")
    async def complete(
        task_id: TaskIdPath, worker: WorkerIdHeader, body: CompleteBody | None = None
    ) -> Response:
        token = body.token if body is not None else None
        outcome = await finish_script(
            keys=[keys.processing, keys.pending, keys.failed, keys.completed_count],
            args=["", keys.prefix, task_id, token or "", "complete", "", settings.max_attempts],
        )
        if outcome != "completed":
            return json_response({"error": outcome, "detail": outcome}, 409)
        return json_response({"task_id": task_id, "status": "completed"})

    @app.get("/healthz")
    async def healthz() -> Response:  # the deployment waits for it
        return json_response({"status": "ok"})

    install_error_handlers(app, 1)
    app.add_middleware(RequestContext)  # type: ignore[arg-type]
    return app
