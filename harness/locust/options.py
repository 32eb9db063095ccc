"""The scenarios' command-line options and the frozen settings built from them.

One definition: each field of :class:`ScenarioSettings` carries its :class:`Opt` (an
``Annotated`` extra): default, help, how to convert and check the value. From it come
the Locust argument (``task_budget`` -> ``--task-budget``), its environment variable
(``LOCUST_TASK_BUDGET``) and the settings value, so no name is written twice.

Options are registered on Locust's parser (``init_command_line_parser``), so each one
shows in ``locust --help`` and in the web UI, and can come from the command line, a
``LOCUST_*`` environment variable, a ``--config`` file or ``[tool.locust]``. The parsed
values stay plain strings and numbers (the web UI re-casts them by type when a user
edits them); :func:`settings_from` turns them into one :class:`ScenarioSettings` when a
test starts, and a bad value there is a :class:`~harness.errors.ConfigError`.
"""

from __future__ import annotations

import argparse
import functools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, get_type_hints

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


def _number(value: object, name: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"--{name} {value!r}: not a number") from None
    if not math.isfinite(number):
        raise ConfigError(f"--{name} {value!r}: not a finite number")
    return number


def _positive(value: object, name: str) -> float:
    number = _number(value, name)
    if number <= 0:
        raise ConfigError(f"--{name} {value!r}: must be > 0")
    return number


def _non_negative(value: object, name: str) -> float:
    number = _number(value, name)
    if number < 0:
        raise ConfigError(f"--{name} {value!r}: must be >= 0")
    return number


def _optional_positive(value: object, name: str) -> float | None:
    if value is None or value == "":
        return None
    return _positive(value, name)


def _whole(value: object, name: str) -> int:
    number = _non_negative(value, name)
    if number != int(number):
        raise ConfigError(f"--{name} {value!r}: a whole number of tasks")
    return int(number)


def _flag(value: object, _name: str) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")


def _text_or_none(value: object, _name: str) -> str | None:
    return str(value) if value else None


def _path_or_none(value: object, _name: str) -> Path | None:
    return Path(str(value)) if value else None


def _distribution(value: object, _name: str) -> Distribution:
    return Distribution.parse(str(value))


def _mix(value: object, _name: str) -> dict[str, int]:
    return parse_mix(str(value))


Convert = Callable[[Any, str], Any]  # (parsed value, option name) -> settings value


@dataclass(frozen=True, slots=True, kw_only=True)
class Opt:
    """How one settings field is offered as a Locust option.

    ``parse`` is the argparse ``type``; with ``check`` the value is also converted at
    parse time, so a bad one is a usage error before the run starts (the parsed value
    stays what ``parse`` made of it). ``fallback`` names the :class:`EnvSettings` field
    used when the option is empty (``QHARNESS_API_KEY``...).
    """

    default: Any
    help: str
    convert: Convert
    parse: Callable[[str], Any] | None = None
    check: bool = False
    switch: bool = False  # --name / --no-name
    secret: bool = False
    fallback: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioSettings:
    """Everything the users and the run lifecycle need, resolved once per test.

    Each field but ``profile`` is an option (a table, so kept out of the formatter).
    """

    # fmt: off
    run_dir: Annotated[Path | None, Opt(
        default="", convert=_path_or_none,
        help="the run folder (default: reports/<timestamp>-locust/)")]
    task_budget: Annotated[int, Opt(
        default=1000, parse=int, convert=_whole,
        help="tasks the producers submit in the whole run (all processes)")]
    task_duration: Annotated[Distribution, Opt(
        default="exp:0.05", convert=_distribution, check=True,
        help="work time per task: SECONDS, exp:MEAN or uniform:LOW-HIGH")]
    crash_probability: Annotated[float, Opt(
        default=0.01, parse=float, convert=parse_probability, check=True,
        help="chance a worker dies mid-task (it comes back as a new process)")]
    fail_probability: Annotated[float, Opt(
        default=0.05, parse=float, convert=parse_probability, check=True,
        help="chance a worker reports a task as failed instead of completing it")]
    slow_probability: Annotated[float, Opt(
        default=0.2, parse=float, convert=parse_probability, check=True,
        help="chance a SlowWorker stalls past its lease, then completes anyway")]
    resubmit_probability: Annotated[float, Opt(
        default=0.02, parse=float, convert=parse_probability, check=True,
        help="chance a Producer resubmits a task id on purpose (a no-op by contract)")]
    lease_timeout: Annotated[float | None, Opt(
        default=None, parse=float, convert=_optional_positive,
        help="the deployment's lease in seconds, for deployments whose claims carry no "
        "expires_at (recorded in run.json for the double-claim check)")]
    heartbeat_interval: Annotated[float, Opt(
        default=1.0, parse=float, convert=_positive,
        help="seconds between a working worker's heartbeats")]
    poll_interval: Annotated[float, Opt(
        default=0.05, parse=float, convert=_non_negative,
        help="seconds a worker waits after finding nothing pending")]
    janitor_interval: Annotated[float, Opt(
        default=0.5, parse=float, convert=_positive,
        help="seconds between JanitorTrigger calls of POST /admin/janitor/run")]
    producer_rate: Annotated[float | None, Opt(
        default=None, parse=float, convert=_optional_positive,
        help="submits per second per Producer user (default: as fast as possible)")]
    api_key: Annotated[str | None, Opt(
        default="", convert=_text_or_none, secret=True, fallback="api_key",
        help="bearer token for the API (default: $QHARNESS_API_KEY)")]
    admin_key: Annotated[str | None, Opt(
        default="", convert=_text_or_none, secret=True, fallback="admin_key",
        help="admin key; enables JanitorTrigger (default: $QHARNESS_ADMIN_KEY)")]
    drain_timeout: Annotated[float, Opt(
        default=30.0, parse=float, convert=_non_negative,
        help="seconds to wait, once the budget is submitted, for nothing to be "
        "pending or processing before stopping anyway")]
    analyze: Annotated[bool, Opt(
        default=True, convert=_flag, switch=True,
        help="audit and analyze the history when the run ends (exit code = verdict)")]
    record: Annotated[bool, Opt(
        default=True, convert=_flag, switch=True,
        help="record the history (--no-record: load only, for overhead benchmarks)")]
    mix: Annotated[dict[str, int], Opt(
        default=DEFAULT_MIX, convert=_mix, check=True,
        help="user class weights, CLASS=WEIGHT,... (weight 0 leaves a class out)")]
    impl: Annotated[str | None, Opt(
        default="", convert=_text_or_none,
        help="a label for the deployment under test (naive, safe, ...) in run.json")]
    # fmt: on
    profile: str  # not an option: the --config file's name ("mixed" without one)

    @property
    def stall_lease(self) -> float:
        """The lease a slow worker outstays when the claim did not say when it ends."""
        return self.lease_timeout if self.lease_timeout is not None else FALLBACK_LEASE_SECONDS


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionSpec:
    """An option as Locust sees it, derived from a settings field."""

    field: str  # the settings field and argparse dest, e.g. ``task_budget``
    opt: Opt

    @property
    def name(self) -> str:
        return self.field.replace("_", "-")

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def env_var(self) -> str:
        return f"LOCUST_{self.field.upper()}"


@functools.cache
def option_specs() -> tuple[OptionSpec, ...]:
    """Every option, in the settings' field order."""
    hints = get_type_hints(ScenarioSettings, include_extras=True)
    specs = []
    for f in fields(ScenarioSettings):
        opts = [m for m in getattr(hints[f.name], "__metadata__", ()) if isinstance(m, Opt)]
        specs += [OptionSpec(field=f.name, opt=opts[0])] if opts else []
    return tuple(specs)


def settings_from(options: Any, env: EnvSettings) -> ScenarioSettings:
    """Build the settings from Locust's parsed options; keys fall back to ``QHARNESS_*``."""
    values: dict[str, Any] = {}
    for spec in option_specs():
        value = getattr(options, spec.field)
        if not value and spec.opt.fallback:
            value = getattr(env, spec.opt.fallback)
        values[spec.field] = spec.opt.convert(value, spec.name)
    config = getattr(options, "config", None)
    return ScenarioSettings(**values, profile=Path(config).stem if config else "mixed")


def _argparse_type(spec: OptionSpec) -> Callable[[str], Any] | None:
    parse, opt = spec.opt.parse, spec.opt
    if not opt.check:
        return parse

    def check(text: str) -> Any:
        try:
            opt.convert(text, spec.name)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return parse(text) if parse is not None else text

    return check


def add_options(parser: Any, **_kwargs: Any) -> None:
    """Register the options (listener of ``events.init_command_line_parser``)."""
    for spec in option_specs():
        kwargs: dict[str, Any] = {
            "default": spec.opt.default,
            "env_var": spec.env_var,
            "help": f"qharness: {spec.opt.help}",
        }
        if spec.opt.switch:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif (arg_type := _argparse_type(spec)) is not None:
            kwargs["type"] = arg_type
        if spec.opt.secret:
            kwargs["is_secret"] = True
        parser.add_argument(spec.flag, **kwargs)
