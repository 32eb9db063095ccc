"""The zoo's private loop: a library coroutine becomes one step per Redis round trip."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
import redis
from redis.asyncio import Redis as AsyncRedis

from harness.contract import ManualClock, drive
from tests.reference_queue.interleave import start
from zoo import aioloop
from zoo.aioloop import CLOCK, run, stepped


@pytest.fixture
def aio(redis_url: str, redis_client: redis.Redis) -> Iterator[AsyncRedis]:
    client = AsyncRedis.from_url(redis_url, decode_responses=True)
    yield client
    run(client.aclose())


async def three_round_trips(client: AsyncRedis) -> str:
    await client.set("a", 1)
    async with client.pipeline(transaction=True) as pipe:
        pipe.incr("a")
        pipe.incr("a")
        await pipe.execute()
    try:
        await client.set("b", 1)
    finally:
        await client.set("cleanup", 1)  # a dead process would not get here
    return "done"


def test_a_coroutine_stops_between_its_round_trips(aio: AsyncRedis) -> None:
    actor = start(stepped(three_round_trips(aio)))
    assert actor.finish() == "done"
    assert actor.points == ["after_set", "after_multi", "after_set"]


def test_a_single_round_trip_never_stops(aio: AsyncRedis, redis_client: redis.Redis) -> None:
    async def one() -> None:
        await aio.set("k", "v")

    actor = start(stepped(one()))
    assert actor.step().done
    assert actor.points == []
    assert redis_client.get("k") == "v"


def test_a_crash_at_a_gate_sends_nothing_more(aio: AsyncRedis, redis_client: redis.Redis) -> None:
    actor = start(stepped(three_round_trips(aio))).step().step()  # SET a, MULTI done
    actor.crash()
    assert redis_client.get("a") == "3"
    assert redis_client.get("b") is None
    assert redis_client.get("cleanup") is None  # the finally block's command was refused


def test_an_operation_dropped_on_the_loops_own_thread_does_not_block_the_loop(
    aio: AsyncRedis, redis_client: redis.Redis
) -> None:
    """The garbage collector closes a dropped operation in whichever thread it runs, the
    loop's own included: closing must not wait there for the coroutine to unwind (it
    needs that loop). It once blocked the loop for STEP_TIMEOUT_S, stalling every library
    call of a zoo run. The coroutine still unwinds as a crashed process's would."""
    ended: list[str] = []

    async def two_round_trips() -> None:
        try:
            await aio.set("a", 1)
            await aio.set("b", 1)
        except BaseException as exc:
            ended.append(type(exc).__name__)
            raise

    operation = stepped(two_round_trips())
    assert next(operation) == "after_set"  # parked at its gate, between two round trips

    async def close_here() -> None:
        operation.close()  # as a collection on the loop's thread would

    # A guard against the hang, not a speed limit: closing takes no round trip at all.
    aioloop._submit(close_here(), None, None).result(timeout=aioloop.STEP_TIMEOUT_S / 2)

    async def set_after() -> None:
        await aio.set("after", 1)

    run(set_after())  # the loop still serves the next library call
    assert redis_client.get("after") == "1"
    assert redis_client.get("b") is None  # the dropped operation sent nothing more
    assert ended == ["Crashed"]


def test_a_finalizer_run_inside_the_loops_fetch_does_not_hang() -> None:
    """A dropped adapter's finalizer (``close_soon``) runs wherever the garbage collector
    does, even in the middle of fetching the loop, in the same thread; it once waited
    there for the lock its own thread held, for good."""
    closed = threading.Event()

    async def close() -> None:
        closed.set()

    def collected_mid_fetch() -> None:
        run(asyncio.sleep(0))  # the loop is running
        with aioloop._LOOP._lock:  # as inside _LOOP.get()
            aioloop.close_soon(close)

    thread = threading.Thread(target=collected_mid_fetch, daemon=True)
    thread.start()
    thread.join(timeout=aioloop.STEP_TIMEOUT_S / 2)  # a guard against the hang
    assert not thread.is_alive()
    assert closed.wait(timeout=aioloop.STEP_TIMEOUT_S / 2)  # the clean-up still ran


def test_a_script_loaded_after_noscript_is_one_round_trip(aio: AsyncRedis) -> None:
    script = aio.register_script("return redis.call('INCR', KEYS[1])")

    async def twice() -> int:
        await script(keys=["n"])
        return int(await script(keys=["n"]))

    async def flush() -> None:
        await aio.script_flush()

    run(flush())
    actor = start(stepped(twice()))
    assert actor.finish() == 2
    assert actor.points == ["after_evalsha"]  # not a stop for the SCRIPT LOAD nor the retry


def test_the_clock_follows_the_adapter_only_inside_its_coroutines() -> None:
    clock = ManualClock(start=42.0)

    async def seen() -> float | None:
        current = CLOCK.get()
        return None if current is None else current.now()

    assert drive(stepped(seen(), clock=clock)) == 42.0
    assert run(seen()) is None
    assert CLOCK.get() is None


# At exit the interpreter runs its atexit hooks, then stops daemon threads (the loop's
# among them) and closes what is left, e.g. operations an explorer dropped in flight. A
# close that waited for the loop then waited STEP_TIMEOUT_S per operation (a zoo run's
# process was seen taking ten minutes to exit). The loop is frozen here by hand.
_CLOSED_AT_EXIT = """
import atexit, os, sys, time
from redis.asyncio import Redis
from zoo import aioloop

aioloop.STEP_TIMEOUT_S = 3600.0
client = Redis.from_url(sys.argv[1])

async def two_round_trips() -> None:
    await client.set("a", 1)
    await client.set("b", 1)

op = aioloop.stepped(two_round_trips())
next(op)  # parked between its two round trips
aioloop._LOOP.get().call_soon_threadsafe(time.sleep, 3600)  # the loop thread stops
atexit._run_exitfuncs()  # the interpreter's exit, up to where daemon threads stop
op.close()  # the last garbage collection closing the dropped operation
print("closed", flush=True)
os._exit(0)
"""


def test_an_operation_closed_at_exit_does_not_wait_for_the_stopped_loop(redis_url: str) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _CLOSED_AT_EXIT, redis_url],
        capture_output=True,
        text=True,
        timeout=300,  # a wait would be an hour; closing takes a moment
    )
    assert (done.returncode, done.stdout) == (0, "closed\n"), done.stderr
