"""The in-memory queue behind an API shaped nothing like DESIGN.md §3 ("jobs" v2).

- ``POST /v2/jobs {"id", "data"}`` -> ``202 {"job"}``; ``409`` when the id exists
- ``POST /v2/leases {"consumer"}`` -> ``201 {"lease_id", "valid_until", "job": {"id",
  "data", "tries"}}``; ``404`` when the queue is empty
- ``PUT /v2/jobs/{id}/outcome {"lease_id", "ok", "output"?, "reason"?, "requeue"?}`` ->
  ``200 {"state"}``; ``412`` lease gone or job not leased; ``404``
- ``POST /v2/consumers/{id}/keepalive`` -> ``200 {"renewed"}``
- ``GET /v2/jobs/{id}`` -> ``200 {"id", "state": queued/leased/done/dead, "tries",
  "consumer"}``; ``404``
- ``GET /v2/summary`` -> ``200 {"queued", "leased", "done", "dead"}``

Every request needs ``X-Api-Key`` (``403`` without it); errors are ``{"message"}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tests.deployments.memory_queue import MemoryQueue, Refusal

STATES = {"pending": "queued", "processing": "leased", "completed": "done", "failed": "dead"}


class NewJob(BaseModel):
    id: str
    data: Any = None


class LeaseRequest(BaseModel):
    consumer: str


class Outcome(BaseModel):
    lease_id: str
    ok: bool
    output: Any = None
    reason: str = ""
    requeue: bool = False


class Forbidden(Exception):
    pass


def _message(status: int, text: str) -> JSONResponse:
    return JSONResponse({"message": text}, status_code=status)


def create_app(queue: MemoryQueue, *, api_key: str) -> FastAPI:
    def keyed(x_api_key: Annotated[str | None, Header()] = None) -> None:
        if x_api_key != api_key:
            raise Forbidden

    app = FastAPI(dependencies=[Depends(keyed)])

    @app.exception_handler(Forbidden)
    def forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return _message(403, "bad or missing X-Api-Key")

    _changes(app, queue)
    _views(app, queue)
    return app


def _changes(app: FastAPI, queue: MemoryQueue) -> None:
    @app.post("/v2/jobs", status_code=202)
    def create(job: NewJob) -> Any:
        if not queue.submit(job.id, job.data):
            return _message(409, f"job {job.id} exists")
        return {"job": job.id}

    @app.post("/v2/leases", status_code=201)
    def lease(request: LeaseRequest) -> Any:
        got = queue.claim(request.consumer)
        if got is None:
            return _message(404, "queue empty")
        job = {"id": got.task_id, "data": got.payload, "tries": got.attempt}
        return {"lease_id": got.token, "valid_until": got.expires_at, "job": job}

    @app.put("/v2/jobs/{job_id}/outcome")
    def outcome(job_id: str, body: Outcome) -> Any:
        wanted = "completed" if body.ok else ("pending" if body.requeue else "failed")
        done = queue.finish(job_id, body.lease_id, wanted)
        if done is Refusal.NOT_FOUND:
            return _message(404, f"no job {job_id}")
        if isinstance(done, Refusal):
            return _message(412, f"lease {body.lease_id} is gone ({done})")
        return {"state": STATES[done]}


def _views(app: FastAPI, queue: MemoryQueue) -> None:
    @app.post("/v2/consumers/{consumer}/keepalive")
    def keepalive(consumer: str) -> Any:
        return {"renewed": queue.heartbeat(consumer)}

    @app.get("/v2/jobs/{job_id}")
    def job(job_id: str) -> Any:
        task = queue.view(job_id)
        if task is None:
            return _message(404, f"no job {job_id}")
        return {"id": job_id, "state": STATES[task.status], "tries": task.attempts,
                "consumer": task.worker_id}  # fmt: skip

    @app.get("/v2/summary")
    def summary() -> Any:
        return {STATES[status]: n for status, n in queue.counts().items()}
