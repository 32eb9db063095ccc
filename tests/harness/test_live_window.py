"""Live checks: each violation reported once, as soon as its evidence is in, with the
window's events (and so memory) bounded however long the run."""

from __future__ import annotations

from harness.live_window import LiveWindow
from tests.harness.histories import History


def stale_completion(h: History, task: str) -> None:
    h.submit(task)
    h.claim("worker-A", task)
    h.claim("worker-B", task)
    h.complete("worker-A", task)  # while B holds it: stale, and a window hit
    h.complete("worker-B", task)  # accepted too: a duplicate


def test_a_violation_is_reported_once_with_its_kind() -> None:
    h = History()
    stale_completion(h, "t1")
    live = LiveWindow(lease_timeout=60)
    live.feed(h.events[:8])  # up to A's completion invoke and answer
    first = live.check()
    assert [(f.kind, f.task_id) for f in first] == [
        ("stale_completion", "t1"),
        ("double_claim", "t1"),  # B's claim came well inside A's 60 s lease
    ]
    live.feed(h.events[8:])
    second = live.check()
    assert [(f.kind, f.task_id) for f in second] == [("duplicate_completion", "t1")]
    assert live.check() == []
    assert live.counts == {
        "duplicate_completion": 1,
        "stale_completion": 1,
        "resurrection": 0,
        "double_claim": 1,
    }
    assert all(f.explanation for f in first + second)


def test_events_from_shards_out_of_order_are_merged_by_time() -> None:
    h = History()
    stale_completion(h, "t1")
    live = LiveWindow(lease_timeout=60)
    live.feed(h.events[6:])
    live.feed(h.events[:6])
    assert [e["time_ns"] for e in live.events] == sorted(e["time_ns"] for e in h.events)
    kinds = {f.kind for f in live.check()}
    assert kinds == {"stale_completion", "duplicate_completion", "double_claim"}


def test_memory_is_bounded_by_the_window_not_the_run() -> None:
    h = History()
    live = LiveWindow(lease_timeout=None, window_s=5.0)
    sizes = []
    for n in range(200):
        h.submit(f"t{n}")
        h.claim("worker-A", f"t{n}")
        h.complete("worker-A", f"t{n}")
        h.wait(0.5)
        live.feed(h.events[-6:])
        sizes.append(len(live.events))
    assert live.check() == []
    assert max(sizes[50:]) == max(sizes[100:])  # flat once the window is full
    assert max(sizes) <= 6 * 11 + 6  # about 10 tasks of 6 events in 5 s
    assert live.analyzed == 1200


def test_windows_hit_are_counted_once_each_as_they_settle() -> None:
    h = History()
    stale_completion(h, "t1")
    live = LiveWindow(lease_timeout=60)
    live.feed(h.events)
    live.check()
    assert live.windows["stale_while_held"] == 0  # not settled yet: 2 s for late shards
    h.wait(3)
    h.claim("worker-C", None)
    live.feed(h.events[-2:])
    live.check()
    live.check()
    assert live.windows["stale_while_held"] == 1
