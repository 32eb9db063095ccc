"""The nemesis against a real deployment: faults happen, are recorded as windows, heal.

Only processes the deployment started are targets; after ``stop()`` nothing is left
paused, the API answers again (uvicorn replaced the killed worker) and Redis is back
on its port.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import psutil
import pytest
import redis

from harness import nemesis
from harness.errors import ConfigError
from harness.nemesis import FaultKind, Nemesis, Targets
from harness.recorder import Recorder
from harness.servers import Deployment
from reference_queue.settings import ServeSettings


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    with Deployment(ServeSettings(impl="safe"), api_procs=2, janitors=0) as dep:
        yield dep


def windows(history: Path) -> list[dict[str, object]]:
    events = [
        orjson.loads(line) for p in history.glob("*.jsonl") for line in p.read_bytes().splitlines()
    ]
    assert all(e["f"] == "nemesis" and e["type"] == "info" for e in events)
    return [e["value"] for e in events]


def test_every_fault_opens_and_closes_a_window_and_heals(
    deployment: Deployment, tmp_path: Path
) -> None:
    plan = nemesis.parse("kill-api,pause-api,restart-redis", interval=0.5, duration=0.5, seed=7)
    before = set(deployment.api_pids())
    targets = Targets(api_pids=deployment.api_pids, redis=deployment.redis)
    with Recorder(tmp_path, "nemesis.jsonl") as rec:
        nem = Nemesis(plan, targets, rec).start()
        deadline = time.monotonic() + 60
        while len({w["fault"] for w in nem.windows}) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        nem.stop()
    seen = windows(tmp_path)
    assert {w["fault"] for w in seen} == {str(k) for k in plan.faults}
    starts = [w for w in seen if w["phase"] == "start"]
    stops = [w for w in seen if w["phase"] == "stop"]
    assert len(starts) == len(stops)  # every window closed, even the one stop() cut short
    assert not targets.paused
    for pid in deployment.api_pids():
        assert psutil.Process(pid).status() != psutil.STATUS_STOPPED
    # Redis is back on the same port, and the API serves again (a killed worker replaced).
    client = redis.Redis.from_url(deployment.redis_url)
    assert client.ping()
    client.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(deployment.base_url + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        pytest.fail("the API did not come back after the nemesis")
    killed = {w["target"] for w in starts if w["fault"] == str(FaultKind.KILL_API)}
    assert killed <= before  # only the deployment's own processes were hurt


def test_unknown_faults_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown fault 'explode'"):
        nemesis.parse("kill-api,explode")
    assert not nemesis.parse("none")
