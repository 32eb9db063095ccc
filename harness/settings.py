"""The harness's only reader of ``os.environ``: environment-derived settings, built once.

(The reference queue, a system under test, reads its own in ``reference_queue.settings``.)

Everything else receives these values explicitly (frozen dataclasses), so tests can
build settings by hand and nothing reads the environment behind a caller's back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

METRICS_DIR_VAR = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvSettings:
    """What the process environment says; ``None`` means "not set"."""

    redis_url: str | None
    api_key: str | None
    admin_key: str | None
    ci: bool
    redis_server: str | None  # QHARNESS_REDIS_SERVER: explicit path to a redis-server binary
    hypothesis_profile: str | None
    poll_interval: str | None = None  # POLL_INTERVAL: the standalone worker's (the note's)
    # PROMETHEUS_MULTIPROC_DIR: where API processes write their metrics (the harness's
    # Deployment sets it per deployment; prometheus_client reads it itself at import).
    prometheus_multiproc_dir: str | None = None


def _get(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


def from_env() -> EnvSettings:
    """Read the ``QHARNESS_*``, ``REDIS_URL`` and ``CI`` variables once."""
    return EnvSettings(
        redis_url=_get("REDIS_URL"),
        api_key=_get("QHARNESS_API_KEY"),
        admin_key=_get("QHARNESS_ADMIN_KEY"),
        ci=(_get("CI") or "").lower() not in ("", "0", "false", "no"),
        redis_server=_get("QHARNESS_REDIS_SERVER"),
        hypothesis_profile=_get("QHARNESS_HYPOTHESIS_PROFILE"),
        poll_interval=_get("POLL_INTERVAL"),
        prometheus_multiproc_dir=_get(METRICS_DIR_VAR),
    )


def child_env(**overrides: str | None) -> dict[str, str]:
    """A copy of this process's environment for a child process, with overrides.

    ``None`` removes a variable. Used when the harness starts API, janitor or Locust
    processes, so the environment is handled here and nowhere else.
    """
    env = dict(os.environ)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env
