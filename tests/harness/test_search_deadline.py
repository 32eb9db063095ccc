"""A search's deadline is checked before every round trip, and what a fence refuses is
counted: the two things `harness zoo`'s bounded run relies on (harness/explorer/search.py).
"""

from __future__ import annotations

import time

import redis

from harness.explorer.hypothesis_profiles import profile
from harness.explorer.machine import queue_factory
from harness.explorer.oracle import Target
from harness.explorer.search import search

SAFE = queue_factory("safe")


def test_a_search_past_its_deadline_stops_before_its_first_round_trip(
    redis_client: redis.Redis,
) -> None:
    result = search(
        redis_client,
        SAFE,
        target=Target(),
        settings=profile("ci"),
        seed=0,
        deadline=time.perf_counter(),
    )
    assert result.out_of_time
    assert not result.found
    assert result.steps == 0  # not one step of the example it began


def test_without_a_deadline_the_same_search_runs_its_examples(redis_client: redis.Redis) -> None:
    result = search(redis_client, SAFE, target=Target(), settings=profile("ci"), seed=0)
    assert not result.out_of_time
    assert result.examples > 10


def test_completions_a_fenced_queue_refuses_are_counted(redis_client: redis.Redis) -> None:
    """The safe queue's token check refuses superseded holders (``lease_lost``): the
    search finds no race, and says how often the fence was what stopped one."""
    result = search(redis_client, SAFE, target=Target(), settings=profile("ci"), seed=0)
    assert not result.found
    assert result.refused.get("lease_lost", 0) > 0
