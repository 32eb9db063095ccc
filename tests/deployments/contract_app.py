"""The in-memory queue behind the worker API of DESIGN.md §3 (no admin surface).

``create_app(queue, api_key=..., expose_lease=...)``: with ``expose_lease=False`` claims
answer ``"lease": null``, like a deployment whose API says nothing of its visibility
timeout (the harness must infer it); pair it with ``Fencing.STATUS``, since workers then
have no token to show.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from tests.deployments.memory_queue import MemoryQueue, Refusal

_CONFLICT = {Refusal.NOT_PROCESSING, Refusal.LEASE_LOST}


class SubmitBody(BaseModel):
    payload: Any = None
    task_id: str


class FinishBody(BaseModel):
    token: str | None = None
    result: Any = None
    error: str = ""
    retry: bool = False


def _error(status: int, code: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": code.replace("_", " ")}, status_code=status)


def create_app(
    queue: MemoryQueue, *, api_key: str | None = None, expose_lease: bool = True
) -> FastAPI:
    def authorized(authorization: Annotated[str | None, Header()] = None) -> None:
        if api_key and authorization != f"Bearer {api_key}":
            raise HTTPException(401, "unauthorized")

    app = FastAPI(dependencies=[Depends(authorized)])

    _changes(app, queue, expose_lease)
    _views(app, queue)
    return app


def _changes(app: FastAPI, queue: MemoryQueue, expose_lease: bool) -> None:
    @app.post("/tasks", status_code=201)
    def submit(body: SubmitBody) -> Any:
        created = queue.submit(body.task_id, body.payload)
        return JSONResponse({"task_id": body.task_id}, status_code=201 if created else 200)

    @app.get("/tasks/next")
    def claim(x_worker_id: Annotated[str, Header()]) -> Any:
        got = queue.claim(x_worker_id)
        if got is None:
            return Response(status_code=204)
        lease = {"token": got.token, "expires_at": got.expires_at} if expose_lease else None
        return {"task_id": got.task_id, "payload": got.payload, "attempt": got.attempt,
                "lease": lease}  # fmt: skip

    def finish(task_id: str, token: str | None, outcome: str) -> Any:
        done = queue.finish(task_id, token, outcome)
        if isinstance(done, Refusal):
            return _error(409 if done in _CONFLICT else 404, done)
        return {"task_id": task_id, "status": done}

    @app.post("/tasks/{task_id}/complete")
    def complete(task_id: str, body: FinishBody) -> Any:
        return finish(task_id, body.token, "completed")

    @app.post("/tasks/{task_id}/fail")
    def fail(task_id: str, body: FinishBody) -> Any:
        return finish(task_id, body.token, "pending" if body.retry else "failed")


def _views(app: FastAPI, queue: MemoryQueue) -> None:
    @app.post("/workers/{worker_id}/heartbeat")
    def heartbeat(worker_id: str) -> Any:
        return {"worker_id": worker_id, "leases_extended": queue.heartbeat(worker_id)}

    @app.get("/tasks/{task_id}")
    def status(task_id: str) -> Any:
        task = queue.view(task_id)
        if task is None:
            return _error(404, "not_found")
        return {"task_id": task_id, "status": task.status, "attempts": task.attempts,
                "worker_id": task.worker_id}  # fmt: skip

    @app.get("/stats")
    def stats() -> Any:
        return queue.counts()

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}
