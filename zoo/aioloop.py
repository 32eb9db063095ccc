"""The asyncio side of the zoo: a private event loop; library coroutines stepped per round trip.

The harness drives queues synchronously, one Redis round trip per step (``harness.contract``).
The asyncio libraries (taskiq-redis, saq, BullMQ) offer coroutines that make several round
trips in one ``await``. This module runs them on a private event loop in a daemon thread and
*gates* every Redis round trip they make, so that a coroutine becomes a steppable operation:

- :func:`run` runs a coroutine to the end (setup, inspection, production);
- :func:`stepped` turns a coroutine into :data:`~harness.contract.Steps`: it runs the
  coroutine until it is about to send its *next* round trip, yields ``"after_<command>"``
  (the command it just completed), and continues only on the next ``next()``. Closing the
  generator there is a crash: the coroutine is cancelled at the gate and any command it
  would still send (an ``except``/``finally`` clean-up) is refused, as for a dead process.

The gate is installed once, on import, around ``redis.asyncio.Redis.execute_command`` and
``redis.asyncio.client.Pipeline.execute`` (a MULTI or a pipeline is one round trip). It only
acts inside a task that carries a :class:`Gate` in its context (``_GATE``); every other
caller, including the libraries' own background tasks, passes straight through. The library's
Redis logic is never re-implemented: only *when* its commands go out is controlled.

The same context carries the adapter's clock (``CLOCK``), which adapters whose library reads
the time through a patchable function (saq's ``now``) use to follow the injected clock per
queue instance.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import contextvars
import functools
import queue
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

from harness.contract import Clock

__all__ = ["BEFORE", "CLOCK", "Crashed", "Gate", "close_soon", "name_scripts", "run", "stepped"]

T = TypeVar("T")

STEP_TIMEOUT_S = 60.0  # a step that takes longer than this is a hang, not a slow machine

# Connection housekeeping, not queue logic: a version check, loading a script after NOSCRIPT,
# naming a connection. They go out ungated and are not crash points.
HOUSEKEEPING = frozenset({"info", "script_load", "client_setname", "client_setinfo", "ping"})

CLOCK: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("zoo_clock", default=None)
_GATE: contextvars.ContextVar[Gate | None] = contextvars.ContextVar("zoo_gate", default=None)
BEFORE: contextvars.ContextVar[Callable[[str], Awaitable[None]] | None] = contextvars.ContextVar(
    "zoo_before", default=None
)
"""A hook awaited before every command a task sends (it may park the task there)."""


class Crashed(Exception):
    """Raised inside a coroutine whose process was crashed: it sends nothing more."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Stopped:
    """The coroutine stopped at a gate: it completed ``done`` and is about to send ``next``."""

    done: str
    next: str


@dataclass(frozen=True, slots=True, kw_only=True)
class _Finished:
    pass


class Gate:
    """Holds one stepped coroutine between its round trips (lives on the loop thread)."""

    def __init__(self) -> None:
        self.events: queue.Queue[_Stopped | _Finished] = queue.Queue()
        self.round_trips = 0
        self.last = ""
        self.dead = False
        self._resend = False
        self._go: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None

    async def send(self, command: str, call: Callable[[], Awaitable[T]]) -> T:
        """Send one round trip; from the second one on, only when the driver says so."""
        if self._lock is None:
            self._lock, self._go = asyncio.Lock(), asyncio.Event()
        assert self._go is not None
        async with self._lock:  # concurrent child tasks still send one round trip at a time
            if self.dead:
                raise Crashed(f"process crashed before {command}")
            if self.round_trips and not self._resend:
                self._go.clear()
                self.events.put(_Stopped(done=self.last, next=command))
                await self._go.wait()
                if self.dead:
                    raise Crashed(f"process crashed before {command}")
            self._resend = False
            self.round_trips += 1
            previous, self.last = self.last, command
            try:
                return await call()
            except NoScriptError:  # refused before running: redis-py loads the script, retries
                self.round_trips -= 1
                self.last = previous
                self._resend = True  # the retry is this same round trip: no new gate
                raise

    def release(self) -> None:
        if self._go is not None:
            self._go.set()


_SCRIPT_NAMES: dict[str, str] = {}


def name_scripts(names: Mapping[str, str]) -> None:
    """Name Lua scripts by SHA1 so a step reads ``after_moveToActive``, not ``after_evalsha``."""
    _SCRIPT_NAMES.update(names)


def _command_name(args: tuple[Any, ...]) -> str:
    name = str(args[0]).lower() if args else "command"
    if name == "evalsha" and len(args) > 1:
        return _SCRIPT_NAMES.get(str(args[1]), name)
    return name.replace(" ", "_")


def _install_gate() -> None:
    """Wrap the two places redis.asyncio sends a round trip (idempotent)."""
    if getattr(Redis.execute_command, "_zoo_gated", False):
        return
    plain_command: Callable[..., Awaitable[Any]] = Redis.execute_command
    plain_execute: Callable[..., Awaitable[list[Any]]] = Pipeline.execute

    @functools.wraps(plain_command)
    async def execute_command(self: Redis, *args: Any, **options: Any) -> Any:
        hook = BEFORE.get()
        if hook is not None:
            await hook(_command_name(args))
        gate = _GATE.get()
        if gate is None or _command_name(args) in HOUSEKEEPING:
            return await plain_command(self, *args, **options)
        return await gate.send(_command_name(args), lambda: plain_command(self, *args, **options))

    @functools.wraps(plain_execute)
    async def execute(self: Pipeline, raise_on_error: bool = True) -> list[Any]:
        gate = _GATE.get()
        if gate is None:
            return await plain_execute(self, raise_on_error)
        name = "multi" if self.is_transaction else "pipeline"
        return await gate.send(name, lambda: plain_execute(self, raise_on_error))

    execute_command._zoo_gated = True  # type: ignore[attr-defined]
    Redis.execute_command = execute_command  # type: ignore[method-assign]
    Pipeline.execute = execute  # type: ignore[method-assign]


class _Loop:
    """The private loop, in a daemon thread, started on first use (one per process)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # Re-entrant: the garbage collector may run a dropped adapter's finalizer in the
        # middle of get(), in the same thread.
        self._lock = threading.RLock()

    def get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="zoo-aioloop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def is_current_thread(self) -> bool:
        """Whether the caller runs on the loop's own thread."""
        return self._thread is threading.current_thread()

    def running(self) -> asyncio.AbstractEventLoop | None:
        """The loop if it runs, without starting one or taking the lock."""
        loop = self._loop
        return loop if loop is not None and loop.is_running() else None


_LOOP = _Loop()
_install_gate()


async def _in_context(coro: Coroutine[Any, Any, T], clock: Clock | None, gate: Gate | None) -> T:
    CLOCK.set(clock)
    _GATE.set(gate)
    return await coro


def _submit(
    coro: Coroutine[Any, Any, T], clock: Clock | None, gate: Gate | None
) -> concurrent.futures.Future[T]:
    # A fresh context per call: the task's CLOCK/GATE never leak into the caller's thread.
    context = contextvars.Context()
    return context.run(
        asyncio.run_coroutine_threadsafe, _in_context(coro, clock, gate), _LOOP.get()
    )


def close_soon(close: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    """Schedule a clean-up on the loop without waiting (for finalizers of dropped adapters).

    A finalizer runs wherever the garbage collector does, even inside ``_LOOP.get()``
    (seen: a whole-zoo run hung there for good), so this neither starts a loop nor takes
    the loop's lock: no running loop, nothing of the adapter's left to close on it."""
    loop = _LOOP.running()
    if loop is not None:
        asyncio.run_coroutine_threadsafe(close(), loop)


def run(coro: Coroutine[Any, Any, T], *, clock: Clock | None = None) -> T:
    """Run a coroutine on the private loop to the end (no crash points)."""
    return _submit(coro, clock, None).result(timeout=STEP_TIMEOUT_S)


def stepped(coro: Coroutine[Any, Any, T], *, clock: Clock | None = None) -> Generator[str, None, T]:
    """The coroutine as a steppable operation: one Redis round trip per step."""
    gate = Gate()
    future = _submit(coro, clock, gate)
    future.add_done_callback(lambda _: gate.events.put(_Finished()))
    loop = _LOOP.get()
    finished = False
    try:
        while True:
            event = gate.events.get(timeout=STEP_TIMEOUT_S)
            if isinstance(event, _Finished):
                finished = True
                return future.result()
            yield f"after_{event.done}"
            loop.call_soon_threadsafe(gate.release)
    finally:
        if not finished:  # closed between round trips: the process died here
            gate.dead = True
            loop.call_soon_threadsafe(gate.release)
            _settle(future)


_EXITING = threading.Event()
_UNWINDING: set[concurrent.futures.Future[Any]] = set()  # dropped on the loop's thread


@atexit.register
def _exiting() -> None:
    """From here on the loop's daemon thread may be frozen by the interpreter's shutdown."""
    _EXITING.set()


def _settle(future: concurrent.futures.Future[Any]) -> None:
    """Wait for a crashed coroutine to unwind (it can send nothing); its error is expected.

    Not at exit: operations an explorer dropped in flight are closed by the interpreter's
    last garbage collection, when the loop thread no longer runs; waiting for each would
    hold the exit for STEP_TIMEOUT_S per operation (minutes, seen at the end of a zoo run).
    Nor on the loop's own thread: a dropped operation is closed by whichever thread the
    garbage collector runs in, and waiting there blocks the very loop the coroutine needs
    to unwind — every library call stalled for STEP_TIMEOUT_S (seen in a whole-zoo run:
    saq's searches lost minutes, then BullMQ's adapter could not be built in time). There
    the task is only kept until it has unwound (the loop holds tasks weakly: a pending
    one nothing else refers to is destroyed mid-flight).
    """
    if _EXITING.is_set() or sys.is_finalizing():
        return
    if _LOOP.is_current_thread():
        _UNWINDING.add(future)
        future.add_done_callback(_UNWINDING.discard)
        return
    # The library may wrap Crashed in an error of its own: any error is the crash's.
    with contextlib.suppress(Exception, concurrent.futures.CancelledError):
        future.result(timeout=STEP_TIMEOUT_S)
