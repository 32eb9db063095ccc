"""The scenarios' options: duration distributions, mixes, settings, and Locust's parser."""

from __future__ import annotations

import argparse
import dataclasses
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness.errors import ConfigError
from harness.locust.options import (
    DEFAULT_MIX,
    Distribution,
    DistributionKind,
    ScenarioSettings,
    option_specs,
    parse_mix,
    settings_from,
)
from harness.redis_server import free_port
from harness.settings import EnvSettings, child_env

ROOT = Path(__file__).resolve().parents[3]
LOCUST = str(Path(sys.executable).with_name("locust"))


def _env(**overrides: str | None) -> EnvSettings:
    values: dict[str, object] = {
        "redis_url": None,
        "api_key": None,
        "admin_key": None,
        "ci": False,
        "redis_server": None,
        "hypothesis_profile": None,
    }
    values.update(overrides)
    return EnvSettings(**values)  # type: ignore[arg-type]


def _options(**overrides: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "run_dir": "",
        "task_budget": 1000,
        "task_duration": "exp:0.05",
        "crash_probability": 0.01,
        "fail_probability": 0.05,
        "slow_probability": 0.2,
        "resubmit_probability": 0.02,
        "lease_timeout": None,
        "heartbeat_interval": 1.0,
        "poll_interval": 0.05,
        "janitor_interval": 0.5,
        "producer_rate": None,
        "api_key": "",
        "admin_key": "",
        "drain_timeout": 30.0,
        "analyze": True,
        "record": True,
        "mix": DEFAULT_MIX,
        "impl": "",
        "config": None,
    }
    values.update(overrides)
    return argparse.Namespace(**values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.05", Distribution(kind=DistributionKind.CONST, low=0.05)),
        ("const:1", Distribution(kind=DistributionKind.CONST, low=1.0)),
        ("exp:0.05", Distribution(kind=DistributionKind.EXP, low=0.05)),
        ("uniform:0.01-0.1", Distribution(kind=DistributionKind.UNIFORM, low=0.01, high=0.1)),
    ],
)
def test_distribution_parses_every_form(text: str, expected: Distribution) -> None:
    assert Distribution.parse(text) == expected
    assert Distribution.parse(str(expected)) == expected  # str() round-trips


@pytest.mark.parametrize(
    "text", ["", "fast", "exp:", "exp:-1", "uniform:0.2-0.1", "uniform:1", "gauss:1", "exp:nan"]
)
def test_distribution_rejects_nonsense_with_a_hint(text: str) -> None:
    with pytest.raises(ConfigError, match="duration"):
        Distribution.parse(text)


def test_distribution_samples_stay_in_range() -> None:
    rng = random.Random(7)
    uniform = Distribution.parse("uniform:0.01-0.1")
    exp = Distribution.parse("exp:0.05")
    u = [uniform.sample(rng) for _ in range(2000)]
    e = [exp.sample(rng) for _ in range(2000)]
    assert all(0.01 <= x <= 0.1 for x in u)
    assert all(x >= 0 for x in e)
    assert 0.04 < sum(e) / len(e) < 0.06  # the mean is the parameter (2000 draws: ±20%)
    assert Distribution.parse("0.3").sample(rng) == 0.3
    assert Distribution.parse("exp:0").sample(rng) == 0.0


def test_mix_parses_weights_and_rejects_all_zero() -> None:
    assert parse_mix("Producer=3, Worker=20,SlowWorker=0") == {
        "Producer": 3,
        "Worker": 20,
        "SlowWorker": 0,
    }
    for bad in ("Worker", "Worker=x", "=3", "Worker=-1", "Worker=0"):
        with pytest.raises(ConfigError, match="mix"):
            parse_mix(bad)


def test_settings_resolve_values_and_fall_back_to_env_keys(tmp_path: Path) -> None:
    s = settings_from(
        _options(run_dir=str(tmp_path), lease_timeout="2.5", config="x/profiles/chaos.conf"),
        _env(api_key="A", admin_key="B"),
    )
    assert s.run_dir == tmp_path
    assert s.lease_timeout == 2.5  # the web UI hands numbers over as text
    assert s.stall_lease == 2.5
    assert (s.api_key, s.admin_key) == ("A", "B")
    assert s.profile == "chaos"
    explicit = settings_from(_options(api_key="X"), _env(api_key="A"))
    assert explicit.api_key == "X"
    assert explicit.run_dir is None
    assert explicit.stall_lease == 30.0  # the design's default lease when nothing says
    assert explicit.profile == "mixed"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("crash_probability", 1.5, "crash-probability"),
        ("task_budget", -1, "task-budget"),
        ("task_budget", 2.5, "task-budget"),
        ("drain_timeout", "soon", "drain-timeout"),
        ("lease_timeout", "0", "lease-timeout"),
        ("heartbeat_interval", "inf", "heartbeat-interval"),
    ],
)
def test_settings_reject_bad_values_naming_the_option(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from(_options(**{field: value}), _env())


def _locust(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOCUST, "-f", str(ROOT / "scenarios"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=env,
    )


OUR_OPTIONS = (
    "--run-dir", "--task-budget", "--task-duration", "--crash-probability",
    "--fail-probability", "--slow-probability", "--lease-timeout", "--api-key",
    "--admin-key", "--drain-timeout", "--analyze", "--no-analyze", "--producer-rate",
    "--record", "--mix",
)  # fmt: skip


def test_one_definition_gives_each_settings_field_its_flag_and_variable() -> None:
    specs = {s.field: s for s in option_specs()}
    assert set(specs) == {f.name for f in dataclasses.fields(ScenarioSettings)} - {"profile"}
    assert {s.flag for s in specs.values()} >= {o for o in OUR_OPTIONS if "--no-" not in o}
    assert (specs["task_budget"].flag, specs["task_budget"].env_var) == (
        "--task-budget", "LOCUST_TASK_BUDGET",
    )  # fmt: skip
    defaults = argparse.Namespace(**{s.field: s.opt.default for s in specs.values()})
    settings = settings_from(defaults, _env(api_key="from-env"))
    assert (settings.task_budget, settings.mix["Worker"], settings.api_key) == (
        1000,
        20,
        "from-env",
    )


def test_python_m_scenarios_help_lists_every_option_with_its_env_var() -> None:
    """Locust prints --help before loading locustfiles, so ours has its own help."""
    out = subprocess.run(
        [sys.executable, "-m", "scenarios", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    for option in OUR_OPTIONS:
        assert option in out.stdout, option
    flat = " ".join(out.stdout.split())
    assert "LOCUST_TASK_BUDGET" in flat
    assert "LOCUST_DRAIN_TIMEOUT" in flat


def test_the_web_ui_offers_the_options() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [LOCUST, "-f", str(ROOT / "scenarios"), "--web-host", "127.0.0.1",
         "--web-port", str(port), "--host", "http://127.0.0.1:9"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        page = ""
        for _ in range(100):
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2).text
                break
            except httpx.TransportError:
                time.sleep(0.1)
        for name in ("task_budget", "task_duration", "drain_timeout", "admin_key"):
            assert name in page, name
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_locust_lists_the_four_user_classes() -> None:
    out = _locust("--list")
    assert out.returncode == 0, out.stderr
    names = {line.strip() for line in out.stdout.splitlines()[1:] if line.strip()}
    assert names == {"Worker", "SlowWorker", "Producer", "JanitorTrigger"}


def test_a_bad_option_is_a_one_line_usage_error() -> None:
    out = _locust("--headless", "--task-duration", "soonish", "--host", "http://127.0.0.1:9")
    assert out.returncode == 2
    assert "duration 'soonish'" in out.stderr
    assert "Traceback" not in out.stderr


def test_options_come_from_locust_env_vars_too() -> None:
    env = child_env(LOCUST_CRASH_PROBABILITY="7")
    out = _locust("--headless", "--host", "http://127.0.0.1:9", env=env)
    assert out.returncode == 2
    assert "crash-probability '7'" in out.stderr


@pytest.mark.parametrize(
    "profile", sorted(p.stem for p in (ROOT / "scenarios" / "profiles").glob("*.conf"))
)
def test_every_profile_parses_and_names_real_user_classes(profile: str) -> None:
    conf = ROOT / "scenarios" / "profiles" / f"{profile}.conf"
    out = _locust("--config", str(conf), "--list")
    assert out.returncode == 0, out.stderr
    mix = next(line for line in conf.read_text().splitlines() if line.startswith("mix ="))
    assert set(parse_mix(mix.split("=", 1)[1])) <= {
        "Producer",
        "Worker",
        "SlowWorker",
        "JanitorTrigger",
    }


def test_the_six_profiles_exist() -> None:
    names = {p.stem for p in (ROOT / "scenarios" / "profiles").glob("*.conf")}
    assert names == {
        "mixed", "test1_simultaneous", "test2_polling", "test3_completion", "janitor_race", "chaos",
    }  # fmt: skip
