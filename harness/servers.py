"""The reference deployment: Redis + the worker API (uvicorn, N processes) + janitors.

:class:`Deployment` starts and owns every process of a run's system under test::

    settings = ServeSettings(impl=Impl.SAFE, lease_timeout=5.0)
    with Deployment(settings, api_procs=2, janitors=1) as dep:
        httpx.get(dep.base_url + "/healthz")
        os.kill(dep.api_pids()[0], signal.SIGKILL)  # the nemesis: uvicorn restarts it

- Redis: ``settings.redis_url`` if set, else ``REDIS_URL``, else an embedded server.
- API: ``uvicorn reference_queue.api:app_from_env --factory --workers N`` on 127.0.0.1
  and a free port; the settings travel as ``QHARNESS_SERVE_*`` variables. With N ≥ 2
  uvicorn's supervisor restarts a worker that dies or stops answering its health
  pings (a SIGSTOPped worker is killed and replaced after about 5 s); with N = 1 there
  is no supervisor and a killed API stays dead.
- Janitors: ``python -m reference_queue.janitor`` processes (0 or more); with a history
  dir, ``python -m harness.rescues``, which runs the same janitor and records the
  rescues it reports (the system under test records nothing itself).
- Metrics: every API start gets a fresh ``PROMETHEUS_MULTIPROC_DIR`` (removed at stop),
  so ``/metrics`` sums all API processes of this deployment and nothing older.

Every child runs in its own process group with ``PR_SET_PDEATHSIG`` (and API workers
set it themselves), so :meth:`Deployment.stop` — also run at exit — kills whole groups,
and a SIGKILLed harness leaves nothing behind.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx
import psutil

from harness.errors import ServerError
from harness.redis_server import (
    EmbeddedRedis,
    Persistence,
    RedisConfig,
    _die_with_parent,
    free_port,
)
from harness.settings import METRICS_DIR_VAR, child_env, from_env
from reference_queue.settings import ServeSettings

logger = logging.getLogger(__name__)


class Deployment:
    """Redis + API + janitors for one run. Use as a context manager (or start/stop).

    ``settings`` configures the API processes (and the janitors' impl, lease timeout,
    max attempts and faults); ``settings.redis_url=None`` means start/choose Redis here.
    ``janitor_interval`` is the janitor processes' sweep period; ``history_dir`` makes
    them record their rescues; ``log_dir`` keeps the processes' logs (default: a temp
    dir removed at stop). ``app`` is the uvicorn ``--factory`` target (another app that
    reads ``QHARNESS_SERVE_*`` can be served the same way, e.g. a benchmark baseline).
    """

    def __init__(
        self,
        settings: ServeSettings,
        *,
        api_procs: int = 2,
        janitors: int = 1,
        janitor_interval: float = 1.0,
        port: int | None = None,
        history_dir: Path | None = None,
        persistence: Persistence = Persistence.NONE,
        log_dir: Path | None = None,
        ready_timeout: float = 60.0,
        app: str = "reference_queue.api:app_from_env",
    ) -> None:
        if api_procs < 1 or janitors < 0 or janitor_interval <= 0:
            raise ServerError("need api_procs >= 1, janitors >= 0 and janitor_interval > 0")
        self.settings = settings
        self.api_procs = api_procs
        self.janitors = janitors
        self.janitor_interval = janitor_interval
        self.history_dir = history_dir
        self.persistence = persistence
        self.ready_timeout = ready_timeout
        self.app = app
        self._own_logs = log_dir is None
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="qharness-deploy-"))
        self.port = port or free_port()
        self._fixed_port = port is not None
        self.redis: EmbeddedRedis | None = None
        self.metrics_dir: Path | None = None  # prometheus_client's multiprocess files
        self.api: subprocess.Popen[bytes] | None = None
        self.janitor_procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def redis_url(self) -> str:
        if self.settings.redis_url is None:
            raise ServerError("the deployment has not started: no Redis yet")
        return self.settings.redis_url

    @property
    def api_log(self) -> Path:
        return self.log_dir / "api.log"

    def api_pids(self) -> list[int]:
        """The pids serving HTTP now: uvicorn's worker processes (or the one process)."""
        if self.api is None or self.api.poll() is not None:
            return []
        if self.api_procs == 1:
            return [self.api.pid]
        try:
            children = psutil.Process(self.api.pid).children()
        except psutil.NoSuchProcess:
            return []
        return [c.pid for c in children if _is_api_worker(c)]

    @property
    def janitor_pids(self) -> list[int]:
        return [p.pid for p in self.janitor_procs if p.poll() is None]

    def start(self) -> Deployment:
        _LIVE.add(self)
        try:
            self._start_redis()
            self._start_api()
            for number in range(1, self.janitors + 1):
                self.janitor_procs.append(
                    self._spawn(self._janitor_argv(number), f"janitor-{number}")
                )
        except BaseException:
            self.stop()
            raise
        logger.info(
            "deployment %s up: api %s, janitors %s",
            self.base_url,
            self.api_pids(),
            self.janitor_pids,
        )
        return self

    def _start_redis(self) -> None:
        if self.settings.redis_url is None:
            env_url = from_env().redis_url
            if env_url is None:
                self.redis = EmbeddedRedis(RedisConfig(persistence=self.persistence)).start()
                env_url = self.redis.url
            self.settings = self.settings.with_redis(env_url)

    def _start_api(self) -> None:
        for attempt in range(3):  # a free port can be taken between probe and bind
            self.api = self._spawn(self._api_argv(), "api", self._api_env())
            if self._wait_ready():
                return
            exited = self.api.poll() is not None  # e.g. the port was taken: try another
            self._kill_group(self.api)
            if not exited or self._fixed_port or attempt == 2:
                break  # still running but not ready in time: retrying would not help
            self.port = free_port()
        tail = self.api_log.read_text(errors="replace")[-2000:] if self.api_log.exists() else ""
        raise ServerError(f"the API did not answer {self.base_url}/healthz:\n{tail}")

    def _api_argv(self) -> list[str]:
        return [
            sys.executable, "-m", "uvicorn", self.app, "--factory",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.api_procs),
            "--log-level", self.settings.log_level, "--no-access-log",
            "--timeout-graceful-shutdown", "3",
        ]  # fmt: skip

    def _api_env(self) -> dict[str, str]:
        env = dict(self.settings.to_env().items())
        env["QHARNESS_SERVE_DIE_WITH_PARENT"] = "1"
        # A fresh, empty dir per API start: stale files of an earlier run would add up.
        if self.metrics_dir is not None:
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
        self.metrics_dir = Path(tempfile.mkdtemp(prefix="qharness-metrics-"))
        env[METRICS_DIR_VAR] = str(self.metrics_dir)
        return child_env(**env)

    def _janitor_argv(self, number: int) -> list[str]:
        s = self.settings
        # Recording rescues is the harness's job: harness.rescues runs the reference
        # janitor with a hook that records what it reports.
        module = "reference_queue.janitor" if self.history_dir is None else "harness.rescues"
        argv = [
            sys.executable, "-m", module,
            "--redis-url", self.redis_url, "--impl", str(s.impl),
            "--interval", repr(self.janitor_interval),
            "--lease-timeout", repr(s.lease_timeout),
            "--max-attempts", str(s.max_attempts),
            "--number", str(number), "--log-level", s.log_level,
        ]  # fmt: skip
        if s.faults:
            argv += ["--faults", s.faults]
        if self.history_dir is not None:
            argv += ["--history-dir", str(self.history_dir)]
        return argv

    def _spawn(
        self, argv: list[str], name: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        self._logs.append(log)
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env or child_env(),
            start_new_session=True,  # its own process group: stop() kills the whole group
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def _wait_ready(self) -> bool:
        """Until /healthz answers 200 and every API worker process exists."""
        assert self.api is not None
        deadline = time.monotonic() + self.ready_timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.api.poll() is not None:
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    healthy = client.get(self.base_url + "/healthz").status_code == 200
                    if healthy and len(self.api_pids()) >= self.api_procs:
                        return True
                time.sleep(0.1)
        return False

    def _kill_group(self, proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
        """SIGTERM the process group (SIGCONT first: it may be stopped), then SIGKILL."""
        for sig in (signal.SIGCONT, signal.SIGTERM):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group, e.g. API workers
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)

    def stop(self) -> None:
        """Stop janitors, API and the embedded Redis; idempotent."""
        for proc in self.janitor_procs:
            self._kill_group(proc)
        if self.api is not None:
            self._kill_group(self.api)
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        if self.metrics_dir is not None:
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
            self.metrics_dir = None
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self._own_logs:
            shutil.rmtree(self.log_dir, ignore_errors=True)
        _LIVE.discard(self)

    def __enter__(self) -> Deployment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _is_api_worker(proc: psutil.Process) -> bool:
    """uvicorn's workers are multiprocessing children; skip helpers like the resource tracker."""
    try:
        return "resource_tracker" not in " ".join(proc.cmdline())
    except psutil.Error:
        return False


_LIVE: set[Deployment] = set()


@atexit.register
def _stop_all() -> None:  # pragma: no cover - exercised by process exit
    for deployment in list(_LIVE):
        deployment.stop()
