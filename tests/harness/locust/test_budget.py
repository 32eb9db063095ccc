"""The run's task budget: exact, unique ids across processes; settling; waiting pools."""

from __future__ import annotations

import gevent

from harness.locust.budget import GRANT_BLOCK, BudgetLedger, Grant, IdPool, local_pool


def test_ledger_grants_exactly_the_budget_in_disjoint_blocks() -> None:
    ledger = BudgetLedger(45, "r1")
    grants = [ledger.grant(20), ledger.grant(20), ledger.grant(20), ledger.grant(20)]
    assert [(g.start, g.count) for g in grants] == [(0, 20), (20, 20), (40, 5), (45, 0)]
    ids = [task_id for g in grants for task_id in g.ids()]
    assert len(ids) == len(set(ids)) == 45
    assert ids[0] == "r1-000000"
    assert ledger.granted == 45


def test_budget_is_spent_only_when_every_id_is_granted_and_settled() -> None:
    ledger = BudgetLedger(4, "r")
    ledger.grant(4)
    ledger.report_settled("a", 2)
    ledger.report_settled("b", 1)
    assert not ledger.spent
    ledger.report_settled("a", 1)  # a late, smaller total changes nothing
    assert ledger.settled == 3
    ledger.report_settled("b", 2)
    assert ledger.spent


def test_a_zero_budget_is_spent_at_once() -> None:
    ledger = BudgetLedger(0, "r")
    assert ledger.spent
    assert local_pool(ledger, "local").take() is None


def test_local_pool_hands_out_the_budget_then_none() -> None:
    ledger = BudgetLedger(GRANT_BLOCK + 3, "r")
    pool = local_pool(ledger, "local")
    taken = []
    while (task_id := pool.take()) is not None:
        taken.append(task_id)
        pool.settle()
    assert len(taken) == len(set(taken)) == GRANT_BLOCK + 3
    assert ledger.spent
    assert pool.exhausted


def test_remote_pool_waits_for_the_masters_answer_and_asks_once() -> None:
    """Like a Locust worker: the grant arrives later, from another greenlet."""
    ledger = BudgetLedger(3, "r")
    requests: list[int] = []
    pool: IdPool

    def request(want: int) -> None:
        requests.append(want)
        gevent.spawn_later(0.05, lambda: pool.add(ledger.grant(want)))

    pool = IdPool(request)
    takers = [gevent.spawn(pool.take) for _ in range(5)]
    gevent.joinall(takers, timeout=5)
    got = sorted(t.value for t in takers if t.value is not None)
    assert got == ["r-000000", "r-000001", "r-000002"]
    assert sum(t.value is None for t in takers) == 2  # the budget ran out for two takers
    assert requests == [GRANT_BLOCK, GRANT_BLOCK]  # one ask at a time; the second got 0


def test_remote_pool_asks_again_when_an_answer_is_lost() -> None:
    asked: list[int] = []
    pool: IdPool

    def request(want: int) -> None:
        asked.append(want)
        if len(asked) == 2:  # the first request vanished; answer the retry
            pool.add(Grant(tag="r", start=0, count=1))

    pool = IdPool(request, retry_after=0.05)
    assert gevent.spawn(pool.take).get(timeout=5) == "r-000000"
    assert len(asked) == 2
