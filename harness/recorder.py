"""The history recorder: one append-only JSONL shard per writing process.

Each event is one ``os.write`` of one line on an ``O_APPEND`` descriptor: no user-space
buffer, so a SIGKILLed writer loses at most the line it was writing, and concurrent
writers (threads, gevent greenlets) never interleave inside a line.

Clients record through :meth:`Recorder.op`, which makes the Jepsen discipline hard to
get wrong: the invoke is written on entry, and exactly one completion follows; leaving
the block without one (an exception, a crash) writes ``info``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from harness.events import Event, EventType, Op


def shard_name(role: str) -> str:
    """A shard file name unique to this OS process: ``<role>-<host>-<pid>.jsonl``."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}.jsonl"


def process_name(actor: str, number: int | str) -> str:
    """A Jepsen process id, unique in the run: ``worker-17@host:pid``."""
    return f"{actor}-{number}@{socket.gethostname()}:{os.getpid()}"


class Recorder:
    """Appends events to ``<history_dir>/<shard>``; safe under threads and gevent."""

    def __init__(self, history_dir: Path, shard: str | None = None) -> None:
        history_dir.mkdir(parents=True, exist_ok=True)
        self.path = history_dir / (shard or shard_name("history"))
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()
        self.count = 0

    def record(self, event: Event) -> None:
        self.write(event.to_dict())

    def write(self, data: dict[str, Any]) -> None:
        """Append one raw event object (already in the contract's shape)."""
        line = orjson.dumps(data) + b"\n"
        with self._lock:
            if self._fd < 0:
                raise ValueError(f"recorder for {self.path} is closed")
            os.write(self._fd, line)
            self.count += 1

    def op(
        self,
        process: str,
        f: Op,
        *,
        task_id: str | None = None,
        token: str | None = None,
        worker_id: str | None = None,
        **invoke_fields: Any,
    ) -> OpRecording:
        """Record an invoke now; use the result to record its one completion."""
        rec = OpRecording(self, process, f, task_id=task_id, token=token, worker_id=worker_id)
        rec.emit(EventType.INVOKE, **invoke_fields)
        return rec

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OpRecording:
    """An op in flight: exactly one of :meth:`ok`, :meth:`fail`, :meth:`info` may follow.

    As a context manager, leaving without a completion records ``info`` (the op's
    effect is unknown), and an exception inside records ``info`` with its text.
    """

    __slots__ = ("_done", "_recorder", "f", "process", "task_id", "token", "worker_id")

    def __init__(
        self,
        recorder: Recorder,
        process: str,
        f: Op,
        *,
        task_id: str | None,
        token: str | None,
        worker_id: str | None,
    ) -> None:
        self._recorder = recorder
        self.process = process
        self.f = f
        self.task_id = task_id
        self.token = token
        self.worker_id = worker_id
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def emit(self, type_: EventType, **fields: Any) -> None:
        data: dict[str, Any] = {
            "process": self.process,
            "type": str(type_),
            "f": str(self.f),
            "time_ns": time.time_ns(),
        }
        for name in ("task_id", "token", "worker_id"):
            value = fields.pop(name, getattr(self, name))
            if value is not None:
                data[name] = value
        data.update({k: v for k, v in fields.items() if v is not None})
        self._recorder.write(data)

    def _complete(self, type_: EventType, fields: dict[str, Any]) -> None:
        if self._done:
            raise RuntimeError(f"{self.f} by {self.process} already has a completion")
        self._done = True
        self.emit(type_, **fields)

    def ok(self, **fields: Any) -> None:
        """The op took effect (fields: task_id, token, expires_at, status, value, ...)."""
        self._complete(EventType.OK, fields)

    def fail(self, **fields: Any) -> None:
        """The op definitely did not take effect (e.g. 409, 404, 429, 4xx)."""
        self._complete(EventType.FAIL, fields)

    def info(self, **fields: Any) -> None:
        """Unknown outcome: timeout, connection reset, 5xx."""
        self._complete(EventType.INFO, fields)

    def __enter__(self) -> OpRecording:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._done:
            self.info(error=f"{exc_type.__name__}: {exc}" if exc_type else "no completion")


@contextmanager
def recording(history_dir: Path, shard: str | None = None) -> Iterator[Recorder]:
    rec = Recorder(history_dir, shard)
    try:
        yield rec
    finally:
        rec.close()


def classify_http(status: int | None) -> EventType:
    """How an HTTP answer maps to an op completion: 2xx ok, 4xx fail, else info.

    ``None`` (no answer: timeout, reset) and 5xx are ``info``: the request may or may
    not have taken effect. 4xx are definite rejections by the contract (DESIGN.md §3).
    """
    if status is None or status >= 500 or status == 0:
        return EventType.INFO
    if 200 <= status < 300:
        return EventType.OK
    return EventType.FAIL
