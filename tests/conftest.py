"""Shared fixtures: one real Redis server per xdist worker, a flushed database per test.

``REDIS_URL`` set: use that server instead (each xdist worker takes its own db index).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from harness.explorer.hypothesis_profiles import load_default_profile
from harness.redis_server import EmbeddedRedis, RedisConfig
from harness.settings import from_env

# Hypothesis profiles dev / ci / thorough: `ci` under CI=1, else `dev`; Hypothesis's own
# `--hypothesis-profile NAME` option overrides (its plugin loads it after this import).
load_default_profile()


def _worker_index(config: pytest.Config) -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


@pytest.fixture(scope="session")
def redis_url(pytestconfig: pytest.Config) -> Iterator[str]:
    """The URL of this xdist worker's private Redis (started here, stopped at the end)."""
    env = from_env()
    if env.redis_url:
        base = env.redis_url.rsplit("/", 1)[0] if env.redis_url.count("/") > 2 else env.redis_url
        yield f"{base}/{_worker_index(pytestconfig) % 16}"
        return
    with EmbeddedRedis(RedisConfig()) as server:
        yield server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client on a freshly flushed database (decoded str responses)."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()
