"""`harness zoo` end to end: real libraries, a real search, findings confirmed on a fresh
Redis, one zoo report.

The bounded CI version of the zoo: all five libraries, each searched for the kinds its
pinned finding is of (docs/real-queues.md), with fixed seeds and a budget each (about
100 s in all). What is asserted is what the search found on the versions in the ``zoo``
extra, confirmed by a replay on a fresh Redis; nothing is scripted here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.checks.promises import Standing
from harness.checks.verdicts import Kind
from harness.cli import main
from harness.commands.zoo import libraries
from harness.errors import ConfigError
from harness.explorer.hunt import HuntPlan
from harness.explorer.hypothesis_profiles import profile
from harness.zoo.report import write_zoo_report
from harness.zoo.trial import SEARCH_WORLD, KindResult, Trial, try_library

# library -> (kinds searched, budget in seconds); a kind found early leaves its time to
# the next. Measured on a 2-core machine: each finding came within a few seconds of
# its search; the budgets leave room for a loaded CI runner.
BOUNDED: dict[str, tuple[tuple[Kind, ...], float]] = {
    "rq": ((Kind.AUDIT_MISMATCH,), 25.0),
    "celery": ((Kind.LOST,), 10.0),
    "taskiq": ((Kind.STUCK,), 15.0),
    "saq": ((Kind.DOUBLE_CLAIM, Kind.DUPLICATE_COMPLETION), 30.0),
    "bullmq": ((Kind.STALE_COMPLETION,), 20.0),
}


def _trial(library: str) -> Trial:
    kinds, budget = BOUNDED[library]
    plan = HuntPlan(
        impl=libraries(library)[library],
        budget_s=budget,
        seed=0,
        settings=profile("zoo"),
        shrink_seconds=2.0,
        kinds=kinds,
        config=SEARCH_WORLD,
    )
    return try_library(library, plan.impl, plan, lambda _: None)


def _kind(trial: Trial, kind: Kind) -> KindResult:
    return next(k for k in trial.kinds if k.kind is kind)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Trial], Path]:
    trials = {name: _trial(name) for name in BOUNDED}
    out = tmp_path_factory.mktemp("zoo")
    plan = HuntPlan(impl="", budget_s=0, seed=0, settings=profile("zoo"))
    write_zoo_report(out, plan, list(trials.values()))
    return trials, out


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_the_pinned_findings_of_all_five_libraries(zoo: tuple[dict[str, Trial], Path]) -> None:
    trials, out = zoo
    assert all(t.available for t in trials.values()), {t.library: t.reason for t in trials.values()}

    # rq: a late success after cleanup failed the job: finished *and* in FailedJobRegistry.
    rq = _kind(trials["rq"], Kind.AUDIT_MISMATCH)
    assert (rq.standing, rq.confirmed) == (Standing.VIOLATES, True)

    # Celery (acks_late): a worker dying between RPOP and the unacked record loses the task.
    lost = _kind(trials["celery"], Kind.LOST)
    assert (lost.standing, lost.confirmed) == (Standing.VIOLATES, True)
    assert trials["celery"].upstream["lost"].startswith("celery/celery#7950")

    # taskiq-redis: a dead worker's message is reclaimed only after a new one arrives.
    stuck = _kind(trials["taskiq"], Kind.STUCK)
    assert (stuck.standing, stuck.confirmed) == (Standing.VIOLATES, True)

    # BullMQ: token-fenced completion: the search made superseded workers complete, and
    # every such completion was refused ("lease_lost"), so no stale completion landed.
    bullmq = _kind(trials["bullmq"], Kind.STALE_COMPLETION)
    assert bullmq.standing is Standing.HELD
    assert bullmq.refused.get("lease_lost", 0) > 0

    # saq: a sweep between BLMOVE and the ACTIVE update re-queues a running job (saq#124,
    # #277): two workers run it, against at-most-once.
    saq = [_kind(trials["saq"], k) for k in BOUNDED["saq"][0]]
    assert any(k.confirmed and k.standing is Standing.VIOLATES for k in saq)

    matrix = (out / "zoo.md").read_text()
    assert "| library | promise | lost |" in matrix
    assert "| Time | Worker A |" in matrix  # the minimal interleavings, in the note's table
    assert "from harness.testing import" in matrix  # pasteable regression tests
    assert (out / "celery" / "lost" / "violations.json").exists()  # the analyzer judged it


def test_the_cli_writes_the_report_and_exits_1_for_a_broken_promise(tmp_path: Path) -> None:
    out = tmp_path / "zoo"
    argv = ["zoo", "--libraries", "celery", "--kind", "lost", "--budget-per-library", "10s"]
    assert main([*argv, "--seed", "0", "--out", str(out)]) == 1
    (celery,) = json.loads((out / "zoo.json").read_text())
    assert celery["promise"]["kind"] == "at-least-once"
    assert "redelivered to another worker" in celery["promise"]["quote"]
    assert celery["kinds"]["lost"]["standing"] == "violates the promise"
    assert celery["kinds"]["lost"]["upstream"].startswith("celery/celery#7950")
    report = (out / "zoo.md").read_text()
    assert "def test_no_lost_zoo_celery_queue_CeleryQueue(\n    qharness_redis" in report
    run = json.loads((out / "celery" / "lost" / "run.json").read_text())
    assert run["promise"]["kind"] == "at-least-once"  # the sub run records the promise
    assert "<table>" in (out / "index.html").read_text()


def test_a_missing_adapter_is_not_available_never_a_crash() -> None:
    plan = HuntPlan(impl="", budget_s=1, seed=0, settings=profile("zoo"))
    trial = try_library("ghost", "zoo.no_such_queue:GhostQueue", plan, lambda _: None)
    assert trial.available is False
    assert "No module named 'zoo.no_such_queue'" in trial.reason


def test_every_library_is_registered_and_unknown_names_are_refused() -> None:
    assert list(libraries(None)) == ["rq", "celery", "taskiq", "saq", "bullmq"]
    assert list(libraries("celery, rq")) == ["celery", "rq"]
    with pytest.raises(ConfigError, match="unknown huey"):
        libraries("rq,huey")
