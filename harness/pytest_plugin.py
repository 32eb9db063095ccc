"""qharness's pytest plugin: a private Redis and a queue factory for queue tests.

Registered through the ``pytest11`` entry point (name ``qharness``), so it loads in
any project that installs qharness; ``-p no:qharness`` turns it off. It is inert until
a test asks for one of its fixtures: loading it imports nothing heavy, starts nothing,
adds no option and no hook, and it does not depend on Locust's plugin (``-p no:locust``
is fine). The fixtures:

- ``qharness_redis_url`` (session): the URL of this process's private ``redis-server``
  (one per pytest-xdist worker, started on first use, stopped at the end of the
  session; see :mod:`harness.redis_server`). With ``REDIS_URL`` set, that server
  instead, each xdist worker on its own database index.
- ``qharness_redis``: a ``redis.Redis`` client (``decode_responses=True``) on a freshly
  flushed database, closed after the test.
- ``qharness_queue_factory``: :func:`harness.testing.queue_factory` — ``naive``,
  ``safe`` or ``module:Class`` to a factory that :func:`harness.testing.replay` calls.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import redis

    from harness.testing import QueueFactoryMaker


def xdist_worker_index() -> int:
    """0 for ``gw0`` or no xdist at all, 1 for ``gw1``…"""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def _database_url(base_url: str, index: int) -> str:
    """``redis://host:port[/n]`` on database ``index % 16`` (Redis's default count)."""
    base = base_url.rsplit("/", 1)[0] if base_url.count("/") > 2 else base_url
    return f"{base}/{index % 16}"


@pytest.fixture(scope="session")
def qharness_redis_url() -> Iterator[str]:
    """This xdist worker's private Redis (started here, stopped at the end)."""
    from harness.redis_server import EmbeddedRedis, RedisConfig
    from harness.settings import from_env

    given = from_env().redis_url
    if given:
        yield _database_url(given, xdist_worker_index())
        return
    with EmbeddedRedis(RedisConfig()) as server:
        yield server.url


@pytest.fixture
def qharness_redis(qharness_redis_url: str) -> Iterator[redis.Redis]:
    """A client on a freshly flushed database (decoded ``str`` responses)."""
    import redis

    client = redis.Redis.from_url(qharness_redis_url, decode_responses=True)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def qharness_queue_factory() -> QueueFactoryMaker:
    """``(impl, *, lease_timeout=30.0) -> factory`` for :func:`harness.testing.replay`."""
    from harness.testing import queue_factory

    return queue_factory
