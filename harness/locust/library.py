"""Real queue libraries under Locust load, in process (no HTTP): ``locust -f scenarios/zoo``.

``--library rq`` (any name of ``zoo.LIBRARIES``) makes this Locust process host the
library itself: a Redis (``--library-redis-url``, else an embedded server started here),
one adapter instance on the wall clock, and the run's host set to ``zoo://<library>``.
The users are the ordinary harness actors (workers that crash, slow workers that stall
past the lease, producers, a janitor running the library's own recovery) with their
client swapped for :class:`LibraryClient`, which has :class:`~harness.locust.client.QueueClient`'s
surface: each call records its invoke and outcome in the same history and fires
Locust's ``request`` event (request type ``zoo``, named after the operation), so the
coordinator drains, audits (through the adapter's ``inspect``), analyzes and sets the
verdict exactly as for an HTTP deployment.

An outcome maps onto the HTTP status the worker API would have answered (accepted 200,
``lease_lost`` / ``not_processing`` 409, ``not_found`` 404; an exception from the library
or Redis is "no answer", status 0, an ``info`` in the history), so the history reads the
same either way. Local runner only: Locust workers of a distributed run would each host
a library instance of their own.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from harness.contract import (
    Outcome,
    Steps,
    TaskId,
    TaskQueue,
    WallClock,
    WorkerId,
    declared,
    drive,
)
from harness.events import EventType, Op
from harness.locust.client import Answer, History, Lease
from harness.locust.drain import QueueCounts

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

SCHEME = "zoo://"
STATUS = {
    Outcome.COMPLETED: 200,
    Outcome.PENDING: 200,
    Outcome.FAILED: 200,
    Outcome.LEASE_LOST: 409,
    Outcome.NOT_PROCESSING: 409,
    Outcome.NOT_FOUND: 404,
}


@dataclass(slots=True, kw_only=True)
class LibraryDeployment:
    """The library this Locust process hosts: its adapter, Redis, and what it promises."""

    library: str
    impl: str
    queue: TaskQueue
    client: redis.Redis
    server: Any = None  # the EmbeddedRedis started here, if any

    @property
    def host(self) -> str:
        return SCHEME + self.library

    def meta(self) -> dict[str, Any]:
        """What run.json records about the library (its promise, versions, lease)."""
        from harness.checks.promises import promise_json  # (pandas: only when it is needed)

        return {
            "library": self.library,
            "impl": self.impl,
            "promise": promise_json(declared(self.queue, "promise")),
            "lease_timeout": float(self.queue.lease_timeout),
        }

    def stop(self) -> None:
        self.client.close()
        if self.server is not None:
            self.server.stop()


_deployment: LibraryDeployment | None = None


def library_requested(argv: list[str] | None = None) -> bool:
    """Whether this Locust process was asked to host a library (``--library`` on the
    command line or ``LOCUST_LIBRARY``). Read at import, before Locust parses options:
    the zoo's user classes are abstract otherwise, so ``locust -f scenarios`` (which
    walks into ``scenarios/zoo``) never dispatches them against an HTTP deployment."""
    args = sys.argv if argv is None else argv
    given = any(a == "--library" or a.startswith("--library=") for a in args)
    return given or bool(os.environ.get("LOCUST_LIBRARY"))


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["visibility_timeout=5"]`` -> ``{"visibility_timeout": 5.0}`` (numbers as floats,
    integers as ints, anything else as text); raises ``ValueError`` on a malformed pair."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--library-option {pair!r}: expected KEY=VALUE")
        out[key] = _number(value)
    return out


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def is_library(host: str | None) -> bool:
    return bool(host) and str(host).startswith(SCHEME)


def current() -> LibraryDeployment | None:
    return _deployment


def start(library: str, *, redis_url: str | None = None, **options: Any) -> LibraryDeployment:
    """Host ``library`` in this process (raises ``KeyError``/``ImportError`` if unknown)."""
    global _deployment
    from zoo import LIBRARIES

    impl = LIBRARIES[library]
    import redis

    from harness.redis_server import EmbeddedRedis, RedisConfig

    server = None
    if redis_url is None:
        server = EmbeddedRedis(RedisConfig())
        server.start()
        redis_url = server.url
    cls = _adapter(impl)
    decoded = bool(declared(cls, "decode_responses"))
    client = redis.Redis.from_url(redis_url, decode_responses=decoded)
    accepted = inspect.signature(cls).parameters  # keywords the adapter does not take: dropped
    kwargs = {k: v for k, v in {"clock": WallClock(), **options}.items() if k in accepted}
    queue: TaskQueue = cls(client, **kwargs)
    _deployment = LibraryDeployment(
        library=library, impl=impl, queue=queue, client=client, server=server
    )
    return _deployment


def _adapter(impl: str) -> type[Any]:
    """The adapter class of ``module:Class`` (the zoo's; raises ImportError/AttributeError)."""
    module_name, _, class_name = impl.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not isinstance(cls, type):
        raise AttributeError(f"{impl} is not a class")
    return cls


def stop() -> None:
    global _deployment
    if _deployment is not None:
        _deployment.stop()
        _deployment = None


def counts() -> QueueCounts | None:
    """The hosted library's stats (the coordinator's ``GET /stats``)."""
    if _deployment is None:
        return None
    import redis

    try:
        stats = drive(_deployment.queue.stats())
    except redis.RedisError as exc:
        logger.debug("library stats failed: %s", exc)
        return None
    return QueueCounts(
        pending=stats.pending,
        processing=stats.processing,
        completed=stats.completed,
        failed=stats.failed,
    )


def write_audit(run_dir: Path, task_ids: list[str]) -> None:
    """audit.json from the adapter's ``inspect`` of every task id (the library's view)."""
    if _deployment is None:
        raise RuntimeError("no library is hosted in this process")
    tasks: dict[str, dict[str, Any]] = {}
    for task_id in sorted(set(task_ids)):
        view = drive(_deployment.queue.inspect(TaskId(task_id)))
        if view is None:
            tasks[task_id] = {"status": "unknown_to_server"}
            continue
        tasks[task_id] = {
            "status": str(view.status),
            "attempts": view.attempts,
            "raw_state": view.raw_state,
        }
    found = counts()
    stats = {} if found is None else {
        "pending": found.pending, "processing": found.processing,
        "completed": found.completed, "failed": found.failed,
    }  # fmt: skip
    data = {"tasks": tasks, "stats": stats, "taken_at": time.time()}
    (run_dir / "audit.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))


class LibraryClient:
    """The recording client of a user, calling the hosted library instead of HTTP."""

    def __init__(self, queue: TaskQueue, history: History, request_event: Any) -> None:
        self.queue = queue
        self.history = history
        self._request = request_event
        self.last_answer: Answer | None = None

    def _call(self, name: str, steps: Steps[Any]) -> tuple[Any, Exception | None, float]:
        started = time.perf_counter()
        result: Any = None
        error: Exception | None = None
        try:
            result = drive(steps)
        except Exception as exc:  # the library or Redis failed: "no answer" (info)
            error = exc
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._request.fire(
            request_type="zoo",
            name=name,
            response_time=elapsed_ms,
            response_length=0,
            exception=error,
            context={},
        )
        return result, error, elapsed_ms

    def submit(self, process: str, task_id: str, payload: Any) -> Answer:
        rec = self.history.op(process, Op.SUBMIT, task_id=task_id)
        text = orjson.dumps(payload).decode()
        result, error, _ = self._call("submit", self.queue.submit(text, TaskId(task_id)))
        if error is not None:
            rec.info(error=f"{type(error).__name__}: {error}")
            return Answer(status=0, body=None, error=str(error))
        status = 201 if result.created else 200
        rec.ok(status=status, value={"created": result.created})
        return Answer(status=status, body={"task_id": task_id})

    def claim(self, process: str, worker_id: str) -> tuple[EventType, Lease | None]:
        rec = self.history.op(process, Op.CLAIM, worker_id=worker_id)
        claim, error, _ = self._call("claim", self.queue.claim(WorkerId(worker_id)))
        if error is not None:
            rec.info(error=f"{type(error).__name__}: {error}")
            self.last_answer = Answer(status=0, body=None, error=str(error))
            return EventType.INFO, None
        self.last_answer = Answer(status=200 if claim else 204, body=None)
        if claim is None:
            rec.ok(status=204)
            return EventType.OK, None
        lease = Lease(
            task_id=claim.task_id,
            payload=claim.payload,
            attempt=claim.attempt,
            token=claim.token,
            expires_at=claim.expires_at,
        )
        rec.ok(
            status=200,
            task_id=claim.task_id,
            token=claim.token,
            expires_at=claim.expires_at,
            value={"attempt": claim.attempt},
        )
        return EventType.OK, lease

    def complete(self, process: str, worker_id: str, lease: Lease, result: Any) -> Answer:
        steps = self.queue.complete(
            TaskId(lease.task_id), WorkerId(worker_id), lease.token, orjson.dumps(result).decode()
        )
        return self._report(process, worker_id, lease, Op.COMPLETE, steps, None)

    def fail(self, process: str, worker_id: str, lease: Lease, error: str, retry: bool) -> Answer:
        steps = self.queue.fail(
            TaskId(lease.task_id), WorkerId(worker_id), lease.token, error, retry
        )
        return self._report(process, worker_id, lease, Op.FAIL, steps, {"retry": retry})

    def _report(
        self,
        process: str,
        worker_id: str,
        lease: Lease,
        f: Op,
        steps: Steps[Outcome],
        invoke_value: dict[str, Any] | None,
    ) -> Answer:
        rec = self.history.op(
            process,
            f,
            task_id=lease.task_id,
            token=lease.token,
            worker_id=worker_id,
            value=invoke_value,
        )
        outcome, error, _ = self._call(str(f), steps)
        if error is not None:
            rec.info(error=f"{type(error).__name__}: {error}")
            return Answer(status=0, body=None, error=str(error))
        status = STATUS[outcome]
        if outcome.accepted:
            rec.ok(status=status, value={"status": str(outcome)})
        else:
            rec.fail(status=status, error=str(outcome))
        return Answer(status=status, body={"status": str(outcome)}, error=None)

    def heartbeat(self, process: str, worker_id: str) -> Answer:
        rec = self.history.op(process, Op.HEARTBEAT, worker_id=worker_id)
        extended, error, _ = self._call("heartbeat", self.queue.heartbeat(WorkerId(worker_id)))
        if error is not None:
            rec.info(error=f"{type(error).__name__}: {error}")
            return Answer(status=0, body=None, error=str(error))
        rec.ok(status=200, value=extended)
        return Answer(status=200, body={"leases_extended": extended})

    def janitor_run(self, process: str) -> list[str] | None:
        """The library's own recovery, recorded as the reference janitor's rescues."""
        start_ns = time.time_ns()
        rescued, error, _ = self._call("rescue", self.queue.rescue_expired())
        if error is not None:
            return None
        ids = [str(task_id) for task_id in rescued]
        for task_id in ids:
            self.history.op(process, Op.RESCUE, task_id=task_id, time_ns=start_ns).ok(status=200)
        return ids
