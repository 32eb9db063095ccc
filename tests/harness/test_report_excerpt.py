"""A violation's excerpt draws exactly what the whole frame draws.

A streamed analysis cannot keep its partitions, so the report draws each shown
violation from an excerpt (``harness.report.interleaving.excerpt``): the few rows its
interleaving and timeline read, renumbered. On random busy histories (the loader's
Hypothesis strategies), for every violation the checks find, the interleaving table
and the timeline picture from the excerpt equal those from the whole frame.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, assume, given, settings

from harness.checks import check_history
from harness.history import load_history
from harness.report import timeline
from harness.report.interleaving import excerpt, interleaving
from tests.harness.loader_strategies import Shards, canonical, histories

LEASE = 0.002  # seconds: the busy histories' leases expire within the run


def load(shards: Shards, root: Path) -> pd.DataFrame:
    history = root / "history"
    history.mkdir()
    for n, events in enumerate(shards):
        (history / f"s{n}.jsonl").write_bytes(canonical(events))
    return load_history(root, use_cache=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shards=histories(busy=True))
def test_an_excerpt_draws_the_same_interleaving_and_timeline(shards: Shards) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        frame = load(shards, Path(tmp))
    violations = check_history(frame, lease_timeout=LEASE).violations
    assume(violations)
    for v in violations:
        part, events = excerpt(frame, v.task_id, v.events)
        assert len(part) <= len(frame)
        assert len(part["task_id"].cat.categories) <= len(part)  # its own ids only
        assert part["time_ns"].to_numpy()[events].tolist() == (
            frame["time_ns"].to_numpy()[v.events].tolist()
        )
        assert interleaving(part, v.task_id, events) == interleaving(frame, v.task_id, v.events)
        drawn = timeline.picture(part, v.task_id, events, alias="t1", lease_timeout=LEASE)
        whole = timeline.picture(frame, v.task_id, v.events, alias="t1", lease_timeout=LEASE)
        assert drawn == whole
