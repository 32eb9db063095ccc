"""The stall ladder: doubling from 0.5 s to the cap, climbed in parallel, settling on the
shortest stall that outlasted the lease."""

from __future__ import annotations

import pytest

from harness.lease_discovery import StallLadder


def test_rungs_double_from_the_first_stall_up_to_the_cap() -> None:
    assert StallLadder(first=0.5, cap=10).rungs == [0.5, 1, 2, 4, 8, 10]
    assert StallLadder().rungs == [0.5, 1, 2, 4, 8, 16, 32, 64]


def test_concurrent_stalls_climb_different_rungs() -> None:
    ladder = StallLadder(first=0.5, cap=4)
    assert [ladder.take() for _ in range(6)] == [0.5, 1, 2, 4, 4, 4]


def test_an_honoured_stall_moves_the_next_stalls_above_it() -> None:
    ladder = StallLadder(first=0.5, cap=64)
    first = ladder.take()
    ladder.report(first, outstayed=False)
    assert ladder.take() == 1
    ladder.report(1, outstayed=False)
    assert ladder.take() == 2
    assert ladder.honoured == 1


def test_once_outstayed_every_stall_uses_the_shortest_outstayed_rung() -> None:
    ladder = StallLadder(first=0.5, cap=64)
    stalls = [ladder.take() for _ in range(4)]  # 0.5, 1, 2, 4
    ladder.report(4, outstayed=True)
    ladder.report(2, outstayed=True)
    ladder.report(0.5, outstayed=False)
    assert (ladder.outstayed, ladder.take()) == (2, 2)
    assert stalls == [0.5, 1, 2, 4]


def test_a_rung_both_honoured_and_outstayed_is_not_trusted() -> None:
    ladder = StallLadder(first=0.5, cap=64)
    assert (ladder.take(), ladder.take()) == (0.5, 1)
    ladder.report(1, outstayed=True)  # a janitor that happened to sweep early
    assert ladder.take() == 1
    ladder.report(1, outstayed=False)  # ... and late: the lease is about 1 s, no more
    assert ladder.outstayed is None
    assert ladder.take() == 2


def test_first_must_be_positive_and_at_most_the_cap() -> None:
    with pytest.raises(ValueError, match="first"):
        StallLadder(first=0, cap=1)
    with pytest.raises(ValueError, match="first"):
        StallLadder(first=2, cap=1)


def test_an_abandoned_stall_proves_nothing() -> None:
    ladder = StallLadder(first=0.5, cap=4)
    stall = ladder.take()
    ladder.abandon(stall)  # the worker was stopped mid-stall
    assert (ladder.honoured, ladder.outstayed) == (0.0, None)
    assert ladder.take() == 0.5  # the rung is free again
