"""`harness zoo` end to end: real libraries, a real search, findings confirmed on a fresh
Redis, one zoo report. Bounded for CI (two libraries, two kinds each): it asserts the
findings pinned in docs/real-queues.md for the versions in the ``zoo`` extra.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.commands.zoo import libraries
from harness.errors import ConfigError
from harness.explorer.hunt import HuntPlan
from harness.explorer.hypothesis_profiles import profile
from harness.zoo.trial import try_library


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_zoo_reports_the_pinned_findings_against_each_promise(tmp_path: Path) -> None:
    out = tmp_path / "zoo"
    # audit_mismatch first: rq's finding needs the second seed, lost is found (celery) or
    # held (rq) in one search; unspent time passes on to the next kind.
    argv = ["zoo", "--libraries", "rq,celery", "--kind", "audit_mismatch", "--kind", "lost"]
    code = main([*argv, "--budget-per-library", "40s", "--seed", "0", "--out", str(out)])
    assert code == 1  # both broke their promise
    trials = {t["library"]: t for t in json.loads((out / "zoo.json").read_text())}
    celery, rq = trials["celery"], trials["rq"]
    assert celery["promise"]["kind"] == "at-least-once"
    assert "redelivered to another worker" in celery["promise"]["quote"]
    assert celery["kinds"]["lost"]["standing"] == "violates the promise"
    assert celery["kinds"]["lost"]["confirmed"] is True
    assert celery["kinds"]["lost"]["upstream"].startswith("celery/celery#7950")
    assert celery["kinds"]["audit_mismatch"]["standing"] == "held"
    assert rq["kinds"]["audit_mismatch"]["standing"] == "violates the promise"
    assert rq["kinds"]["lost"]["standing"] == "held"  # abandoned jobs are failed, not lost
    report = (out / "zoo.md").read_text()
    assert "| library | promise | lost |" in report
    assert "| Time | Worker A |" in report
    assert "def test_no_lost_zoo_celery_queue_CeleryQueue(\n    qharness_redis" in report
    assert "from harness.testing import" in report  # public names only (the pytest plugin)
    run = json.loads((out / "celery" / "lost" / "run.json").read_text())
    assert run["promise"]["kind"] == "at-least-once"  # the sub run records the promise
    assert (out / "celery" / "lost" / "violations.json").exists()
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
