"""The one duration parser: ``90``, ``500ms``, ``30s``, ``2m``, ``1h30m`` -> seconds.

Locust's ``--run-time`` syntax plus milliseconds; used by ``harness run --duration``,
``harness hunt --budget`` and the run profiles. A bad or non-positive value is a
one-line :class:`~harness.errors.ConfigError` naming the flag.
"""

from __future__ import annotations

import re

from harness.errors import ConfigError

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)?")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str, *, flag: str = "duration") -> float:
    """Seconds; a bare number is seconds, and parts add up (``1h30m``)."""
    spec = text.strip()
    parts = list(_PART.finditer(spec))
    if not parts or "".join(p.group(0) for p in parts) != spec:
        raise ConfigError(f"{flag} {text!r}: use e.g. 500ms, 30s, 2m or 1h30m")
    total = sum(float(p.group(1)) * _UNIT[p.group(2)] for p in parts)
    if total <= 0:
        raise ConfigError(f"{flag} {text!r}: must be more than 0 seconds")
    return total
