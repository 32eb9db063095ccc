"""The embedded Redis: a real server on 127.0.0.1, persistence modes, and no leftovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace

import psutil
import pytest
import redis

from harness.errors import ConfigError
from harness.redis_server import EmbeddedRedis, Persistence, RedisConfig, find_redis_server
from harness.settings import EnvSettings, from_env


def _env(**kw: object) -> EnvSettings:
    """This environment with some settings replaced (no REDIS_URL, no explicit binary)."""
    fields: dict[str, object] = {"redis_url": None, "redis_server": None, **kw}
    return replace(from_env(), **fields)  # type: ignore[arg-type]


def test_binds_loopback_and_stops_without_leftovers() -> None:
    with EmbeddedRedis() as server:
        pid = server.pid
        assert pid is not None
        client = redis.Redis.from_url(server.url)
        assert client.ping()
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        workdir = server.workdir
        client.close()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not workdir.exists()


@pytest.mark.parametrize(
    ("mode", "survives"),
    [(Persistence.NONE, False), (Persistence.EVERYSEC, True), (Persistence.ALWAYS, True)],
)
def test_persistence_mode_decides_what_a_restart_keeps(mode: Persistence, survives: bool) -> None:
    with EmbeddedRedis(RedisConfig(persistence=mode)) as server:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        if mode is Persistence.EVERYSEC:
            time.sleep(1.5)  # everysec may lose the last second by design
        server.restart()
        assert (client.get("k") == b"v") is survives
        client.close()


def test_explicit_binary_that_does_not_exist_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="QHARNESS_REDIS_SERVER"):
        find_redis_server(_env(redis_server="/nonexistent/redis-server"))


def test_finds_a_binary_without_configuration() -> None:
    assert os.access(find_redis_server(_env()), os.X_OK)


def test_server_dies_with_a_killed_parent() -> None:
    """Even a SIGKILLed harness leaves no redis-server behind (PR_SET_PDEATHSIG)."""
    script = textwrap.dedent(
        """
        import sys, time
        from harness.redis_server import EmbeddedRedis
        s = EmbeddedRedis().start()
        print(s.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    assert psutil.pid_exists(child_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while psutil.pid_exists(child_pid) and time.monotonic() < deadline:
        try:
            if psutil.Process(child_pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    gone = not psutil.pid_exists(child_pid)
    assert gone or psutil.Process(child_pid).status() == psutil.STATUS_ZOMBIE


def test_restart_keeps_the_port_even_when_it_lingers() -> None:
    """Clients hold the URL: a restart that moved to another port would strand them."""
    with EmbeddedRedis() as server:
        url = server.url
        for _ in range(3):
            server.restart()
            assert server.url == url
            client = redis.Redis.from_url(url)
            assert client.ping()
            client.close()


def test_a_server_restarted_by_a_short_lived_thread_outlives_it() -> None:
    """PR_SET_PDEATHSIG follows the forking *thread*: the nemesis restarts Redis from a
    thread that ends soon after, and the server must stay up."""
    import threading

    with EmbeddedRedis() as server:
        worker = threading.Thread(target=server.restart)
        worker.start()
        worker.join()
        time.sleep(0.3)  # the kernel would deliver the death signal right away
        client = redis.Redis.from_url(server.url)
        assert client.ping()
        client.close()
