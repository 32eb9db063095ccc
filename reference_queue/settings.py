"""The API deployment's settings: one frozen value, built once, passed down explicitly.

``harness serve`` builds a :class:`ServeSettings` from its flags. Because uvicorn with
``--workers N`` imports the app by string in fresh processes, the settings travel to
those processes as ``QHARNESS_SERVE_*`` environment variables: :meth:`ServeSettings.to_env`
writes them and :meth:`ServeSettings.from_env_vars` reads them back from a mapping that
:func:`serve_env` supplies. The deployment reads its own environment here (this module
is the reference queue's only reader of ``os.environ``); it shares no settings code with
the harness that tests it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum

from reference_queue.api_ratelimit import Rate, RateSpecError
from reference_queue.errors import QueueError, UnknownImplError
from reference_queue.faults import Faults

ENV_PREFIX = "QHARNESS_SERVE_"
METRICS_DIR_VAR = "PROMETHEUS_MULTIPROC_DIR"  # where API processes write their metrics


def serve_env() -> dict[str, str]:
    """The ``QHARNESS_SERVE_*`` variables: an API process's settings, as set by whoever
    started uvicorn's worker processes (the harness's deployment, or an operator)."""
    return {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}


def env_value(name: str) -> str | None:
    """One environment variable, ``None`` when unset or empty (``QHARNESS_API_KEY``,
    ``POLL_INTERVAL``, ``PROMETHEUS_MULTIPROC_DIR``)."""
    value = os.environ.get(name)
    return value if value else None


class Impl(StrEnum):
    NAIVE = "naive"  # the note's design, bugs and blocking event loop included
    SAFE = "safe"  # leases, fencing tokens, atomic Lua, never blocks the event loop


class SettingsError(QueueError, ValueError):
    """A serve setting (flag or ``QHARNESS_SERVE_*`` variable) has a bad value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeSettings:
    """Everything one API process needs; the defaults are a sensible local deployment.

    ``redis_url=None`` is allowed only before a deployment fills it in (the harness
    starts an embedded Redis); :func:`reference_queue.api.create_app` requires it.
    """

    impl: Impl = Impl.SAFE
    redis_url: str | None = None
    lease_timeout: float = 30.0  # safe: the lease; naive: the janitor's age limit
    max_attempts: int = 5  # safe only: dead-letter after this many claims
    api_key: str | None = None  # None: the worker API is open
    admin_key: str | None = None  # None: no admin surface at all (404)
    faults: str = ""  # a Faults spec, e.g. "after_pop=delay:0.05"
    janitor_interval: float | None = None  # run a janitor thread in each API process
    redis_timeout: float = 1.0  # socket connect/read timeout: bounds a 503 when Redis is gone
    retry_after: int = 1  # seconds, the Retry-After of a 503
    max_connections: int = 64  # per API process (the thread pool has 40 threads)
    log_level: str = "warning"
    die_with_parent: bool = False  # set by the harness: API workers die with their supervisor
    rate_limit: str | None = None  # e.g. "10/s": per worker on the worker endpoints; None: off
    breaker_threshold: int = 0  # open the Redis breaker after N consecutive errors; 0: off
    breaker_cooldown: float = 1.0  # seconds open before a half-open probe

    def __post_init__(self) -> None:
        if not isinstance(self.impl, Impl):
            try:
                object.__setattr__(self, "impl", Impl(self.impl))
            except ValueError:
                raise UnknownImplError(f"unknown impl {self.impl!r}: use naive or safe") from None
        _positive("lease_timeout", self.lease_timeout)
        _positive("redis_timeout", self.redis_timeout)
        if self.janitor_interval is not None:
            _positive("janitor_interval", self.janitor_interval)
        if self.max_attempts < 1:
            raise SettingsError(f"max_attempts must be >= 1, got {self.max_attempts}")
        Faults.parse(self.faults)  # raises FaultSpecError on a bad spec, early
        if self.rate_limit is not None:
            try:
                Rate.parse(self.rate_limit)
            except RateSpecError as exc:
                raise SettingsError(str(exc)) from None
        if self.breaker_threshold < 0:
            raise SettingsError(f"breaker_threshold must be >= 0, got {self.breaker_threshold}")
        _positive("breaker_cooldown", self.breaker_cooldown)

    def with_redis(self, redis_url: str) -> ServeSettings:
        return replace(self, redis_url=redis_url)

    def to_env(self) -> dict[str, str]:
        """``QHARNESS_SERVE_*`` variables for a child process (unset values left out)."""
        env: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, bool):
                value = "1" if value else "0"
            env[ENV_PREFIX + f.name.upper()] = str(value)
        return env

    @classmethod
    def from_env_vars(cls, env: Mapping[str, str]) -> ServeSettings:
        """Rebuild settings from :meth:`to_env`'s variables (names without the prefix ok)."""
        raw = {k.removeprefix(ENV_PREFIX).lower(): v for k, v in env.items()}
        kwargs: dict[str, object] = {}
        for f in fields(cls):
            if f.name not in raw:
                continue
            kwargs[f.name] = _convert(f.name, str(f.type), raw[f.name])
        return cls(**kwargs)  # type: ignore[arg-type]


def _positive(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise SettingsError(f"{name} must be a positive number of seconds, got {value!r}")


def _convert(name: str, type_text: str, text: str) -> object:
    """Parse one variable by the field's annotation (kept as text by ``__future__``)."""
    try:
        if type_text.startswith("bool"):
            return text.lower() in ("1", "true", "yes", "on")
        if type_text.startswith("int"):
            return int(text)
        if type_text.startswith("float"):
            return float(text)
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{name.upper()}={text!r} is not a number") from None
    return text
