"""The scenarios' command-line options and the frozen settings built from them.

Options are registered on Locust's parser (``init_command_line_parser``), so each one
shows in ``locust --help`` and in the web UI, and can come from the command line, a
``LOCUST_*`` environment variable, a ``--config`` file or ``[tool.locust]``. The parsed
values stay plain strings and numbers (the web UI re-casts them by type when a user
edits them); :func:`settings_from` turns them into one :class:`ScenarioSettings` when a
test starts, and a bad value there is a :class:`~harness.errors.ConfigError`.
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.settings import EnvSettings

DEFAULT_MIX = "Producer=3,Worker=20,SlowWorker=6,JanitorTrigger=1"
# Without a lease in the claim and without --lease-timeout, a slow worker assumes the
# design's default lease (DESIGN.md §8a: the safe queue's default).
FALLBACK_LEASE_SECONDS = 30.0


class DistributionKind(StrEnum):
    CONST = "const"  # always the same value
    EXP = "exp"  # exponential with the given mean
    UNIFORM = "uniform"  # uniform between low and high


@dataclass(frozen=True, slots=True, kw_only=True)
class Distribution:
    """How long a worker spends on one task: ``0.05``, ``exp:0.05``, ``uniform:0.01-0.1``."""

    kind: DistributionKind
    low: float
    high: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Distribution:
        kind, sep, arg = text.strip().partition(":")
        if not sep:
            kind, arg = DistributionKind.CONST, kind
        try:
            if kind == DistributionKind.UNIFORM:
                low_text, _, high_text = arg.partition("-")
                low, high = float(low_text), float(high_text)
            elif kind in (DistributionKind.CONST, DistributionKind.EXP):
                low, high = float(arg), 0.0
            else:
                raise ValueError(kind)
        except ValueError:
            raise ConfigError(
                f"duration {text!r}: expected SECONDS, exp:MEAN or uniform:LOW-HIGH "
                "(e.g. exp:0.05, uniform:0.01-0.1)"
            ) from None
        if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or high < 0:
            raise ConfigError(f"duration {text!r}: seconds must be finite and >= 0")
        if kind == DistributionKind.UNIFORM and high < low:
            raise ConfigError(f"duration {text!r}: uniform needs LOW <= HIGH")
        return cls(kind=DistributionKind(kind), low=low, high=high)

    def sample(self, rng: random.Random) -> float:
        if self.kind is DistributionKind.EXP:
            return rng.expovariate(1.0 / self.low) if self.low > 0 else 0.0
        if self.kind is DistributionKind.UNIFORM:
            return rng.uniform(self.low, self.high)
        return self.low

    def __str__(self) -> str:
        if self.kind is DistributionKind.UNIFORM:
            return f"uniform:{self.low:g}-{self.high:g}"
        return f"{self.kind}:{self.low:g}"


def parse_mix(text: str) -> dict[str, int]:
    """``"Producer=3,Worker=20"`` -> ``{"Producer": 3, "Worker": 20}`` (user class weights)."""
    mix: dict[str, int] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, weight = part.partition("=")
        if not sep or not name.strip() or not weight.strip().isdigit():
            raise ConfigError(f"mix {text!r}: expected CLASS=WEIGHT,..., e.g. {DEFAULT_MIX}")
        mix[name.strip()] = int(weight)
    if not any(mix.values()):
        raise ConfigError(f"mix {text!r}: at least one user class needs a weight > 0")
    return mix


def parse_probability(value: object, name: str) -> float:
    p = _number(value, name)
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"--{name} {value!r}: a probability is between 0 and 1")
    return p


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioSettings:
    """Everything the users and the run lifecycle need, resolved once per test."""

    run_dir: Path | None  # None: reports/<timestamp>-locust/
    task_budget: int
    task_duration: Distribution
    crash_probability: float
    fail_probability: float
    slow_probability: float
    resubmit_probability: float
    lease_timeout: float | None  # the deployment's lease, when claims do not carry one
    heartbeat_interval: float
    poll_interval: float
    janitor_interval: float
    producer_rate: float | None  # submits per second per Producer user; None: flat out
    api_key: str | None
    admin_key: str | None
    drain_timeout: float
    analyze: bool
    record: bool
    mix: dict[str, int]
    impl: str | None  # a label for run.json, e.g. "naive"; the harness cannot see it
    profile: str

    @property
    def stall_lease(self) -> float:
        """The lease a slow worker outstays when the claim did not say when it ends."""
        return self.lease_timeout if self.lease_timeout is not None else FALLBACK_LEASE_SECONDS


def _number(value: object, name: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"--{name} {value!r}: not a number") from None
    if not math.isfinite(number):
        raise ConfigError(f"--{name} {value!r}: not a finite number")
    return number


def _positive(value: object, name: str, *, allow_zero: bool = False) -> float:
    number = _number(value, name)
    if number < 0 or (number == 0 and not allow_zero):
        raise ConfigError(f"--{name} {value!r}: must be {'>= 0' if allow_zero else '> 0'}")
    return number


def _optional_positive(value: object, name: str) -> float | None:
    if value is None or value == "":
        return None
    return _positive(value, name)


def _flag(value: object) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")


def settings_from(options: Any, env: EnvSettings) -> ScenarioSettings:
    """Build the settings from Locust's parsed options; keys fall back to ``QHARNESS_*``."""
    budget = _positive(options.task_budget, "task-budget", allow_zero=True)
    if budget != int(budget):
        raise ConfigError(f"--task-budget {options.task_budget!r}: a whole number of tasks")
    config = getattr(options, "config", None)
    return ScenarioSettings(
        run_dir=Path(options.run_dir) if options.run_dir else None,
        task_budget=int(budget),
        task_duration=Distribution.parse(str(options.task_duration)),
        crash_probability=parse_probability(options.crash_probability, "crash-probability"),
        fail_probability=parse_probability(options.fail_probability, "fail-probability"),
        slow_probability=parse_probability(options.slow_probability, "slow-probability"),
        resubmit_probability=parse_probability(
            options.resubmit_probability, "resubmit-probability"
        ),
        lease_timeout=_optional_positive(options.lease_timeout, "lease-timeout"),
        heartbeat_interval=_positive(options.heartbeat_interval, "heartbeat-interval"),
        poll_interval=_positive(options.poll_interval, "poll-interval", allow_zero=True),
        janitor_interval=_positive(options.janitor_interval, "janitor-interval"),
        producer_rate=_optional_positive(options.producer_rate, "producer-rate"),
        api_key=options.api_key or env.api_key,
        admin_key=options.admin_key or env.admin_key,
        drain_timeout=_positive(options.drain_timeout, "drain-timeout", allow_zero=True),
        analyze=_flag(options.analyze),
        record=_flag(options.record),
        mix=parse_mix(str(options.mix)),
        impl=options.impl or None,
        profile=Path(config).stem if config else "mixed",
    )


def _checked(parse: Callable[[str], object]) -> Callable[[str], str]:
    """An argparse ``type`` that validates with ``parse`` but keeps the string (see module doc)."""

    def check(text: str) -> str:
        try:
            parse(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    return check


def _probability(name: str) -> Callable[[str], float]:
    def check(text: str) -> float:
        try:
            return parse_probability(text, name)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return check


def add_options(parser: Any, **_kwargs: Any) -> None:
    """Register the options (listener of ``events.init_command_line_parser``)."""
    add = parser.add_argument
    add(
        "--run-dir",
        default="",
        env_var="LOCUST_RUN_DIR",
        help="qharness: the run folder (default: reports/<timestamp>-locust/)",
    )
    add(
        "--task-budget",
        type=int,
        default=1000,
        env_var="LOCUST_TASK_BUDGET",
        help="qharness: tasks the producers submit in the whole run (all processes)",
    )
    add(
        "--task-duration",
        type=_checked(Distribution.parse),
        default="exp:0.05",
        env_var="LOCUST_TASK_DURATION",
        help="qharness: work time per task: SECONDS, exp:MEAN or uniform:LOW-HIGH",
    )
    add(
        "--crash-probability",
        type=_probability("crash-probability"),
        default=0.01,
        env_var="LOCUST_CRASH_PROBABILITY",
        help="qharness: chance a worker dies mid-task (it comes back as a new process)",
    )
    add(
        "--fail-probability",
        type=_probability("fail-probability"),
        default=0.05,
        env_var="LOCUST_FAIL_PROBABILITY",
        help="qharness: chance a worker reports a task as failed instead of completing it",
    )
    add(
        "--slow-probability",
        type=_probability("slow-probability"),
        default=0.2,
        env_var="LOCUST_SLOW_PROBABILITY",
        help="qharness: chance a SlowWorker stalls past its lease, then completes anyway",
    )
    add(
        "--resubmit-probability",
        type=_probability("resubmit-probability"),
        default=0.02,
        env_var="LOCUST_RESUBMIT_PROBABILITY",
        help="qharness: chance a Producer resubmits a task id on purpose (a no-op by contract)",
    )
    add(
        "--lease-timeout",
        type=float,
        default=None,
        env_var="LOCUST_LEASE_TIMEOUT",
        help="qharness: the deployment's lease in seconds, for deployments whose claims "
        "carry no expires_at (recorded in run.json for the double-claim check)",
    )
    add(
        "--heartbeat-interval",
        type=float,
        default=1.0,
        env_var="LOCUST_HEARTBEAT_INTERVAL",
        help="qharness: seconds between a working worker's heartbeats",
    )
    add(
        "--poll-interval",
        type=float,
        default=0.05,
        env_var="LOCUST_POLL_INTERVAL",
        help="qharness: seconds a worker waits after finding nothing pending",
    )
    add(
        "--janitor-interval",
        type=float,
        default=0.5,
        env_var="LOCUST_JANITOR_INTERVAL",
        help="qharness: seconds between JanitorTrigger calls of POST /admin/janitor/run",
    )
    add(
        "--producer-rate",
        type=float,
        default=None,
        env_var="LOCUST_PRODUCER_RATE",
        help="qharness: submits per second per Producer user (default: as fast as possible)",
    )
    add(
        "--api-key",
        default="",
        env_var="LOCUST_API_KEY",
        is_secret=True,
        help="qharness: bearer token for the API (default: $QHARNESS_API_KEY)",
    )
    add(
        "--admin-key",
        default="",
        env_var="LOCUST_ADMIN_KEY",
        is_secret=True,
        help="qharness: admin key; enables JanitorTrigger (default: $QHARNESS_ADMIN_KEY)",
    )
    add(
        "--drain-timeout",
        type=float,
        default=30.0,
        env_var="LOCUST_DRAIN_TIMEOUT",
        help="qharness: seconds to wait, once the budget is submitted, for nothing to be "
        "pending or processing before stopping anyway",
    )
    add(
        "--analyze",
        action=argparse.BooleanOptionalAction,
        default=True,
        env_var="LOCUST_ANALYZE",
        help="qharness: audit and analyze the history when the run ends (exit code = verdict)",
    )
    add(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=True,
        env_var="LOCUST_RECORD",
        help="qharness: record the history (--no-record: load only, for overhead benchmarks)",
    )
    add(
        "--mix",
        type=_checked(parse_mix),
        default=DEFAULT_MIX,
        env_var="LOCUST_MIX",
        help="qharness: user class weights, CLASS=WEIGHT,... (weight 0 leaves a class out)",
    )
    add(
        "--impl",
        default="",
        env_var="LOCUST_IMPL",
        help="qharness: a label for the deployment under test (naive, safe, ...) in run.json",
    )
