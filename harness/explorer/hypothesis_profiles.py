"""Hypothesis settings profiles for the explorer: ``dev``, ``ci`` and ``thorough``.

Registered on import. ``tests/conftest.py`` calls :func:`load_default_profile` (``ci``
when the ``CI`` environment variable is set, else ``dev``); Hypothesis's own pytest
option ``--hypothesis-profile NAME`` then overrides it, and ``harness hunt
--hypothesis-profile NAME`` picks one for the command line.

- ``dev``: quick feedback while editing.
- ``ci``: derandomized (the same examples on every run, so a build is stable) and
  bounded so the explorer's part of the suite stays within a minute or two.
- ``thorough``: nightly: many more and longer examples.
- ``zoo``: ``harness zoo``'s searches against real libraries (as ``dev``, measured).

Every profile turns deadlines off (each step is a real Redis round trip, whose latency
is not the property under test) and keeps no example database (the hunt replays its
own counterexamples as literal steps instead).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings

from harness.errors import ConfigError
from harness.settings import from_env

_COMMON: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}

PROFILES: dict[str, dict[str, Any]] = {
    "dev": {"max_examples": 100, "stateful_step_count": 40},
    "ci": {"max_examples": 100, "stateful_step_count": 40, "derandomize": True},
    "thorough": {"max_examples": 2_000, "stateful_step_count": 80},
    # `harness zoo`: as dev. Shorter searches (30 examples of 30 steps, more seeds) were
    # measured worse: each new seed starts again from Hypothesis's simplest examples.
    "zoo": {"max_examples": 100, "stateful_step_count": 40},
}


def register_profiles() -> None:
    for name, values in PROFILES.items():
        settings.register_profile(name, **_COMMON, **values)


def default_profile_name() -> str:
    return "ci" if from_env().ci else "dev"


def load_default_profile() -> str:
    """Load ``ci`` under ``CI=1``, else ``dev``; returns the name loaded."""
    name = default_profile_name()
    settings.load_profile(name)
    return name


def profile(name: str) -> settings:
    """The registered settings of a profile; :class:`ConfigError` for an unknown name."""
    if name not in PROFILES:
        raise ConfigError(f"unknown Hypothesis profile {name!r}: choose one of {sorted(PROFILES)}")
    return settings.get_profile(name)


register_profiles()
