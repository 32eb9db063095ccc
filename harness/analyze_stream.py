"""``harness analyze --stream``: check a history larger than memory, partition by partition.

Pass 1 spills the shards into task partitions (:mod:`harness.history_stream`), pass 2
runs :func:`harness.checks.runner.check_views` on each and merges the reports:

- per check: fail if any partition failed, else unknown if any was, else pass; the
  count adds up (a task lives in one partition); violations are renumbered to the
  whole history's event indices (events and explanation text) and ordered by their
  first event;
- metrics: counts add up; ``events``, ``duration_s``, ``processes`` come from pass 1;
  ``tasks`` and ``workers`` are counted as distinct names; rates recomputed.

The plots' data is gathered per partition on the whole history's time bins and added
up (:func:`harness.report.plots.merged`: counts exactly; the latency sample is each
partition's share of it). Then the violations the report shows (the first ``top`` of
each kind) are drawn from their partitions, each partition with one to show read once
more: a few rows each (:func:`harness.report.interleaving.excerpt`), kept once the
spill folder is gone.

Not the same as the in-memory path (documented in reports/README): the latency plot's
points are another sample when the history has more paired ops than it shows; the
``unexpected`` check's excuse for submits whose answer was lost (a global budget of
task-less ops) is applied within partition 0 only.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.checks import Audit, CheckReport
from harness.checks.metrics import add_rates
from harness.checks.ops import build_views
from harness.checks.runner import check_views
from harness.checks.verdicts import CheckResult, Violation, overall
from harness.history import shard_paths
from harness.history_stream import (
    Partitioned,
    global_indices,
    partition_frame,
    partition_history,
    partition_of,
)
from harness.report import plots
from harness.report.interleaving import excerpt
from harness.report.writer import Excerpts, excerpt_key

_NUMBERED = re.compile(r"(?<=event )\d+|(?<=events )\d+|(?<=→)\d+")
_DISTINCT = ("events", "duration_s", "tasks", "processes", "workers")
SPILL_BYTES = 256 << 20  # shard bytes per partition aimed at (pass 2 holds one at a time)
BLOCK_BYTES = 64 << 20  # shard bytes read at a time in pass 1


@dataclass(frozen=True, slots=True)
class Streamed:
    """A streamed analysis: the merged report, the excerpts its shown violations are
    drawn from and the plots' data (``write_report(..., excerpts=, plot_data=)``)."""

    report: CheckReport
    excerpts: Excerpts = field(default_factory=dict)
    plots: plots.PlotData | None = None  # None: the history had no events


def check_streamed(
    run_dir: Path,
    *,
    audit: Audit | None,
    lease_timeout: float | None,
    drained: bool | None,
    top: int = 0,
) -> Streamed:
    """Every check over a run's history in bounded memory, and excerpts for the first
    ``top`` violations of each kind; see the module docstring."""
    shards = shard_paths(run_dir)
    total = sum(p.stat().st_size for p in shards)
    k = max(1, min(256, total // SPILL_BYTES + 1))
    bar = _Bar(total)
    spill = Path(tempfile.mkdtemp(prefix=".stream-", dir=run_dir))
    try:
        parts = partition_history(shards, spill, k, bar.add, block_bytes=BLOCK_BYTES)
        report, index, drawn = _check_partitions(parts, audit, lease_timeout, drained, bar)
        return Streamed(report, _excerpts(report, parts, index, top), drawn)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
        bar.done()


def _check_partitions(
    parts: Partitioned,
    audit: Audit | None,
    lease_timeout: float | None,
    drained: bool | None,
    bar: _Bar,
) -> tuple[CheckReport, dict[int, dict[int, int]], plots.PlotData | None]:
    """The merged report, per partition (by number) its violations' local event
    indices -> the global ones, and the plots' data of the whole history."""
    k = len(parts.paths)
    reports, keys, numbers, drawn = [], [], [], []
    totals: dict[str, Any] = {"tasks": 0, "workers": set()}
    for n, path in enumerate(parts.paths):
        frame = partition_frame(path, parts.shards)
        bar.partition(n + 1, k)
        if frame is None:
            continue
        views = build_views(frame)
        mine = None if audit is None else _audit_part(audit, n, k)
        report = check_views(
            views,
            audit=mine,
            lease_timeout=lease_timeout,
            drained=drained,
            end_ns=float(parts.last_ns),
            unsubmitted=parts.claims and not parts.submits,
        )
        reports.append(report)
        keys.append(_keys(frame, report))
        numbers.append(n)
        line = plots.span_timeline(frame, parts.first_ns, parts.last_ns)
        share = -(-plots.SAMPLE * len(frame) // max(parts.events, 1))  # rounded up
        drawn.append(plots.plot_data(frame, line, share))
        names = [str(t) for t in views.task_names.to_numpy()]
        totals["tasks"] += sum(partition_of(t, k) == n for t in names)
        totals["workers"].update(_actor_names(frame, views.claims["actor"].to_numpy()))
    index = _renumbering(parts, keys)
    local = dict(zip(numbers, index, strict=True))
    return _merged(reports, index, parts, totals), local, plots.merged(drawn) if drawn else None


def _excerpts(
    report: CheckReport, parts: Partitioned, index: dict[int, dict[int, int]], top: int
) -> Excerpts:
    """The first ``top`` violations of each kind, each as the excerpt of its partition
    it is drawn from (every partition with one to show read once)."""
    k = len(parts.paths)
    wanted: dict[int, list[Violation]] = defaultdict(list)
    for result in report.results.values():
        for v in result.violations[:top]:
            wanted[partition_of(v.task_id, k)].append(v)
    out = {}
    for n, shown in sorted(wanted.items()):
        frame = None  # one partition in memory at a time
        frame = partition_frame(parts.paths[n], parts.shards)
        local = {g: ell for ell, g in index.get(n, {}).items()}
        for v in shown:
            if frame is None or not all(e in local for e in v.events):
                continue  # not this partition's (cannot happen: a task lives in one)
            out[excerpt_key(v)] = excerpt(frame, v.task_id, [local[e] for e in v.events])
    return out


def _actor_names(frame: pd.DataFrame, actors: np.ndarray) -> set[str]:
    """The names of distinct actor codes (:func:`harness.checks.ops._actors`): a worker
    id's code, else the process's code offset by the number of worker ids."""
    workers = frame["worker_id"].cat.categories
    processes = frame["process"].cat.categories
    codes = np.unique(actors)
    return {
        str(workers[c]) if c < len(workers) else str(processes[c - len(workers)])
        for c in codes.tolist()
    }


def _audit_part(audit: Audit, n: int, k: int) -> Audit:
    tasks = {t: e for t, e in audit.tasks.items() if partition_of(t, k) == n}
    return Audit(tasks=tasks, stats=audit.stats, taken_at=audit.taken_at)


def _keys(frame: pd.DataFrame, report: CheckReport) -> pd.DataFrame:
    """(time_ns, shard, line) of every event a violation names, by local index."""
    rows = sorted({e for v in report.violations for e in v.events})
    return pd.DataFrame(
        {
            "time_ns": frame["time_ns"].to_numpy()[rows],
            "shard": frame["shard"].cat.codes.to_numpy()[rows].astype(np.int64),
            "line": frame["line"].to_numpy()[rows],
        },
        index=rows,
    )


def _renumbering(parts: Partitioned, keys: list[pd.DataFrame]) -> list[dict[int, int]]:
    sizes = [len(k) for k in keys]
    if not sum(sizes):
        return [{} for _ in keys]
    ranks = global_indices(parts.paths, pd.concat(keys))
    out, start = [], 0
    for key, size in zip(keys, sizes, strict=True):
        out.append(dict(zip(key.index.tolist(), ranks[start : start + size].tolist(), strict=True)))
        start += size
    return out


def _renumbered(v: Violation, index: dict[int, int]) -> Violation:
    text = _NUMBERED.sub(lambda m: str(index.get(int(m.group()), m.group())), v.explanation)
    events = [index[e] for e in v.events]
    return Violation(kind=v.kind, task_id=v.task_id, events=events, explanation=text)


def _merged(
    reports: list[CheckReport],
    index: list[dict[int, int]],
    parts: Partitioned,
    totals: dict[str, Any],
) -> CheckReport:
    results = {
        kind: _merged_result([r.results[kind] for r in reports], index)
        for kind in reports[0].results
    }
    metrics: dict[str, int | float] = {}
    for report in reports:
        for name, value in report.metrics.items():
            metrics[name] = metrics.get(name, 0) + value
    metrics["events"] = parts.events
    metrics["duration_s"] = round(max((parts.last_ns - parts.first_ns) / 1e9, 1e-9), 3)
    metrics["tasks"] = totals["tasks"]
    metrics["processes"] = len(parts.processes)
    metrics["workers"] = len(totals["workers"])
    return CheckReport(verdict=overall(results), results=results, metrics=add_rates(metrics))


def _merged_result(results: list[CheckResult], index: list[dict[int, int]]) -> CheckResult:
    violations = sorted(
        (_renumbered(v, i) for r, i in zip(results, index, strict=True) for v in r.violations),
        key=lambda v: (min(v.events, default=-1), v.task_id),
    )
    verdict = overall({str(n): r for n, r in enumerate(results)})
    notes = [r.note for r in results if r.note and r.verdict == verdict] or [
        r.note for r in results if r.note
    ]
    return CheckResult(
        kind=results[0].kind,
        verdict=verdict,
        count=sum(r.count for r in results),
        violations=violations,
        exercised=any(r.exercised for r in results),
        note=notes[0] if notes else "",
    )


class _Bar:
    """A progress line on stderr: shard bytes read, then partitions checked."""

    def __init__(self, total: int) -> None:
        self.total, self.read = max(total, 1), 0

    def add(self, size: int) -> None:
        self.read += size
        self._show(
            f"reading {self.read / 1e6:.0f}/{self.total / 1e6:.0f} MB", self.read / self.total
        )

    def partition(self, n: int, k: int) -> None:
        self._show(f"checking partition {n}/{k}", n / k)

    def _show(self, text: str, fraction: float) -> None:
        filled = int(fraction * 20)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (20 - filled)}] {text}   ")
        sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\n")
