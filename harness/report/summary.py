"""The report's header: the run-summary table a newcomer reads first.

One row per question — what ran (implementation, profile), for how long, how much
(tasks, ops), what the verdict is, where the lease the checks used came from, and
which faults were injected when (nemesis windows). Built from the history frame, the
check report and ``run.json``; rendered by ``render`` as Markdown and HTML.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness.checks.verdicts import CheckReport, Verdict
from harness.report.plots import rows_where

Row = tuple[str, str]
NOT_RECORDED = "not recorded"


def run_summary(
    frame: pd.DataFrame | None,
    report: CheckReport,
    run_info: dict[str, Any],
    *,
    lease_given: float | None = None,
    windows: list[tuple[float, float, str]] | None = None,
) -> list[Row]:
    """(question, answer) rows, in reading order; ``windows``: the run's fault windows
    (the plots' data: :func:`harness.report.plots.fault_windows`), None if not read."""
    m = report.metrics
    return [
        ("verdict", _verdict(report)),
        ("implementation", str(run_info.get("impl", NOT_RECORDED))),
        ("profile", _profile(run_info)),
        ("duration", f"{seconds(float(m.get('duration_s', 0)))} of history"),
        ("tasks", f"{int(m.get('tasks', 0)):,} ({int(m.get('acknowledged', 0)):,} acknowledged)"),
        ("ops", _ops(m)),
        ("lease", _lease(frame, report, run_info, lease_given)),
        (
            "nemesis windows",
            _nemesis(windows, run_info) if windows is not None else _streamed(run_info),
        ),
    ]


def seconds(value: float) -> str:
    """``1,234.5 s``, or ``12 ms`` under a second."""
    return f"{value * 1e3:.0f} ms" if value < 1 else f"{value:,.1f} s"


def _verdict(report: CheckReport) -> str:
    failed = {k: r.count for k, r in report.results.items() if r.verdict is Verdict.FAIL}
    unknown = [k for k, r in report.results.items() if r.verdict is Verdict.UNKNOWN]
    text = str(report.verdict).upper()
    if failed:
        text += " — " + ", ".join(f"{k} ({n} tasks)" for k, n in failed.items())
    if unknown:
        text += f"; undecided: {', '.join(unknown)}"
    return text if failed or unknown else f"{text} — every check held"


def _profile(run_info: dict[str, Any]) -> str:
    parts = [str(run_info[k]) for k in ("profile", "source") if run_info.get(k)]
    seed = run_info.get("seed")
    return (" · ".join(parts) or NOT_RECORDED) + (f" (seed {seed})" if seed is not None else "")


def _ops(m: dict[str, int | float]) -> str:
    text = f"{int(m.get('ops', 0)):,} ({float(m.get('throughput_ops_per_s', 0)):,.1f}/s)"
    extra = [f"{int(m[k]):,} {k}" for k in ("indeterminate", "unfinished") if m.get(k)]
    return text + (f", {', '.join(extra)}" if extra else "")


def _lease(
    frame: pd.DataFrame | None, report: CheckReport, run_info: dict[str, Any], given: float | None
) -> str:
    """Where the lease came from; an inferred lease (no expires_at, none given) says so."""
    m = report.metrics
    if "lease_judged_s" in m:
        low, high = m.get("lease_inferred_lower_s"), m.get("lease_inferred_upper_s")
        n = int(m.get("lease_inferred_from_redeliveries", 0))
        bounds = f"between {low:g} and {high:g} s " if low is not None and high is not None else ""
        return f"inferred {bounds}from {n:,} redeliveries (the API gave no expires_at)"
    if frame is None:
        return "not read (streamed analysis)"
    return lease_origin(frame, run_info, given)


def _streamed(run_info: dict[str, Any]) -> str:
    configured = ", ".join(str(f) for f in run_info.get("nemesis") or [])
    return f"not read (streamed analysis){f'; configured: {configured}' if configured else ''}"


def lease_origin(frame: pd.DataFrame, run_info: dict[str, Any], given: float | None) -> str:
    """Where the lease the claim checks used came from (the API first, as the checks do)."""
    claims = rows_where(frame, "f", "claim")
    with_deadline = int(np.count_nonzero(claims & frame["expires_at"].notna().to_numpy()))
    fallback = (
        f"{given:g} s given to the analyzer (--lease-timeout)"
        if given is not None
        else f"run.json lease_timeout {run_info['lease_timeout']:g} s"
        if isinstance(run_info.get("lease_timeout"), int | float)
        else None
    )
    if with_deadline:
        text = f"the API: expires_at on {with_deadline:,} claims"
        return text + (f" (else {fallback})" if fallback else "")
    if fallback:
        return f"{fallback} (the API gave no expires_at)"
    return "none: the API gave no expires_at and no lease timeout was given"


def _nemesis(windows: list[tuple[float, float, str]], run_info: dict[str, Any]) -> str:
    configured = ", ".join(str(f) for f in run_info.get("nemesis") or [])
    points = str(run_info.get("faults") or "").replace(",", ", ")
    also = f"; fault points: {points}" if points else ""
    if not windows:
        return ("none" + (f" (configured: {configured})" if configured else "")) + also
    shown = ", ".join(
        f"{fault} {seconds(start)} to {seconds(stop)}" for start, stop, fault in windows[:6]
    )
    more = f", …{len(windows) - 6} more" if len(windows) > 6 else ""
    return f"{len(windows)}: {shown}{more}{also}"
