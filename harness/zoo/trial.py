"""One library on trial: load its adapter, hunt every kind, confirm each finding.

:func:`try_library` loads ``zoo.LIBRARIES[name]`` (an import failure makes the library
"not available: <reason>", never a crash), runs the hunt's per-kind interleaving search
(``harness.explorer.hunt``) within the budget, and replays every minimal counterexample
against a *fresh* real Redis (:func:`confirm`): a finding that does not reproduce there
is kept as "unconfirmed" and never reported as a finding. Each kind then stands against
the library's declared promise (``harness.checks.promises``).

Under an at-least-once promise a completion from a superseded holder is only a violation
when it lands over a live claim (DESIGN.md §12: "an acknowledgement from a superseded
holder that erases the live holder's claim"), so that kind is searched with the task
processing under another worker (``prior=processing``); a late acknowledgement of a task
merely re-queued is a redelivery, which that promise allows.

Kinds the promise forbids get :data:`FORBIDDEN_WEIGHT` times the share of those it
allows. Bounded by construction: each kind's share of the library's budget is a deadline the
search checks before every round trip (``harness.explorer.search``), a kind found shrinks
and minimises for at most ``shrink_seconds`` each, and what a kind leaves unspent (or
overspends) moves the later kinds' shares. The search's examples drain for at most
:data:`SEARCH_WORLD`'s rounds; the confirming replay drains for the World's default,
longer, so a task left "stuck" only by the shorter drain is not confirmed.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import redis

from harness.checks.promises import Standing, forbids, standing
from harness.checks.verdicts import Kind
from harness.contract import DeliveryPromise, Promise, declared
from harness.explorer.hunt import HUNTED, HuntPlan, hunt
from harness.explorer.machine import queue_factory
from harness.explorer.oracle import Phase, Target
from harness.explorer.search import SearchResult, replay
from harness.explorer.trace import Stage
from harness.explorer.world import WorldConfig
from harness.redis_server import redis_for
from harness.settings import from_env

logger = logging.getLogger(__name__)
Progress = Callable[[str], None]

# The search's examples end with a drain: a healthy worker and janitor, the clock jumping
# a lease per round, until the queue is empty. A task a library leaves stuck drains every
# round, and at 40 rounds that was most of taskiq's time. 12 rounds are 12 leases of
# simulated time, past every library's own recovery timer (the longest, rq's, is about
# three leases); confirming a finding replays it with the default 40.
SEARCH_WORLD = WorldConfig(drain_rounds=12)

# A library is judged by the kinds its promise forbids: they are searched first, each
# with three times the time of a kind the promise allows. (Allowed kinds first, so that
# their unspent time moved on, was measured worse: found, each then spent up to twice
# shrink_seconds being shrunk and minimised.)
FORBIDDEN_WEIGHT = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class KindResult:
    kind: Kind
    standing: Standing
    search: SearchResult | None = None  # the minimal counterexample, when found
    confirmed: bool = False  # replayed against a fresh Redis with the same kind
    unconfirmed: bool = False  # found by the search, not reproduced: not a finding
    # completions/failures the library refused while this kind was searched, by outcome
    refused: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Trial:
    library: str
    impl: str
    available: bool
    reason: str = ""  # why not available
    promise: Promise = field(default_factory=Promise)
    lease_timeout: float = 0.0
    versions: Mapping[str, str] = field(default_factory=dict)
    time_sources: Mapping[str, str] = field(default_factory=dict)
    upstream: Mapping[str, str] = field(default_factory=dict)
    kinds: tuple[KindResult, ...] = ()
    elapsed_s: float = 0.0

    def findings(self) -> list[KindResult]:
        return [k for k in self.kinds if k.confirmed]


def load_adapter(impl: str) -> type[Any]:
    """The adapter class of ``module:Class``; raises ImportError/AttributeError."""
    module_name, _, class_name = impl.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not isinstance(cls, type):
        raise AttributeError(f"{impl} is not a class")
    return cls


def unavailable(library: str, impl: str, reason: str) -> Trial:
    return Trial(library=library, impl=impl, available=False, reason=reason)


def target_for(kind: Kind, promise: Promise) -> Target:
    if kind is Kind.STALE_COMPLETION and promise.kind is DeliveryPromise.AT_LEAST_ONCE:
        return Target(kind=kind, prior=Phase.PROCESSING)
    return Target(kind=kind)


def try_library(library: str, impl: str, plan: HuntPlan, progress: Progress) -> Trial:
    """Hunt one library and confirm what was found; never raises for the library's sake."""
    started = time.perf_counter()
    try:
        cls = load_adapter(impl)
    except Exception as exc:  # an optional library missing or broken: say so, go on
        return unavailable(library, impl, f"{type(exc).__name__}: {exc}")
    promise: Promise = declared(cls, "promise")
    with redis_for() as url:
        client = redis.Redis.from_url(url, decode_responses=True)
        try:
            quick_timeouts(client)
            lease = _lease(impl, client, plan)
            results = _hunt_all(client, plan, promise, progress)
        except Exception as exc:  # the adapter (or its library) broke: say so, go on
            logger.exception("%s: the search could not drive the adapter", impl)
            return unavailable(library, impl, f"could not be driven: {type(exc).__name__}: {exc}")
        finally:
            client.close()
    kinds = tuple(_confirmed(impl, plan, result, promise) for result in results)
    return Trial(
        library=library,
        impl=impl,
        available=True,
        promise=promise,
        lease_timeout=lease,
        versions=_versions(cls),
        time_sources={k: str(v) for k, v in declared(cls, "time_sources").items()},
        upstream=dict(getattr(cls, "upstream_issues", {})),
        kinds=kinds,
        elapsed_s=time.perf_counter() - started,
    )


def _lease(impl: str, client: redis.Redis, plan: HuntPlan) -> float:
    """The lease the library actually runs with (read from an instance)."""
    from harness.contract import ManualClock

    queue = queue_factory(impl, lease_timeout=plan.lease_timeout)(client, ManualClock())
    return float(queue.lease_timeout)


def search_order(kinds: tuple[Kind, ...], promise: Promise) -> list[tuple[Kind, int]]:
    """The kinds with their weights: those the promise forbids first, at
    :data:`FORBIDDEN_WEIGHT` (the cells a library is judged by), then those it allows."""
    forbidden = [(k, FORBIDDEN_WEIGHT) for k in kinds if forbids(promise, k)]
    return forbidden + [(k, 1) for k in kinds if not forbids(promise, k)]


def _hunt_all(
    client: redis.Redis, plan: HuntPlan, promise: Promise, progress: Progress
) -> list[SearchResult]:
    """Every kind in turn, each given its weight's part of what is left of the budget: a
    kind found early leaves its unspent time to the rest."""
    started, results = time.perf_counter(), []
    order = search_order(plan.kinds, promise)
    for n, (kind, weight) in enumerate(order):
        left = plan.budget_s - (time.perf_counter() - started)
        share = max(left, 0.0) * weight / sum(w for _, w in order[n:])
        results.append(_hunt_kind(client, plan, kind, promise, progress, share))
    return results


def _hunt_kind(
    client: redis.Redis,
    plan: HuntPlan,
    kind: Kind,
    promise: Promise,
    progress: Progress,
    budget_s: float,
) -> SearchResult:
    one = replace(plan, budget_s=budget_s, kinds=(kind,))
    return hunt(client, one, progress, target=target_for(kind, promise)).results[0]


def _confirmed(impl: str, plan: HuntPlan, result: SearchResult, promise: Promise) -> KindResult:
    kind = result.target.kind
    assert kind is not None
    if not result.found:
        return KindResult(
            kind=kind, standing=standing(promise, kind, found=False), refused=result.refused
        )
    ok = confirm(impl, plan, result)
    if not ok:
        logger.warning("%s %s: found by the search but not reproduced on a fresh Redis", impl, kind)
    return KindResult(
        kind=kind,
        standing=standing(promise, kind, found=ok),
        search=result,
        confirmed=ok,
        unconfirmed=not ok,
        refused=result.refused,
    )


def confirm(impl: str, plan: HuntPlan, result: SearchResult) -> bool:
    """Replay the minimal run's literal steps against a fresh real Redis server."""
    world = result.world
    if world is None:
        return False
    setup = [str(s) for s in world.trace.steps(Stage.SETUP)]
    steps = [str(s) for s in world.trace.steps(Stage.SEARCH)]
    with redis_for() as url:
        client = redis.Redis.from_url(url, decode_responses=True)
        try:
            quick_timeouts(client)
            factory = queue_factory(impl, lease_timeout=plan.lease_timeout)
            again = replay(client, factory, steps, setup=setup, config=WorldConfig())
        finally:
            client.close()
    return any(result.target.matches(f) for f in again.findings)


# Redis ends a blocked command's timeout on its timer, every 1/hz s: at the default hz 10
# a claim on an empty queue with saq's 10 ms BLMOVE, or taskiq's 10 ms XREADGROUP BLOCK,
# waited 100 ms. The zoo's own servers tick at 100 Hz, the most Redis's redis.conf
# suggests; what the libraries send, and so what they do, is unchanged.
ZOO_HZ = 100


def quick_timeouts(client: redis.Redis) -> None:
    """Let short blocking timeouts end when they say, on a server the zoo started."""
    if not from_env().redis_url:  # a server of the user's own is left as it is
        client.config_set("hz", ZOO_HZ)


def _versions(cls: type[Any]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    names = getattr(cls, "distributions", None) or [getattr(cls, "name", "")]
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "?"
    return out


__all__ = [
    "HUNTED",
    "SEARCH_WORLD",
    "KindResult",
    "Trial",
    "confirm",
    "quick_timeouts",
    "try_library",
]
