"""``harness.verify.fingerprint``: what makes two states the same."""

from __future__ import annotations

from collections.abc import Generator

import redis

from harness.verify.fingerprint import canonical, generator_frames


def operation(task_id: str) -> Generator[str, None, str]:
    popped = task_id  # an operation paused between round trips keeps what it read here
    yield "after_pop"
    yield "after_get_data"
    return popped


def outer(task_id: str) -> Generator[str, None, str]:
    return (yield from operation(task_id))


def paused(gen: Generator[str, None, str], steps: int) -> Generator[str, None, str]:
    for _ in range(steps):
        next(gen)
    return gen


def test_a_paused_operation_is_told_apart_by_its_locals_and_position() -> None:
    same = generator_frames(paused(operation("t0"), 1))
    assert same == generator_frames(paused(operation("t0"), 1))
    assert same != generator_frames(paused(operation("t1"), 1))  # popped another task
    assert same != generator_frames(paused(operation("t0"), 2))  # one step further


def test_delegated_generators_are_followed() -> None:
    frames = generator_frames(paused(outer("t0"), 1))
    assert [f[0] for f in frames] == ["outer", "operation"]
    assert frames != generator_frames(paused(outer("t1"), 1))


def test_objects_that_are_not_state_are_reduced_to_their_type(redis_client: redis.Redis) -> None:
    assert canonical(redis_client) == "<Redis>"
    assert canonical({"b": [1, 2], "a": None}) == (("a", None), ("b", (1, 2)))
