"""What each API request does, as one synchronous :class:`Service` over the queue.

The HTTP layer (:mod:`reference_queue.api`) only routes: every endpoint calls one
method here. Each method that talks to Redis runs under the process's circuit breaker
(:func:`_guarded`) and counts its outcome in the Prometheus metrics; the rate limit
check (:meth:`Service.admit`) is one more guarded Redis round trip.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
import redis
from fastapi.responses import Response

from harness.contract import (
    Claim,
    Outcome,
    QueueStats,
    TaskId,
    TaskQueue,
    TaskView,
    WorkerId,
    drive,
)
from reference_queue import api_metrics as metrics
from reference_queue import api_models as m
from reference_queue.api_breaker import STATE_VALUE, UNREACHABLE, BreakerOpen, CircuitBreaker
from reference_queue.api_ratelimit import Rate, RateLimiter
from reference_queue.api_support import ApiError, json_response
from reference_queue.factory import make_queue
from reference_queue.faults import Faults
from reference_queue.janitor import Janitor
from reference_queue.safe import SafeQueue
from reference_queue.safe_async import AsyncSafe, bounded_async_client
from reference_queue.settings import ServeSettings

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_CONFLICT_DETAIL = {
    Outcome.LEASE_LOST: "the token is stale or missing (the lease expired or another claim "
    "superseded it): nothing changed",
    Outcome.NOT_PROCESSING: "the task is not being processed: nothing changed",
}


def _aguarded(method: F) -> F:
    """:func:`_guarded` for the coroutine methods (the safe deployment's hot path)."""

    @functools.wraps(method)
    async def run(self: Service, *args: Any, **kwargs: Any) -> Any:
        try:
            with self.breaker.call():
                return await method(self, *args, **kwargs)
        except BreakerOpen as exc:
            metrics.BREAKER_REFUSED.inc()
            raise ApiError(503, "redis_unavailable", str(exc), self.retry_after) from None
        except UNREACHABLE:
            metrics.REDIS_ERRORS.inc()
            raise

    return run  # type: ignore[return-value]


def _guarded(method: F) -> F:
    """A Service method that talks to Redis: through the breaker, 503 at once while open."""

    @functools.wraps(method)
    def run(self: Service, *args: Any, **kwargs: Any) -> Any:
        try:
            with self.breaker.call():
                return method(self, *args, **kwargs)
        except BreakerOpen as exc:
            metrics.BREAKER_REFUSED.inc()
            raise ApiError(503, "redis_unavailable", str(exc), self.retry_after) from None
        except UNREACHABLE:
            metrics.REDIS_ERRORS.inc()
            raise  # rendered as 503 by the error handlers

    return run  # type: ignore[return-value]


class Service:
    """The queue plus what each request needs: synchronous methods, and ``a*`` coroutine
    twins of the hot ones for the safe deployment (``self.fast``)."""

    def __init__(
        self, settings: ServeSettings, client: redis.Redis, metrics_dir: str | None = None
    ) -> None:
        self.settings = settings
        self.client = client
        self.metrics_dir = metrics_dir  # PROMETHEUS_MULTIPROC_DIR: several API processes
        self.faults = Faults.parse(settings.faults)
        self.queue: TaskQueue = make_queue(
            settings.impl,
            client,
            lease_timeout=settings.lease_timeout,
            max_attempts=settings.max_attempts,
        )
        self.retry_after = {"Retry-After": str(settings.retry_after)}
        self.breaker = CircuitBreaker(
            threshold=settings.breaker_threshold,
            cooldown=settings.breaker_cooldown,
            on_change=lambda state: metrics.BREAKER_STATE.set(STATE_VALUE[state]),
        )
        self.limiter = None
        if settings.rate_limit is not None:
            self.limiter = RateLimiter(client, Rate.parse(settings.rate_limit))
        # The safe deployment's claim/complete/fail/heartbeat await Redis on the event
        # loop (same scripts and arguments as the queue; see reference_queue.safe_async).
        self.fast: AsyncSafe | None = None
        if isinstance(self.queue, SafeQueue) and settings.redis_url:
            self.fast = AsyncSafe(
                self.queue,
                bounded_async_client(
                    settings.redis_url,
                    timeout=settings.redis_timeout,
                    max_connections=settings.max_connections,
                ),
                self.faults,
            )

    @_guarded
    def admit(self, worker: str) -> None:
        """Raise 429 when ``worker`` is over the rate limit (one Redis round trip)."""
        if self.limiter is None:
            return
        verdict = self.limiter.check(worker)
        if not verdict.allowed:
            metrics.RATE_LIMITED.inc()
            logger.info("rate limited %s for %d s", worker, verdict.retry_after)
            raise ApiError(
                429,
                "rate_limited",
                f"worker {worker!r} is over {self.settings.rate_limit}: "
                f"retry after {verdict.retry_after} s",
                {"Retry-After": str(verdict.retry_after)},
            )

    @_guarded
    def submit(self, body: m.SubmitBody) -> Response:
        payload = _encode(body.payload, "payload")
        task_id = TaskId(body.task_id) if body.task_id else None
        done = drive(self.queue.submit(payload, task_id), self.faults, op="submit")
        logger.info("submit %s created=%s", done.task_id, done.created)
        if done.created:
            metrics.SUBMITS.inc()
        return json_response({"task_id": done.task_id}, 201 if done.created else 200)

    @_guarded
    def claim(self, worker: str) -> Response:
        return self._claimed(
            worker, drive(self.queue.claim(WorkerId(worker)), self.faults, op="claim")
        )

    @_aguarded
    async def aclaim(self, worker: str) -> Response:
        assert self.fast is not None
        return self._claimed(worker, await self.fast.claim(WorkerId(worker)))

    def _claimed(self, worker: str, claim: Claim | None) -> Response:
        if claim is None:
            return Response(status_code=204)
        logger.info("claim %s by %s attempt %d", claim.task_id, worker, claim.attempt)
        metrics.CLAIMS.inc()
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

    @_guarded
    def complete(self, task_id: str, worker: str, body: m.CompleteBody | None) -> Response:
        body = body or m.CompleteBody()
        result = None if body.result is None else _encode(body.result, "result")
        steps = self.queue.complete(TaskId(task_id), WorkerId(worker), body.token, result)
        outcome = drive(steps, self.faults, op="complete")
        if outcome.accepted:
            metrics.COMPLETIONS.inc()
        return self._finished(task_id, worker, outcome)

    @_aguarded
    async def acomplete(self, task_id: str, worker: str, body: m.CompleteBody | None) -> Response:
        assert self.fast is not None
        body = body or m.CompleteBody()
        result = None if body.result is None else _encode(body.result, "result")
        outcome = await self.fast.complete(TaskId(task_id), body.token, result)
        if outcome.accepted:
            metrics.COMPLETIONS.inc()
        return self._finished(task_id, worker, outcome)

    @_aguarded
    async def afail(self, task_id: str, worker: str, body: m.FailBody) -> Response:
        assert self.fast is not None
        outcome = await self.fast.fail(TaskId(task_id), body.token, body.error, body.retry)
        if outcome.accepted:
            metrics.FAILURES.labels(str(body.retry).lower()).inc()
        return self._finished(task_id, worker, outcome)

    @_aguarded
    async def aheartbeat(self, worker: str) -> Response:
        assert self.fast is not None
        extended = await self.fast.heartbeat(WorkerId(worker))
        return json_response({"worker_id": worker, "leases_extended": extended})

    @_guarded
    def fail(self, task_id: str, worker: str, body: m.FailBody) -> Response:
        steps = self.queue.fail(
            TaskId(task_id), WorkerId(worker), body.token, body.error, body.retry
        )
        outcome = drive(steps, self.faults, op="fail")
        if outcome.accepted:
            metrics.FAILURES.labels(str(body.retry).lower()).inc()
        return self._finished(task_id, worker, outcome)

    def _finished(self, task_id: str, worker: str, outcome: Outcome) -> Response:
        logger.info("%s by %s: %s", task_id, worker, outcome)
        if outcome.accepted:
            return json_response({"task_id": task_id, "status": str(outcome)})
        if outcome is Outcome.NOT_FOUND:
            raise ApiError(404, "not_found", f"no task {task_id!r}")
        metrics.REJECTIONS.labels(str(outcome)).inc()
        raise ApiError(409, str(outcome), _CONFLICT_DETAIL.get(outcome, str(outcome)))

    @_guarded
    def heartbeat(self, worker: str) -> Response:
        extended = drive(self.queue.heartbeat(WorkerId(worker)), self.faults, op="heartbeat")
        return json_response({"worker_id": worker, "leases_extended": extended})

    @_guarded
    def inspect(self, task_id: str) -> Response:
        view = drive(self.queue.inspect(TaskId(task_id)), self.faults, op="inspect")
        if view is None:
            raise ApiError(404, "not_found", f"no task {task_id!r}")
        return json_response(_view(view))

    @_guarded
    def queue_stats(self) -> QueueStats:
        return drive(self.queue.stats(), self.faults, op="stats")

    def stats(self) -> Response:
        s = self.queue_stats()
        body = {"pending": s.pending, "processing": s.processing}
        return json_response({**body, "completed": s.completed, "failed": s.failed})

    def healthz(self) -> Response:
        """Always pings (bounded by the socket timeout), even with the breaker open: the
        health check is how an operator learns Redis is back, and success closes it."""
        try:
            with self.breaker.probe():
                self.client.ping()
        except redis.RedisError as exc:
            detail = f"Redis unavailable: {exc}"
            raise ApiError(
                503, "redis_unavailable", detail, self.retry_after, **self._breaker_field()
            ) from exc
        return json_response({"status": "ok", **self._breaker_field()})

    def _breaker_field(self) -> dict[str, str]:
        """``{"breaker": state}`` when the breaker is on; the contract's bare body if off."""
        return {"breaker": str(self.breaker.state)} if self.breaker.threshold else {}

    @_guarded
    def rescue(self) -> Response:
        rescued = drive(self.queue.rescue_expired(), self.faults, op="rescue_expired")
        metrics.RESCUES.inc(len(rescued))
        return json_response({"rescued": rescued})

    def scrape_stats(self) -> QueueStats | None:
        """The queue's stats for /metrics, or None when Redis cannot be asked now."""
        try:
            return self.queue_stats()
        except (ApiError, *UNREACHABLE):
            return None

    def scrape(self) -> Response:
        collector = metrics.QueueCollector(self.scrape_stats)
        text, content_type = metrics.exposition(self.metrics_dir, collector)
        return Response(text, media_type=content_type)


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


class CountingJanitor(Janitor):
    """The API process's janitor thread, its rescues counted in /metrics."""

    def sweep(self) -> list[TaskId]:
        rescued = super().sweep()
        metrics.RESCUES.inc(len(rescued))
        return rescued
