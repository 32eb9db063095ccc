"""Fault specs parse strictly, and fault points delay or abort an operation where it yields."""

from __future__ import annotations

import pytest
import redis

from harness.contract import TaskId, TaskStatus, WorkerId, drive
from reference_queue import make_queue
from reference_queue.errors import FaultAbort, FaultSpecError
from reference_queue.faults import FaultAction, Faults


def test_spec_round_trip() -> None:
    faults = Faults.parse("after_pop=delay:0.05, before_complete=abort@0.25")
    assert faults.rules["after_pop"].action is FaultAction.DELAY
    assert faults.rules["before_complete"].probability == 0.25
    assert Faults.parse(faults.spec()).rules == faults.rules
    assert not Faults.parse("")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("after_pop", "expected POINT=ACTION"),
        ("after_pop=sleep:1", "action must be"),
        ("after_pop=delay:soon", "delay needs seconds"),
        ("after_pop=abort@2", "probability must be"),
        ("after_pop=abort@often", "not a number"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        Faults.parse(spec)


def test_abort_after_pop_kills_the_naive_claim_midway(redis_client: redis.Redis) -> None:
    """An injected crash at after_pop reproduces F1 through the production driver."""
    q = make_queue("naive", redis_client)
    drive(q.submit("{}", TaskId("t1")))
    with pytest.raises(FaultAbort):
        drive(q.claim(WorkerId("w")), Faults.parse("after_pop=abort"), op="claim")
    view = drive(q.inspect(TaskId("t1")))
    assert view is not None
    assert view.status is TaskStatus.MISSING


def test_before_point_applies_to_single_step_safe_ops(redis_client: redis.Redis) -> None:
    q = make_queue("safe", redis_client)
    drive(q.submit("{}", TaskId("t1")))
    with pytest.raises(FaultAbort):
        drive(q.claim(WorkerId("w")), Faults.parse("before_claim=abort"), op="claim")
    assert drive(q.stats()).pending == 1  # died before the round trip: no effect
