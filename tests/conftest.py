"""Shared fixtures: the project's own tests use qharness's pytest plugin.

``harness.pytest_plugin`` (loaded through its ``pytest11`` entry point) owns the Redis
fixtures: one real Redis server per xdist worker, a flushed database per test, and
``REDIS_URL`` to use a given server instead. The names below are the ones these tests
have always used.
"""

from __future__ import annotations

import pytest
import redis

from harness.explorer.hypothesis_profiles import load_default_profile

# Hypothesis profiles dev / ci / thorough: `ci` under CI=1, else `dev`; Hypothesis's own
# `--hypothesis-profile NAME` option overrides (its plugin loads it after this import).
load_default_profile()


@pytest.fixture(scope="session")
def redis_url(qharness_redis_url: str) -> str:
    """The URL of this xdist worker's private Redis (started here, stopped at the end)."""
    return qharness_redis_url


@pytest.fixture
def redis_client(qharness_redis: redis.Redis) -> redis.Redis:
    """A client on a freshly flushed database (decoded str responses)."""
    return qharness_redis
