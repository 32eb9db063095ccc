"""``harness run``: one command from nothing to a race report.

Starts the embedded Redis, the reference deployment and its janitors
(:class:`harness.servers.Deployment`), runs a Locust profile as a subprocess
(``locust -f scenarios --config scenarios/profiles/NAME.conf``), runs the nemesis,
then — with the load stopped and the faults healed — audits the deployment, stops it,
and analyzes the history. Writes ``reports/<timestamp>-<impl>-<profile>/`` and points
``reports/latest`` at it.

Ctrl-C (SIGINT) or SIGTERM during the load stops Locust (which flushes its history),
heals the nemesis, stops every process the run started, and still analyzes what was
recorded; the exit code is then 130.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import psutil

from harness import profiles
from harness.analyze import analyze_run
from harness.audit import audit_run
from harness.checks import CheckReport, Verdict
from harness.errors import ConfigError, HarnessError
from harness.nemesis import Nemesis, NemesisPlan, Targets
from harness.progress import Progress
from harness.recorder import Recorder, shard_name
from harness.redis_server import Persistence, _die_with_parent
from harness.run_folder import new_run_dir, point_latest, update_run_json
from harness.server_metrics import scrape
from harness.servers import Deployment
from harness.settings import child_env
from reference_queue.settings import Impl, ServeSettings

logger = logging.getLogger(__name__)

EXIT = {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.UNKNOWN: 2}
INTERRUPTED = 130
LOCUST_GRACE = 60.0  # seconds Locust gets to drain its users and flush after SIGINT


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSpec:
    """Everything one run needs; built once from the command line."""

    impl: str
    profile: profiles.Profile
    nemesis: NemesisPlan
    duration: float | None = None  # None: the profile's run-time
    api_procs: int = 2
    persistence: Persistence = Persistence.NONE
    faults: str | None = None  # None: the profile's race-widening fault points
    locust_processes: int = 1
    seed: int | None = None
    base_dir: Path = Path("reports")
    run_dir: Path | None = None
    locust_args: tuple[str, ...] = ()
    rate_limit: str | None = None  # the deployment's per-worker rate limit, e.g. "10/s"
    breaker_threshold: int = 0  # the deployment's Redis circuit breaker (0: off)

    @property
    def lease_timeout(self) -> float:
        return self.profile.lease_timeout

    @property
    def fault_spec(self) -> str:
        return self.profile.faults if self.faults is None else self.faults


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    run_dir: Path
    report: CheckReport | None
    interrupted: bool = False
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        return self.report.verdict if self.report is not None else Verdict.UNKNOWN

    @property
    def exit_code(self) -> int:
        return INTERRUPTED if self.interrupted else EXIT[self.verdict]

    def summary(self) -> str:
        found = ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items()) if v)
        why = f" ({self.error})" if self.error else ""
        status = " (interrupted)" if self.interrupted else ""
        return f"verdict: {self.verdict.upper()}{status}{why}" + (f" — {found}" if found else "")


def locust_argv(spec: RunSpec, run_dir: Path, host: str, admin_key: str) -> list[str]:
    argv = [
        sys.executable, "-m", "locust",
        "-f", str(profiles.SCENARIOS_DIR),
        "--config", str(spec.profile.conf),
        "--headless", "--host", host,
        "--run-dir", str(run_dir),
        "--impl", spec.impl,
        "--lease-timeout", repr(spec.lease_timeout),
        "--admin-key", admin_key,
        "--no-analyze",  # the harness audits and analyzes once the nemesis has healed
        "--html", str(run_dir / "locust.html"),
        "--csv", str(run_dir / "locust"),
        "--only-summary",
    ]  # fmt: skip
    if spec.duration is not None:
        argv += ["--run-time", f"{int(spec.duration)}s"]
    if spec.locust_processes > 1:
        argv += ["--processes", str(spec.locust_processes)]
    return argv + list(spec.locust_args)


class _Signals:
    """During the load: SIGINT/SIGTERM ask Locust to stop instead of killing us."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.locust: subprocess.Popen[bytes] | None = None
        self._old: dict[signal.Signals, Any] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received = signum
        if self.locust is not None and self.locust.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.locust.send_signal(signal.SIGINT)

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Signals]:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        try:
            yield self
        finally:
            for sig, old in self._old.items():
                signal.signal(sig, old)


def _locust_pids(proc: subprocess.Popen[bytes] | None) -> list[int]:
    """The load generator's processes (the nemesis may pause them)."""
    if proc is None or proc.poll() is not None:
        return []
    try:
        parent = psutil.Process(proc.pid)
        return [proc.pid, *(c.pid for c in parent.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _drive_load(
    spec: RunSpec,
    dep: Deployment,
    run_dir: Path,
    admin_key: str,
    progress: Progress,
    meta: dict[str, Any],
) -> bool:
    """Run Locust and the nemesis; True when interrupted by a signal."""
    signals = _Signals()
    log = (run_dir / "locust.log").open("wb")
    recorder = Recorder(run_dir / "history", shard_name("nemesis"))
    holder: dict[str, subprocess.Popen[bytes]] = {}
    targets = Targets(
        api_pids=dep.api_pids, worker_pids=lambda: _locust_pids(holder.get("p")), redis=dep.redis
    )
    nemesis = Nemesis(spec.nemesis, targets, recorder)
    try:
        with signals.installed():
            proc = subprocess.Popen(
                locust_argv(spec, run_dir, dep.base_url, admin_key),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=child_env(PYTHONUNBUFFERED="1"), start_new_session=True,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
            holder["p"] = signals.locust = proc
            nemesis.start()
            progress.set_phase("load")
            deadline: float | None = None
            while proc.poll() is None:
                if signals.received is not None and deadline is None:
                    progress.set_phase("stopping")
                    deadline = time.monotonic() + LOCUST_GRACE
                if deadline is not None and time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        return signals.received is not None
    finally:
        nemesis.stop()
        recorder.close()
        if "p" in holder:
            _stop_group(holder["p"])
        log.close()
        meta["nemesis_windows"] = nemesis.windows


def run_once(spec: RunSpec, *, out: TextIO = sys.stderr) -> RunResult:
    """One full run; never raises for a misbehaving queue (that is the verdict)."""
    run_dir = spec.run_dir or new_run_dir(spec.base_dir, f"{spec.impl}-{spec.profile.name}")
    (run_dir / "history").mkdir(parents=True, exist_ok=True)
    (run_dir / "logs").mkdir(exist_ok=True)
    if spec.run_dir is None:
        point_latest(spec.base_dir, run_dir)
    admin_key = secrets.token_hex(12)
    settings = ServeSettings(
        impl=Impl(spec.impl), lease_timeout=spec.lease_timeout, faults=spec.fault_spec,
        admin_key=admin_key, rate_limit=spec.rate_limit,
        breaker_threshold=spec.breaker_threshold,
    )  # fmt: skip
    meta = {
        "impl": spec.impl,
        "profile": spec.profile.name,
        "lease_timeout": spec.lease_timeout,
        "faults": spec.fault_spec,
        "nemesis": [str(f) for f in spec.nemesis.faults],
        "persistence": str(spec.persistence),
        "rate_limit": spec.rate_limit,
        "api_procs": spec.api_procs,
        "seed": spec.seed,
        "harness_started_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }  # fmt: skip  (written after Locust: a run.json makes Locust pick another folder)
    progress = Progress(run_dir / "history", lease_timeout=spec.lease_timeout, out=out).start()
    interrupted, error = False, None
    try:
        progress.set_phase("deploy")
        with Deployment(
            settings, api_procs=spec.api_procs, janitors=spec.profile.janitors,
            janitor_interval=spec.profile.janitor_interval, history_dir=run_dir / "history",
            persistence=spec.persistence, log_dir=run_dir / "logs",
        ) as dep:  # fmt: skip
            interrupted = _drive_load(spec, dep, run_dir, admin_key, progress, meta)
            update_run_json(run_dir, **meta)
            progress.set_phase("audit")
            try:
                audit_run(run_dir, dep.base_url)
            except (HarnessError, OSError) as exc:
                logger.warning("audit failed: %s", exc)
                update_run_json(run_dir, audit_error=str(exc))
            update_run_json(run_dir, server_counters=scrape(dep.base_url))
        progress.set_phase("analyze")
    finally:
        progress.stop()
    try:
        report = analyze_run(run_dir, lease_timeout=spec.lease_timeout)
    except HarnessError as exc:
        return RunResult(run_dir=run_dir, report=None, interrupted=interrupted, error=str(exc))
    if not (run_dir / "run.json").exists() or report.metrics.get("events", 1) == 0:
        error = "the load generator recorded nothing; see locust.log"
    counts = {k: r.count for k, r in report.results.items()}
    update_run_json(run_dir, verdict=str(report.verdict), violations=counts)
    return RunResult(
        run_dir=run_dir, report=report, interrupted=interrupted, error=error, counts=counts
    )


def check_impl(impl: str) -> str:
    if impl not in ("naive", "safe"):
        raise ConfigError(f"--impl {impl!r}: harness run deploys naive or safe")
    return impl
