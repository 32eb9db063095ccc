"""``harness.verify``: bounded exhaustive search over the explorer's steps.

Small bounds only (the speed targets live in ``benchmarks/verify.py``). The soundness
test is the point of this file: the visited set and the partial-order reduction must
reach exactly the states the plain search reaches, and find the same violations at
the same depths, while taking fewer steps.
"""

from __future__ import annotations

import pytest
import redis

from harness.checks.verdicts import Kind
from harness.explorer.actors import Action, Step
from harness.explorer.machine import queue_factory
from harness.explorer.oracle import Target
from harness.verify.engine import Bounds, Verifier, VerifyResult
from harness.verify.fingerprint import EXACT, FULL, Abstraction, Print, fingerprint
from harness.verify.snapshot import restore, take
from harness.verify.stepping import VerifyWorld as World

NAIVE = queue_factory("naive")
SAFE = queue_factory("safe")


def verify(client: redis.Redis, impl: str, **bounds: object) -> VerifyResult:
    verifier = Verifier(client, NAIVE if impl == "naive" else SAFE, Bounds(**bounds))  # type: ignore[arg-type]
    try:
        return verifier.run()
    finally:
        verifier.close()


def test_naive_f1_is_found_at_its_minimal_depth(redis_client: redis.Redis) -> None:
    outcome = verify(redis_client, "naive", tasks=1, depth=4, targets=(Target(kind=Kind.LOST),))
    [found] = outcome.found
    assert [str(s) for s in found.path] == ["W0 claim", "W0 crash"]
    assert found.findings[0].kind is Kind.LOST


def test_naive_f1_is_not_reachable_in_one_step(redis_client: redis.Redis) -> None:
    outcome = verify(redis_client, "naive", tasks=1, depth=1)
    assert outcome.found == []
    assert outcome.depth_done == 1


def test_safe_has_no_violation_at_small_depth(redis_client: redis.Redis) -> None:
    outcome = verify(redis_client, "safe", workers=2, janitors=2, tasks=2, depth=4)
    assert outcome.found == []
    assert outcome.violating == {}
    assert outcome.depth_done == 4
    assert len(outcome.seen) > 100  # claims, reports, crashes, rescues, clock: many states


def test_caching_and_reduction_reach_the_same_states_and_violations(
    redis_client: redis.Redis,
) -> None:
    everything = {"tasks": 1, "depth": 4, "stop_at_first": False, "targets": (Target(),)}
    plain = verify(redis_client, "naive", cache=False, reduce=False, **everything)
    cached = verify(redis_client, "naive", cache=True, reduce=False, **everything)
    reduced = verify(redis_client, "naive", cache=True, reduce=True, **everything)
    assert plain.violating == {"lost": 2}
    for search in (cached, reduced):
        assert search.seen == plain.seen  # the very same set of state fingerprints
        assert search.violating == plain.violating  # same kinds, at the same depths
    assert cached.transitions < plain.transitions / 3
    assert reduced.transitions <= cached.transitions  # sleep sets skip commuting crashes
    assert max(reduced.expanded, cached.expanded) < plain.expanded


def test_reduction_reaches_every_state_of_the_cached_search_deeper(
    redis_client: redis.Redis,
) -> None:
    deeper = {"tasks": 1, "depth": 6, "stop_at_first": False, "targets": (Target(),)}
    cached = verify(redis_client, "naive", cache=True, reduce=False, **deeper)
    reduced = verify(redis_client, "naive", cache=True, reduce=True, **deeper)
    assert reduced.seen == cached.seen
    assert reduced.violating == cached.violating
    assert reduced.transitions < cached.transitions  # crashes and janitor symmetry


def test_the_abstracted_search_reaches_every_state_the_exact_search_reaches(
    redis_client: redis.Redis,
) -> None:
    """Merging states by the abstractions (workers renamed, times relative to now, the
    model as far as it is read) loses nothing: a search that tells apart every exact
    state reaches the very same abstract states and the same violations at the same
    depths. An unsound merge would cut off some state only the exact search reaches."""
    for impl, depth in (("naive", 5), ("safe", 4)):
        small = {"tasks": 2, "depth": depth, "stop_at_first": False, "targets": (Target(),)}
        exact = verify(redis_client, impl, abstraction=EXACT, seen_as=FULL, **small)
        merged = verify(redis_client, impl, abstraction=FULL, **small)
        assert merged.seen == exact.seen
        assert merged.violating == exact.violating
        assert merged.transitions < exact.transitions / 2


# Each abstraction alone, where it merges some states: (impl, abstraction, depth, tasks).
ALONE = [
    ("naive", "janitors", 6, 1),  # two rescues in flight at once
    ("naive", "workers", 3, 2),
    ("naive", "clock", 3, 2),
    ("naive", "model", 4, 2),
    ("safe", "model", 3, 2),
    ("safe", "write_only", 3, 2),  # only safe declares write-only fields
]


@pytest.mark.parametrize(("impl", "name", "depth", "tasks"), ALONE)
def test_each_abstraction_alone_merges_states_and_reaches_the_same_ones(
    redis_client: redis.Redis, impl: str, name: str, depth: int, tasks: int
) -> None:
    names = ("janitors", "workers", "clock", "model", "write_only")
    alone = Abstraction(**{f: f == name for f in names})
    runs = []
    for abstraction in (EXACT, alone):
        bounds = Bounds(tasks=tasks, depth=depth, stop_at_first=False, abstraction=abstraction,
                        seen_as=FULL)  # fmt: skip
        verifier = Verifier(redis_client, NAIVE if impl == "naive" else SAFE, bounds)
        runs.append((verifier.run(), len(verifier.visited)))
        verifier.close()
    (exact, told_apart), (merged, merged_apart) = runs
    assert merged_apart < told_apart  # it merged some states...
    assert merged.seen == exact.seen  # ...and still reached every (abstract) state
    assert merged.violating == exact.violating


def both(world: World) -> tuple[Print, Print]:
    """The state's print with every abstraction, and exact."""
    return fingerprint(world, world.state), fingerprint(world, world.state, abstraction=EXACT)


def test_states_that_differ_only_by_renaming_share_a_fingerprint(
    redis_client: redis.Redis,
) -> None:
    verifier = Verifier(redis_client, SAFE, Bounds(tasks=2, depth=1))
    root = verifier.setup()
    world = verifier.world
    prints = {}
    for name, steps in {
        "W0 claims": ["W0 claim"],
        "W1 claims": ["W1 claim"],
        "clock once": ["clock advance"],
        "clock twice": ["clock advance", "clock advance"],
        "idle heartbeat": ["W0 heartbeat"],
    }.items():
        verifier._restore(root)
        for line in steps:
            world.perform(Step.parse(line))
        prints[name] = both(world)
    verifier._restore(root)
    world.views()
    start = both(world)
    verifier.close()
    full, exact = 0, 1
    # Workers are interchangeable: which one claimed is no part of the state.
    assert prints["W0 claims"][full].digest == prints["W1 claims"][full].digest
    assert prints["W0 claims"][exact].digest != prints["W1 claims"][exact].digest
    assert prints["W1 claims"][full].labels["W1"] == "w0"  # the claimant comes first
    # Two jumps past the lease leave every stored time as old as one jump does.
    assert prints["clock once"][full].digest == prints["clock twice"][full].digest
    assert prints["clock once"][exact].digest != prints["clock twice"][exact].digest
    assert prints["clock once"][exact].digest != start[exact].digest  # times moved on
    # A heartbeat holding nothing writes only last_active, which the safe queue declares
    # it never reads back.
    assert prints["idle heartbeat"][full].digest == start[full].digest
    assert prints["idle heartbeat"][exact].digest != start[exact].digest
    # Two idle workers holding nothing: the second one's steps mirror the first's.
    assert start[full].twins == {"W1"}
    assert prints["W0 claims"][full].twins == frozenset()


def test_undoing_a_fresh_start_in_place_equals_restoring_from_snapshots(
    redis_client: redis.Redis,
) -> None:
    small = {"tasks": 2, "depth": 4, "stop_at_first": False, "targets": (Target(),)}
    fast = verify(redis_client, "naive", cheap_undo=True, **small)
    full = verify(redis_client, "naive", cheap_undo=False, **small)
    assert fast.seen == full.seen
    assert fast.violating == full.violating
    assert fast.transitions == full.transitions


def test_a_snapshot_restores_the_same_state(redis_client: redis.Redis) -> None:
    verifier = Verifier(redis_client, NAIVE, Bounds(tasks=2, depth=1))
    verifier.setup()
    world = verifier.world
    before = fingerprint(world, world.state).digest
    snap = take(world)
    world.perform(Step(actor="W0", action=Action.CLAIM))
    world.perform(Step(actor="W0", action=Action.STEP))
    assert fingerprint(world, world.state).digest != before
    restore(verifier.raw, world, snap)
    world.views()  # read the database again: the restored keys, not the snapshot's copy
    assert fingerprint(world, world.state).digest == before
    verifier.close()
