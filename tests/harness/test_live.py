"""Live "violations so far": incremental counts equal a full check of the history so far."""

from __future__ import annotations

from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checks import check_history
from harness.history import frame_from_events
from harness.live import MID_RUN_KINDS, LiveChecks
from harness.progress import HistoryTail
from tests.harness.histories import History
from tests.harness.loader_strategies import Shards, histories
from tests.harness.test_checks_completion import f4_f5_slow_worker_rescued

LEASE = 30.0


def full_counts(events: list[dict[str, object]]) -> dict[str, int]:
    report = check_history(frame_from_events(events), lease_timeout=LEASE)
    return {kind: report.results[kind].count for kind in MID_RUN_KINDS}


def interleaved(shards: Shards, cuts: list[int]) -> list[list[dict[str, object]]]:
    """The shards' events as a tail would deliver them: in rounds, each shard in order."""
    rounds: list[list[dict[str, object]]] = []
    positions = [0] * len(shards)
    for cut in [*cuts, 10**9]:
        batch = []
        for n, shard in enumerate(shards):
            batch.extend(shard[positions[n] : positions[n] + cut])
            positions[n] = min(positions[n] + cut, len(shard))
        rounds.append(batch)
    return rounds


@settings(max_examples=25)
@given(shards=histories(busy=True), cuts=st.lists(st.integers(0, 4), max_size=4))
def test_incremental_counts_equal_a_full_check_after_every_round(
    shards: Shards, cuts: list[int]
) -> None:
    live = LiveChecks(lease_timeout=LEASE)
    seen: list[dict[str, object]] = []
    for batch in interleaved(shards, cuts):
        live.add(batch)
        seen.extend(batch)
        if not seen:
            continue
        try:
            expected = full_counts(seen)
        except Exception:  # an op completed by another op: the full path refuses it
            return
        assert live.check() == expected


def test_the_slow_worker_race_is_reported_live_and_only_rechecked_tasks_change() -> None:
    race = f4_f5_slow_worker_rescued().events
    live = LiveChecks(lease_timeout=60)
    live.add(race)
    expected = {"duplicate_completion": 1, "stale_completion": 1, "resurrection": 0}
    assert live.check() == expected | {"double_claim": 1}
    assert full_counts(race) == live.check()
    clean = History()
    clean.submit("other")
    clean.claim("worker-C", "other")
    clean.complete("worker-C", "other")
    live.add(clean.events)
    assert live.touched == {"other"}  # only the new task is checked again
    assert live.check()["stale_completion"] == 1


def test_the_tail_delivers_only_new_complete_lines(tmp_path: Path) -> None:
    shard = tmp_path / "a.jsonl"
    first = orjson.dumps({"process": "p", "type": "invoke", "f": "submit", "time_ns": 1})
    shard.write_bytes(first + b"\n" + b'{"process": "p", "ty')
    tail = HistoryTail(tmp_path)
    assert tail.poll() == [orjson.loads(first)]
    with shard.open("ab") as out:
        out.write(b'pe": "ok", "f": "submit", "time_ns": 2}\n')
    assert tail.poll() == [{"process": "p", "type": "ok", "f": "submit", "time_ns": 2}]
    assert (tail.poll(), tail.count) == ([], 2)
