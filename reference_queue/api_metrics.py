"""The API's Prometheus metrics: definitions, the per-request middleware, the scrape.

Served at ``GET /metrics`` in the Prometheus text format by ``prometheus_client``.
With ``uvicorn --workers N`` each process writes its samples to files in
``PROMETHEUS_MULTIPROC_DIR`` (the client library's multiprocess mode; the harness's
``Deployment`` makes a fresh directory per deployment) and a scrape of *any* process
sums every process's files, so totals are correct whichever process answers.
Without that variable the process's own registry is served (one process).

Queue depth (pending / processing) is read from Redis at scrape time by
:class:`QueueCollector`, so it is the truth, not a per-process guess.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match, Route

from harness.contract import QueueStats

# Metric objects are module globals on purpose: prometheus_client keys them by name in
# a process-wide registry (and, in multiprocess mode, in per-pid files).
IN_FLIGHT = Gauge(
    "qharness_requests_in_flight",
    "Requests being handled now, per endpoint",
    ["endpoint"],
    multiprocess_mode="livesum",
)
REQUESTS = Counter("qharness_requests", "Answered requests", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "qharness_request_duration_seconds",
    "Time from request to response, per endpoint",
    ["method", "endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
SUBMITS = Counter("qharness_submits", "Tasks enqueued (201, not the 200 duplicates)")
CLAIMS = Counter("qharness_claims", "Tasks handed to a worker (GET /tasks/next 200)")
COMPLETIONS = Counter("qharness_completions", "Completions accepted")
FAILURES = Counter("qharness_failures", "Failure reports accepted", ["retry"])
REJECTIONS = Counter("qharness_rejections", "Reports refused with 409, by reason", ["reason"])
RESCUES = Counter("qharness_rescues", "Tasks re-queued by this API's janitor (thread/admin)")
RATE_LIMITED = Counter("qharness_rate_limited", "Requests refused with 429")
REDIS_ERRORS = Counter("qharness_redis_errors", "Redis connection errors and timeouts")
BREAKER_REFUSED = Counter(
    "qharness_breaker_refused", "Requests answered 503 by the open breaker, Redis not asked"
)
BREAKER_STATE = Gauge(
    "qharness_breaker_state",
    "Redis circuit breaker of each API process: 0 closed, 1 open, 2 half_open",
    multiprocess_mode="liveall",
)


class QueueCollector(Collector):
    """``qharness_queue_tasks{state}`` from the queue's stats, read at scrape time.

    ``stats`` returns ``None`` when Redis cannot be asked (breaker open, Redis down):
    the family is then left out of that scrape rather than reported as zero.
    """

    def __init__(self, stats: Callable[[], QueueStats | None]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        s = self._stats()
        if s is None:
            return
        family = GaugeMetricFamily(
            "qharness_queue_tasks", "Tasks in each state, from Redis at scrape", labels=["state"]
        )
        for state, value in (
            ("pending", s.pending),
            ("processing", s.processing),
            ("completed", s.completed),
            ("failed", s.failed),
        ):
            family.add_metric([state], value)
        yield family


def exposition(multiproc_dir: str | None, queue: Collector) -> tuple[bytes, str]:
    """The text of one scrape and its content type.

    The queue's family comes from a registry of its own, per scrape, appended to the
    process (or multiprocess) registry's text: concurrent scrapes share nothing.
    """
    if multiproc_dir:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=multiproc_dir)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY  # one process: its own metrics (plus the default collectors)
    per_scrape = CollectorRegistry()
    per_scrape.register(queue)
    return generate_latest(registry) + generate_latest(per_scrape), CONTENT_TYPE_LATEST


Scope = dict[str, Any]


class RequestMetrics:
    """Pure ASGI middleware: in-flight gauge, answered counter, latency histogram.

    The endpoint label is the route's path template (``/tasks/{task_id}/complete``),
    found by matching the app's own routes (the routers' APIRoutes, not FastAPI's
    wrappers of included routers), so ids never become label values.
    """

    def __init__(self, app: Any, routes: list[BaseRoute]) -> None:
        self.app = app
        self._routes = [r for r in routes if isinstance(r, Route)]  # the app's own routes

    def _endpoint(self, scope: Scope) -> str:
        for route in self._routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return str(route.path)
        return "other"

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint, method = self._endpoint(scope), scope["method"]
        status = {"code": 500}

        async def send_status(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        in_flight = IN_FLIGHT.labels(endpoint)
        in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            in_flight.dec()
            LATENCY.labels(method, endpoint).observe(time.perf_counter() - started)
            REQUESTS.labels(method, endpoint, str(status["code"])).inc()
