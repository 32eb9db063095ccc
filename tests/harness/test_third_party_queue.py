"""A third-party queue plugged in through the contract alone (``tests/harness/tiny_queue``):
the harness honours its declarations — a bytes client, its own lease, its own state
names shown beside the harness's, and deadlines on real time aged by ``on_clock_advance``
— through ``harness hunt --impl module:Class`` and the explorer's replay."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import ClassVar

import pytest
import redis

from harness.cli import main
from harness.contract import ManualClock, TaskId, TimeSource, drive
from harness.explorer.machine import queue_factory
from harness.explorer.search import replay
from harness.queues import build_queue, facts_of
from tests.harness.tiny_queue import MIN_LEASE, TinyQueue

IMPL = "tests.harness.tiny_queue:TinyQueue"
START = ManualClock().now()
ROOT = Path(__file__).resolve().parents[2]


class InjectedOnlyTinyQueue(TinyQueue):
    """The same library, wrongly declaring that every time source follows the clock."""

    time_sources: ClassVar[dict[str, TimeSource]] = {
        "enqueued_at": TimeSource.INJECTED,
        "lease_deadline": TimeSource.INJECTED,
    }


def test_the_queue_gets_a_bytes_client_on_the_same_server(redis_client: redis.Redis) -> None:
    queue = build_queue(TinyQueue, redis_client, lease_timeout=30.0)
    assert isinstance(queue, TinyQueue)
    assert queue.redis is not redis_client
    assert queue.redis.get_connection_kwargs()["decode_responses"] is False
    drive(queue.submit('"x"', TaskId("t0")))
    assert redis_client.exists("tiny:job:t0") == 1  # same server, same database
    # What the declaration prevents: a decoding client cannot read the pickled job.
    with pytest.raises(UnicodeDecodeError):
        drive(TinyQueue(redis_client).inspect(TaskId("t0")))


def test_facts_state_the_lease_the_queue_runs_with(redis_client: redis.Redis) -> None:
    facts = facts_of(build_queue(TinyQueue, redis_client, lease_timeout=30.0))
    assert facts.lease_timeout == MIN_LEASE
    assert facts.real_time_sources == ["lease_deadline"]
    assert facts.decode_responses is False


STEPS = ["W0 claim", "W0 step", "clock advance", "J0 rescue"]


def test_real_time_deadlines_expire_when_the_explorer_advances_its_clock(
    redis_client: redis.Redis,
) -> None:
    world = replay(redis_client, queue_factory(IMPL), STEPS, setup=["P submit t0"], drain=False)
    assert world.clock.now() - START == MIN_LEASE + 1  # one jump past the queue's own lease
    assert world.trace.records[-1].result == ["t0"]  # rescued
    view = world.views()["t0"]
    assert view is not None
    assert (view.status, view.raw_state) == ("pending", "queued")


def test_without_the_real_time_declaration_the_lease_never_expires(
    redis_client: redis.Redis,
) -> None:
    factory = queue_factory("tests.harness.test_third_party_queue:InjectedOnlyTinyQueue")
    world = replay(redis_client, factory, STEPS, setup=["P submit t0"], drain=False)
    assert world.trace.records[-1].result == []  # nothing expired on real time
    view = world.views()["t0"]
    assert view is not None
    assert (view.status, view.raw_state) == ("processing", "started")


def test_hunt_a_third_party_queue_states_what_it_ran_with(tmp_path: Path) -> None:
    out = tmp_path / "hunt"
    argv = ["hunt", "--impl", IMPL, "--searches", "1", "--seed", "1", "--out", str(out)]
    code = main([*argv, "--kind", "lost", "--lease-timeout", "30"])
    assert code == 1
    summary = json.loads((out / "hunt.json").read_text())
    assert summary["kinds"]["lost"]["found"] is True
    assert summary["lease_timeout"] == MIN_LEASE
    assert summary["time_sources"] == {"enqueued_at": "injected", "lease_deadline": "real"}
    report = (out / "report.md").read_text()
    assert "lease 45s (the queue's own; --lease-timeout asked for 30s)" in report
    assert "`enqueued_at` follows the injected clock, `lease_deadline` real time" in report
    assert "nowhere {t0[queued]}" in report  # the library's own state beside the harness's
    assert "lease_timeout=45.0" in report  # the regression test replays the real lease
    run = json.loads((out / "lost" / "run.json").read_text())
    assert run["lease_timeout"] == MIN_LEASE


def test_the_docs_show_this_adapter_verbatim_and_it_imports_only_the_contract() -> None:
    doc = (ROOT / "docs" / "third-party-queue.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.DOTALL)
    source = (Path(__file__).parent / "tiny_queue.py").read_text()
    assert source in blocks
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert {m for m in imported if m.split(".")[0] == "harness"} == {"harness.contract"}
