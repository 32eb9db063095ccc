"""A seed decides a search's examples, whatever else the process has imported.

Hypothesis draws some integers from the constants in the source of the local modules
imported so far (literals of 100 and more: ``max_examples=100`` in a test module is one).
In a test run, which of the project's modules are imported when a search starts depends
on which tests this xdist worker ran before: the bounded zoo test found saq's double run
in one CI run and missed it in the next (harness/explorer/search.py,
``module_independent``).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import settings

from harness.contract import ManualClock, TaskQueue
from harness.explorer.hypothesis_profiles import profile
from harness.explorer.machine import queue_factory
from harness.explorer.oracle import Target
from harness.explorer.search import OPERATIONS, search

SAFE = queue_factory("safe")


def _operations_of_every_example(client: redis.Redis, seed: int) -> list[list[str]]:
    """What each example asked of the queue, in order (its generated program)."""
    examples: list[list[str]] = []

    def factory(client: redis.Redis, clock: ManualClock) -> TaskQueue:
        examples.append([])
        queue = SAFE(client, clock)
        for name in OPERATIONS:
            operation = getattr(queue, name)

            def logged(*args: Any, _op: Any = operation, _name: str = name) -> Any:
                examples[-1].append(f"{_name}{args}")
                return _op(*args)

            setattr(queue, name, logged)
        return queue

    chosen = settings(profile("dev"), max_examples=30, stateful_step_count=20)
    search(client, factory, target=Target(), settings=chosen, seed=seed)
    return examples


def test_importing_a_module_full_of_constants_changes_no_example(
    redis_client: redis.Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _operations_of_every_example(redis_client, seed=3)
    assert len(before) >= 30  # the search really ran
    assert sum(map(len, before)) > 200

    # A local module (not in site-packages) whose source holds integers of the size some
    # of Hypothesis's own draws take (one draws from 0-254; it skips literals below 100).
    (tmp_path / "many_constants.py").write_text(f"TABLE = {list(range(100, 300))!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("many_constants")
    try:
        after = _operations_of_every_example(redis_client, seed=3)
    finally:
        sys.modules.pop("many_constants", None)

    assert after == before


def test_another_seed_gives_other_examples(redis_client: redis.Redis) -> None:
    """(So the comparison above compares something a seed decides.)"""
    assert _operations_of_every_example(redis_client, 3) != _operations_of_every_example(
        redis_client, 4
    )
