"""The nemesis (Jepsen's word): scheduled faults against the processes a run started.

Faults never target anything but the processes the harness owns: the targets are
handed in explicitly (pids of API workers, of worker processes, and the embedded
Redis object), never discovered from the system. Every fault is recorded in the
history as a window — an ``info`` event ``f="nemesis"`` with ``value.phase`` "start",
then one with "stop" — which the report shades in its plots.

    kill-api       SIGKILL one API worker process; uvicorn's supervisor starts another
    pause-api      SIGSTOP one API worker past the lease, then SIGCONT
    pause-worker   SIGSTOP one load-generating process past the lease, then SIGCONT
    restart-redis  SIGKILL redis-server and start it again (AOF replayed if enabled)
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from harness.errors import ConfigError
from harness.events import EventType, Op
from harness.recorder import Recorder

logger = logging.getLogger(__name__)


class FaultKind(StrEnum):
    KILL_API = "kill-api"
    PAUSE_API = "pause-api"
    PAUSE_WORKER = "pause-worker"
    RESTART_REDIS = "restart-redis"


class RedisTarget(Protocol):
    def restart(self, timeout: float = ...) -> None: ...
    def kill(self) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class NemesisPlan:
    """Which faults, how often, for how long. Built from ``--nemesis`` (see :func:`parse`)."""

    faults: tuple[FaultKind, ...] = ()
    interval: float = 8.0  # seconds between the start of one fault and the next
    duration: float = 3.0  # how long a pause or an outage lasts
    seed: int | None = None

    def __bool__(self) -> bool:
        return bool(self.faults)


def parse(spec: str | None, *, interval: float = 8.0, duration: float = 3.0,
          seed: int | None = None) -> NemesisPlan:  # fmt: skip
    """``"kill-api,pause-api"`` → a plan; ``"none"`` or empty → no faults."""
    if not spec or spec.strip() in ("none", ""):
        return NemesisPlan(interval=interval, duration=duration, seed=seed)
    kinds: list[FaultKind] = []
    for part in spec.split(","):
        name = part.strip()
        try:
            kinds.append(FaultKind(name))
        except ValueError:
            choices = ", ".join(k.value for k in FaultKind)
            raise ConfigError(
                f"--nemesis: unknown fault {name!r}; choose from: {choices}"
            ) from None
    if interval <= 0 or duration <= 0:
        raise ConfigError("--nemesis interval and duration must be > 0 seconds")
    return NemesisPlan(faults=tuple(kinds), interval=interval, duration=duration, seed=seed)


@dataclass(kw_only=True)
class Targets:
    """What the nemesis may hurt: only processes this run started."""

    api_pids: Callable[[], Sequence[int]] = lambda: ()
    worker_pids: Callable[[], Sequence[int]] = lambda: ()
    redis: RedisTarget | None = None
    paused: set[int] = field(default_factory=set)


class Nemesis:
    """Runs a :class:`NemesisPlan` in a background thread; :meth:`stop` heals everything."""

    def __init__(self, plan: NemesisPlan, targets: Targets, recorder: Recorder) -> None:
        self.plan = plan
        self.targets = targets
        self.recorder = recorder
        self._rng = random.Random(plan.seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nemesis", daemon=True)
        self.windows: list[dict[str, Any]] = []

    def start(self) -> Nemesis:
        if self.plan:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.plan.duration + 30)
        self._heal()

    def __enter__(self) -> Nemesis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        # First fault after one interval: let the run warm up.
        while not self._stop.wait(self.plan.interval):
            kind = self._rng.choice(self.plan.faults)
            try:
                self._inject(kind)
            except Exception:  # a process boundary: log, keep the run going
                logger.exception("nemesis fault %s failed", kind)

    def _record(self, kind: FaultKind, phase: str, **value: Any) -> None:
        data = {"fault": str(kind), "phase": phase, **value}
        self.recorder.write(
            {"process": "nemesis", "type": str(EventType.INFO), "f": str(Op.NEMESIS),
             "time_ns": time.time_ns(), "value": data}
        )  # fmt: skip
        self.windows.append(data)

    def _pick(self, pids: Sequence[int]) -> int | None:
        live = [p for p in pids if p not in self.targets.paused]
        return self._rng.choice(live) if live else None

    def _inject(self, kind: FaultKind) -> None:
        if kind is FaultKind.RESTART_REDIS:
            self._restart_redis()
        elif kind is FaultKind.KILL_API:
            pid = self._pick(self.targets.api_pids())
            if pid is not None:
                self._record(kind, "start", target=pid)
                _signal(pid, signal.SIGKILL)
                self._stop.wait(self.plan.duration)  # the supervisor's restart happens here
                self._record(kind, "stop", target=pid)
        else:
            pids = (
                self.targets.api_pids if kind is FaultKind.PAUSE_API else self.targets.worker_pids
            )
            pid = self._pick(pids())
            if pid is not None:
                self._pause(kind, pid)

    def _pause(self, kind: FaultKind, pid: int) -> None:
        self._record(kind, "start", target=pid)
        self.targets.paused.add(pid)
        _signal(pid, signal.SIGSTOP)
        try:
            self._stop.wait(self.plan.duration)
        finally:
            _signal(pid, signal.SIGCONT)
            self.targets.paused.discard(pid)
            self._record(kind, "stop", target=pid)

    def _restart_redis(self) -> None:
        redis = self.targets.redis
        if redis is None:
            return
        self._record(FaultKind.RESTART_REDIS, "start")
        try:
            redis.kill()
            self._stop.wait(self.plan.duration)
            redis.restart()
        finally:
            self._record(FaultKind.RESTART_REDIS, "stop")

    def _heal(self) -> None:
        for pid in list(self.targets.paused):
            _signal(pid, signal.SIGCONT)
            self.targets.paused.discard(pid)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)
