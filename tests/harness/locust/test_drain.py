"""When a run may stop: budget spent, then several quiet /stats in a row, or a timeout."""

from __future__ import annotations

import pytest

from harness.locust.drain import Decision, DrainTracker, QueueCounts

IDLE = QueueCounts(pending=0, processing=0, completed=5)
BUSY = QueueCounts(pending=0, processing=1)


def test_nothing_stops_while_the_budget_is_being_submitted() -> None:
    tracker = DrainTracker(drain_timeout=1.0)
    for t in range(10):
        assert tracker.observe(float(t), budget_spent=False, counts=IDLE) is Decision.SUBMITTING


def test_drained_needs_consecutive_quiet_observations() -> None:
    tracker = DrainTracker(drain_timeout=100.0, quiet_needed=3)
    seen = [
        tracker.observe(0.0, budget_spent=True, counts=IDLE),
        tracker.observe(0.5, budget_spent=True, counts=IDLE),
        tracker.observe(1.0, budget_spent=True, counts=BUSY),  # a task was in flight
        tracker.observe(1.5, budget_spent=True, counts=IDLE),
        tracker.observe(2.0, budget_spent=True, counts=None),  # /stats unreadable: not quiet
        tracker.observe(2.5, budget_spent=True, counts=IDLE),
        tracker.observe(3.0, budget_spent=True, counts=IDLE),
        tracker.observe(3.5, budget_spent=True, counts=IDLE),
    ]
    assert seen == [Decision.DRAINING] * 7 + [Decision.DRAINED]


def test_the_drain_timeout_counts_from_when_the_budget_was_spent() -> None:
    tracker = DrainTracker(drain_timeout=2.0)
    assert tracker.observe(0.0, budget_spent=False, counts=BUSY) is Decision.SUBMITTING
    assert tracker.observe(10.0, budget_spent=True, counts=BUSY) is Decision.DRAINING
    assert tracker.observe(11.9, budget_spent=True, counts=BUSY) is Decision.DRAINING
    assert tracker.observe(12.0, budget_spent=True, counts=BUSY) is Decision.TIMED_OUT


def test_stats_parse_the_contract_shape_and_reject_others() -> None:
    counts = QueueCounts.from_json({"pending": 1, "processing": 0, "completed": 3, "failed": 2})
    assert counts == QueueCounts(pending=1, processing=0, completed=3, failed=2)
    assert not counts.idle
    for bad in (None, [], {"pending": "many"}):
        with pytest.raises(ValueError, match="stats"):
            QueueCounts.from_json(bad)
