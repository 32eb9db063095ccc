"""The hunt: search every violation kind within a time budget, write a race report.

For each kind the generic machine is searched with a target filter for that kind
(successive seeds until found or the kind's share of the budget is spent). The share is
a deadline checked before every round trip (``search(deadline=...)``), so a long example
cannot overrun it; a kind found shrinks for at most ``shrink_seconds`` and minimises for
at most as long again, so a hunt ends within its budget plus that per kind found.
Each minimal counterexample is written as a sub run folder
(``<out>/<kind>/history/explorer.jsonl`` + ``run.json``) and judged by the analyzer
(``harness.analyze.analyze_run``, its report beside it);
``<out>/report.md`` tells each one as the note's table, a plain-language
explanation, and a ready-to-paste regression test; ``<out>/hunt.json`` has the figures.

What the report states about the queue (its lease, its time sources) is read from a
queue instance (:func:`harness.queues.facts_of`): what it ran with, which may differ
from ``--lease-timeout`` when a library rounds it up.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
import redis
from hypothesis import settings as Settings

from harness.analyze import analyze_run
from harness.checks.promises import promise_json
from harness.checks.verdicts import Kind
from harness.contract import ManualClock, Promise, TimeSource, declared
from harness.explorer.machine import QueueFactory, queue_factory
from harness.explorer.oracle import Target
from harness.explorer.search import SearchResult, search
from harness.explorer.story import MEANING, regression_test, steps_table
from harness.explorer.trace import Stage
from harness.explorer.world import WorldConfig
from harness.queues import QueueFacts, facts_of, queue_class
from harness.run_folder import write_run_json

HUNTED: tuple[Kind, ...] = tuple(Kind)
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class HuntPlan:
    impl: str
    budget_s: float
    seed: int
    settings: Settings
    lease_timeout: float = 30.0
    shrink_seconds: float = 10.0
    kinds: tuple[Kind, ...] = HUNTED
    config: WorldConfig | None = None  # actors and drain of each example (default: World's)
    # Bound by work instead of time: exactly this many searches (seeds) per kind unless
    # found, with no deadline, so what is found does not depend on the machine's load as
    # long as the queue's waits follow the injected clock (saq's do not: its bounded CI
    # search still varies with load); ``budget_s`` is then not used.
    searches: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Hunt:
    """One result per kind searched, and the facts of the queue they were found on."""

    results: list[SearchResult]
    queue: QueueFacts


def hunt(
    client: redis.Redis, plan: HuntPlan, progress: Progress, *, target: Target | None = None
) -> Hunt:
    """One result per kind: the minimal counterexample, or the last fruitless search.

    ``target`` narrows the search of its kind (e.g. only findings with a given prior
    phase); other kinds are searched with ``Target(kind=...)``.
    """
    factory = queue_factory(plan.impl, lease_timeout=plan.lease_timeout)
    queue = factory(client, ManualClock())
    facts = facts_of(queue)
    with _warnings_muted(type(queue).__module__):
        results = _hunt_kinds(client, plan, progress, factory, target)
    return Hunt(results=results, queue=facts)


@contextlib.contextmanager
def _warnings_muted(module: str) -> Iterator[None]:
    """The queue package's own warnings, muted while its examples run (errors still
    show): examples dead-letter, retry and refuse on purpose, thousands of times, and a
    line each buried the progress (≈ 170 lines in `harness hunt --impl safe`)."""
    logger = logging.getLogger(module.split(".")[0])
    before = logger.level
    logger.setLevel(max(before, logging.ERROR))
    try:
        yield
    finally:
        logger.setLevel(before)


def _hunt_kinds(
    client: redis.Redis,
    plan: HuntPlan,
    progress: Progress,
    factory: QueueFactory,
    target: Target | None,
) -> list[SearchResult]:
    share = plan.budget_s / len(plan.kinds)
    results: list[SearchResult] = []
    for kind in plan.kinds:
        started, attempt, refused = time.perf_counter(), 0, Counter[str]()
        while True:
            result = search(
                client,
                factory,
                target=target if target is not None and target.kind is kind else Target(kind=kind),
                settings=plan.settings,
                seed=plan.seed + attempt,
                shrink_seconds=plan.shrink_seconds,
                deadline=None if plan.searches is not None else started + share,
                config=plan.config,
            )
            attempt += 1
            refused.update(result.refused)
            spent = time.perf_counter() - started
            used_up = spent >= share if plan.searches is None else attempt >= plan.searches
            if result.found or used_up:
                break
        results.append(replace(result, refused=dict(refused)))  # over all of its searches
        if result.found:
            progress(
                f"{kind}: FOUND, minimal run of {result.length()} steps "
                f"(first hit after {result.first_failure_s:.1f}s, seed {result.seed})"
            )
        else:
            progress(f"{kind}: none in {spent:.1f}s ({attempt} search(es), seeds from {plan.seed})")
    return results


def write_hunt_report(out: Path, plan: HuntPlan, found_in: Hunt) -> Path:
    """The race report folder; returns the path of its ``report.md``."""
    out.mkdir(parents=True, exist_ok=True)
    results, facts = found_in.results, found_in.queue
    sections, summary = [], {}
    for result in results:
        summary[str(result.target.kind)] = _summary(result)
        if result.world is not None:
            sections.append(_section(out, plan, result, facts))
    found = [r for r in results if r.found]
    head = [
        f"# Race report: `harness hunt --impl {plan.impl}`",
        "",
        f"Seed {plan.seed}, budget {plan.budget_s:g}s, lease {facts.lease_timeout:g}s"
        f"{_lease_note(plan, facts)}. "
        f"Kinds searched: {', '.join(str(k) for k in plan.kinds)}.",
        "",
        _promise_line(queue_promise(plan.impl)),
        "",
        *_time_sources(facts),
        f"**Verdict: {'races found' if found else 'no race found'}** "
        f"({len(found)} of {len(results)} kinds).",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(head + sections))
    (out / "hunt.json").write_bytes(
        orjson.dumps(
            {
                "impl": plan.impl,
                "seed": plan.seed,
                "budget_s": plan.budget_s,
                "lease_timeout": facts.lease_timeout,
                "time_sources": {n: str(s) for n, s in facts.time_sources.items()},
                "kinds": summary,
            },
            option=orjson.OPT_INDENT_2,
        )
    )
    return path


def _lease_note(plan: HuntPlan, facts: QueueFacts) -> str:
    if facts.lease_timeout == plan.lease_timeout:
        return ""
    return f" (the queue's own; --lease-timeout asked for {plan.lease_timeout:g}s)"


def _time_sources(facts: QueueFacts) -> list[str]:
    """Which timestamps follow the explorer's clock and which run on real time."""
    if not facts.time_sources:
        return []
    words = {TimeSource.INJECTED: "follows the injected clock", TimeSource.REAL: "real time"}
    listed = ", ".join(f"`{n}` {words[s]}" for n, s in facts.time_sources.items())
    tail = (
        "; after each clock jump the explorer calls the queue's `on_clock_advance`"
        if facts.real_time_sources
        else ""
    )
    return [f"Time sources: {listed}{tail}.", ""]


def _promise_line(promise: Promise) -> str:
    quote = f" “{promise.quote}”" if promise.quote else ""
    return f"Promise judged against: **{promise.kind}**{quote} ({promise.source})."


def queue_promise(impl: str) -> Promise:
    """The delivery promise the queue declares (DESIGN.md §12), or the default."""
    promise: Promise = declared(queue_class(impl), "promise")
    return promise


def _summary(result: SearchResult) -> dict[str, Any]:
    world = result.world
    return {
        "found": result.found,
        "seed": result.seed,
        "examples": result.examples,
        "elapsed_s": round(result.elapsed_s, 3),
        "first_failure_s": result.first_failure_s,
        "length": result.length(),
        "steps": [str(s) for s in world.trace.steps(Stage.SEARCH)] if world else [],
        "setup": [str(s) for s in world.trace.steps(Stage.SETUP)] if world else [],
        "hypothesis_program": list(result.program),
    }


def _section(out: Path, plan: HuntPlan, result: SearchResult, facts: QueueFacts) -> str:
    world = result.world
    kind = result.target.kind
    assert world is not None
    assert kind is not None
    lease = facts.lease_timeout
    verdict = analyze_run(_write_sub_run(out / str(kind), plan, result, lease), lease_timeout=lease)
    seen = sorted(k for k, r in verdict.results.items() if r.verdict == "fail")
    findings = result.findings()
    return "\n".join(
        [
            f"## {kind}",
            "",
            f"**What it means:** {MEANING[kind]}.",
            "",
            f"**What happened:** {findings[0].explanation}." if findings else "",
            "",
            f"Minimal run: {result.length()} steps after the setup (found after "
            f"{result.first_failure_s or 0:.1f}s, seed {result.seed}, shrunk, then replayed).",
            "",
            steps_table(world, result.target),
            "",
            f"The history checks on this run's events (`{kind}/report.md`): "
            f"{', '.join(seen) if seen else 'no violation in the history alone'}.",
            "",
            "Regression test (paste into your `tests/`; it needs only qharness installed, whose "
            "pytest plugin gives its fixtures; it fails while the race is there):",
            "",
            "```python",
            regression_test(plan.impl, kind, world, lease_timeout=lease),
            "```",
            "",
            *_program(result),
        ]
    )


def _program(result: SearchResult) -> list[str]:
    """Hypothesis's own printout of the example it shrank (before the literal-step
    minimiser), one rule of the explorer's state machine per line."""
    if not result.program:
        return []
    return [
        "Hypothesis's reproduction (each line a rule of the explorer's state machine, "
        "`harness.explorer.machine.machine_for`):",
        "",
        "```python",
        *result.program,
        "```",
        "",
    ]


def _write_sub_run(sub: Path, plan: HuntPlan, result: SearchResult, lease: float) -> Path:
    """The counterexample's history as a run folder the analyzer can judge."""
    assert result.world is not None
    history = sub / "history"
    history.mkdir(parents=True, exist_ok=True)
    (history / "explorer.jsonl").write_bytes(
        b"".join(orjson.dumps(e) + b"\n" for e in result.world.history.events)
    )
    write_run_json(
        sub,
        {
            "source": "harness hunt",
            "impl": plan.impl,
            "drained": True,
            "lease_timeout": lease,
            "kind": str(result.target.kind),
            "promise": promise_json(queue_promise(plan.impl)),
        },
    )
    return sub
