"""The worker API's wire shapes (DESIGN.md section 3): request bodies, answers, errors.

Request bodies are validated by pydantic. Answers are built as orjson bytes by the
endpoints (no per-response validation on the hot path); the models here document
them in the OpenAPI schema and keep the two in step (the fuzz test checks conformance).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Path
from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
MAX_PAYLOAD = 64 * 1024  # bytes of compact JSON, for a payload and for a result
MAX_BODY = 1024 * 1024  # a request body beyond this is refused before it is read

TaskIdPath = Annotated[
    str, Path(min_length=1, max_length=128, pattern=ID_PATTERN, description="a task id")
]
WorkerIdPath = Annotated[
    str, Path(min_length=1, max_length=128, pattern=ID_PATTERN, description="a worker id")
]
WorkerIdHeader = Annotated[
    str,
    Header(
        alias="X-Worker-Id",
        min_length=1,
        max_length=128,
        pattern=ID_PATTERN,
        description="the calling worker's id",
    ),
]
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=ID_PATTERN)]


class SubmitBody(BaseModel):
    payload: Any = Field(description="any JSON value, at most 64 KiB as compact JSON")
    task_id: Id | None = Field(default=None, description="idempotency key: chosen by the client")


class CompleteBody(BaseModel):
    token: str | None = Field(default=None, max_length=256, description="the claim's lease token")
    result: Any = None


class FailBody(BaseModel):
    token: str | None = Field(default=None, max_length=256)
    error: str = Field(max_length=MAX_PAYLOAD)
    retry: bool


class Submitted(BaseModel):
    task_id: str


class Lease(BaseModel):
    token: str
    expires_at: float


class ClaimOut(BaseModel):
    task_id: str
    payload: Any
    attempt: int
    lease: Lease | None


class StatusOut(BaseModel):
    task_id: str
    status: str


class HeartbeatOut(BaseModel):
    worker_id: str
    leases_extended: int


class TaskOut(BaseModel):
    task_id: str
    status: str  # pending / processing / completed / failed / missing
    attempts: int
    worker_id: str | None
    record_status: str  # what the task's record says (extension)
    pending_copies: int  # times the id is in the pending list (extension)
    in_processing: bool  # member of the processing set (extension)
    lease_expires_at: float | None = None  # extension


class StatsOut(BaseModel):
    pending: int
    processing: int
    completed: int
    failed: int


class RescueOut(BaseModel):
    rescued: list[str]


class HealthOut(BaseModel):
    status: str
    breaker: str | None = None  # closed / open / half_open, when the breaker is on


class ErrorOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    error: str
    detail: Any


ERROR_MEANING = {
    401: "API key configured and the Bearer key missing or wrong",
    404: "no such task (or route)",
    409: "lease_lost / not_processing: the report definitely had no effect",
    413: "payload or result over 64 KiB, or body over 1 MiB",
    422: "bad id, header or body",
    429: "rate_limited: this worker is over the configured rate; retry after Retry-After s",
    500: "injected_fault: a configured fault aborted the handler at that point",
    503: "Redis unavailable: retry after Retry-After seconds",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of a route: each status documented with :class:`ErrorOut`."""
    return {s: {"model": ErrorOut, "description": ERROR_MEANING[s]} for s in statuses}
