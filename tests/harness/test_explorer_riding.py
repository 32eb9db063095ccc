"""The views riding on the queue's own round trip say exactly what a read of their own says.

A search's connections send the views script behind each single command a step sends
(:mod:`harness.explorer.riding`); what is kept must be the state the step ended in, and
anything the connection cannot follow (a pipeline, an error of the views script, a
command sent unarmed) must fall back to a read of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from hypothesis import settings

from harness.contract import ManualClock, TaskId, TaskView, WorkerId, drive
from harness.explorer import inspection
from harness.explorer.inspection import fetch_views, riding
from harness.explorer.machine import queue_factory
from harness.explorer.oracle import Target
from harness.explorer.riding import Rides, rides_of, riding_pool
from harness.explorer.search import search
from reference_queue.factory import make_queue
from reference_queue.inspect import inspect_task
from reference_queue.keys import Keys


@pytest.fixture
def riding_client(redis_client: redis.Redis) -> Iterator[redis.Redis]:
    pool = riding_pool(redis_client.connection_pool)
    client = redis.Redis(connection_pool=pool, single_connection_client=True)
    yield client
    client.close()
    pool.disconnect()


@pytest.mark.parametrize("impl", ["naive", "safe"])
def test_every_steps_views_equal_a_read_of_each_task_alone(
    impl: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every step of a search, riding or not, against ``inspect_task`` per task (its own
    MULTI on another connection, read right after)."""
    scripted = inspection._scripted
    rode = read_alone = 0

    def checked(
        client: redis.Redis, keys: Keys, task_ids: tuple[str, ...]
    ) -> dict[str, TaskView | None]:
        nonlocal rode, read_alone
        rides = rides_of(client)
        kept = rides is not None and rides.kept(task_ids) is not None
        views = scripted(client, keys, task_ids)
        alone = {t: drive(inspect_task(client, keys, TaskId(t))) for t in task_ids}
        assert views == alone, (task_ids, views, alone)
        rode += kept
        read_alone += not kept
        return views

    monkeypatch.setattr(inspection, "_scripted", checked)
    chosen = settings(settings.get_profile("dev"), max_examples=40, stateful_step_count=30)
    search(redis_client, queue_factory(impl), target=Target(), settings=chosen, seed=0)
    assert rode > 0
    if impl == "naive":  # its pipelines cannot carry the views: those steps read alone
        assert read_alone > 0


@dataclass(frozen=True)
class Armed:
    client: redis.Redis
    queue: Any
    rides: Rides


@pytest.fixture
def armed(riding_client: redis.Redis) -> Armed:
    """A safe queue with ``t0`` pending on the riding client, the views script loaded,
    and the client's riding state."""
    queue = make_queue("safe", riding_client, clock=ManualClock(), lease_timeout=30.0)
    drive(queue.submit("{}", TaskId("t0")))
    fetch_views(queue, ["t0"])
    rides = rides_of(riding_client)
    assert rides is not None
    return Armed(riding_client, queue, rides)


def test_a_single_command_carries_the_views_of_the_state_after_it(armed: Armed) -> None:
    with riding(armed.queue, ["t0"]):
        claim = drive(armed.queue.claim(WorkerId("w0")))
    assert claim is not None
    assert armed.rides.kept(("t0",)) is not None
    assert armed.rides.kept(("t1",)) is None  # kept for the task ids it was sent with only
    view = fetch_views(armed.queue, ["t0"])["t0"]
    assert view is not None
    assert view.in_processing
    assert armed.rides.kept(("t0",)) is None  # used once


def test_a_pipeline_or_an_unarmed_command_outdates_what_was_kept(armed: Armed) -> None:
    client, rides = armed.client, armed.rides
    with riding(armed.queue, ["t0"]):
        client.ping()
        assert rides.kept(("t0",)) is not None
        client.pipeline(transaction=True).ping().execute()
        assert rides.kept(("t0",)) is None
    with riding(armed.queue, ["t0"]):
        client.ping()
    client.ping()  # unarmed
    assert rides.kept(("t0",)) is None


def test_a_command_error_still_reads_the_views_behind_it(armed: Armed) -> None:
    with riding(armed.queue, ["t0"]), pytest.raises(redis.ResponseError):
        armed.client.execute_command("NO-SUCH-COMMAND")
    assert armed.rides.kept(("t0",)) is not None
    assert armed.client.echo("in step") == "in step"  # the replies stayed in order


def test_views_not_loaded_on_the_server_fall_back_to_their_own_read(armed: Armed) -> None:
    armed.client.script_flush()
    with riding(armed.queue, ["t0"]):
        assert armed.client.echo("in step") == "in step"
    assert armed.rides.kept(("t0",)) is None  # NOSCRIPT behind the command
    view = fetch_views(armed.queue, ["t0"])["t0"]  # loads the script again
    assert view is not None
    assert view.pending_copies == 1
