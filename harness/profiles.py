"""Named workload profiles for ``harness run``: a Locust config file plus the deployment
settings that make it meaningful (lease, race-widening fault points, default nemesis).

The load side lives in ``scenarios/profiles/NAME.conf`` (usable with plain ``locust``);
this table adds what Locust cannot know: how the deployment under test is started.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import scenarios
from harness.errors import ConfigError

PROFILE_DIR = Path(scenarios.__file__).parent / "profiles"
SCENARIOS_DIR = Path(scenarios.__file__).parent


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    name: str
    conf: Path
    lease_timeout: float  # the safe queue's lease and the naive janitor's age limit
    faults: str = ""  # fault points (reference_queue.faults spec) that widen race windows
    nemesis: str = "none"  # default --nemesis
    run_time: str = "60s"  # the conf's run-time (an upper bound: runs stop once drained)
    janitors: int = 1  # janitor processes beside the API
    janitor_interval: float = 1.0

    @property
    def description(self) -> str:
        for line in self.conf.read_text().splitlines():
            if line.startswith("#"):
                return line.lstrip("# ").strip()
        return self.name


# What each profile needs from the deployment. Short leases where the profile is about
# the janitor; fault points that widen the windows the note says do not exist.
_DEPLOYMENT: dict[str, dict[str, object]] = {
    "mixed": {"faults": "after_pop=delay:0.005"},
    "test1_simultaneous": {},
    "test2_polling": {},
    "test3_completion": {},
    "janitor_race": {
        "faults": "janitor_between_scan_and_rescue=delay:0.1,before_complete_write=delay:0.02",
        "janitor_interval": 0.25,
    },
    "chaos": {"faults": "after_pop=abort@0.02", "nemesis": "kill-api,pause-api"},
}


def read_conf(path: Path) -> dict[str, str]:
    """``key = value`` lines of a Locust config file (comments and blanks skipped)."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def names() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.conf"))


def load(name: str) -> Profile:
    """A profile by name (``chaos``) or by path to a Locust config file."""
    path = Path(name)
    if path.suffix != ".conf":
        path = PROFILE_DIR / f"{name}.conf"
    if not path.is_file():
        raise ConfigError(f"--profile {name!r}: no such profile; choose from {', '.join(names())}")
    conf = read_conf(path)
    extra = _DEPLOYMENT.get(path.stem, {})
    try:
        lease = float(conf.get("lease-timeout", "5"))
    except ValueError:
        raise ConfigError(f"{path}: lease-timeout is not a number") from None
    return Profile(
        name=path.stem,
        conf=path,
        lease_timeout=lease,
        faults=str(extra.get("faults", "")),
        nemesis=str(extra.get("nemesis", "none")),
        run_time=conf.get("run-time", "60s"),
        janitor_interval=float(str(extra.get("janitor_interval", min(1.0, lease / 2)))),
    )
