"""``write_report``: violations.json, summary.json, report.md, index.html and plots.

The JSON files are for machines (violations.json is a contract: DESIGN.md section 5);
report.md and index.html are for engineers: the verdict, each check, the claims
ledger, the plots, and for each kind the first ``top`` violations with their
explanation and interleaving (the rest are counted, and all are in violations.json).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from harness.checks.verdicts import CheckReport, Violation
from harness.report import timeline
from harness.report.interleaving import interleaving
from harness.report.ledger import LedgerRow, anchor, claims_ledger
from harness.report.plots import PlotData, draw, whole_plot_data
from harness.report.render import Example, Page, html_page, markdown
from harness.report.summary import run_summary

logger = logging.getLogger(__name__)

TOP = 5
SHORT = 8  # task ids up to this long are shown as they are, not aliased

# A violation's (kind, task_id, events) -> the frame its example is drawn from, and its
# events in that frame: excerpts (interleaving.excerpt) when there is no whole frame.
Excerpts = Mapping[tuple[str, str, tuple[int, ...]], tuple[pd.DataFrame, list[int]]]


def excerpt_key(v: Violation) -> tuple[str, str, tuple[int, ...]]:
    return (v.kind, v.task_id, tuple(v.events))


def violations_json(report: CheckReport) -> dict[str, Any]:
    """The contract's violations.json document."""
    return {
        "verdict": str(report.verdict),
        "counts": report.counts,
        "metrics": report.metrics,
        "violations": [
            {"kind": v.kind, "task_id": v.task_id, "events": v.events, "explanation": v.explanation}
            for v in report.violations
        ],
    }


def write_report(
    run_dir: Path,
    frame: pd.DataFrame | None,
    report: CheckReport,
    *,
    run_info: dict[str, Any],
    top: int = TOP,
    lease_given: float | None = None,
    excerpts: Excerpts | None = None,
    plot_data: PlotData | None = None,
) -> None:
    """Write every report file into ``run_dir`` (which must exist).

    The plots and the run summary's fault windows come from ``frame`` or, without it (a
    streamed analysis), from ``plot_data`` (none if absent); each shown violation's
    interleaving from ``frame`` or its entry in ``excerpts`` (none if absent).
    ``lease_given`` is the ``--lease-timeout`` the checks were given, if any (the
    header says where the lease came from).
    """
    ledger = claims_ledger(report)
    if frame is not None:
        plot_data = whole_plot_data(frame)
    plots = [] if plot_data is None else [p.name for p in draw(plot_data, run_dir)]
    _dump(run_dir / "violations.json", violations_json(report))
    _dump(run_dir / "summary.json", _summary(report, ledger, plots, run_info))
    lease = lease_given if lease_given is not None else run_info.get("lease_timeout")
    drawn = excerpts or {}

    def source(v: Violation) -> tuple[pd.DataFrame, list[int]] | None:
        return (frame, v.events) if frame is not None else drawn.get(excerpt_key(v))

    known = lease if isinstance(lease, int | float) else None
    examples, aliases = _examples(run_dir, source, report, top, known)
    page = Page(
        report=report,
        ledger=ledger,
        plots=plots,
        run_info=run_info,
        summary=run_summary(
            frame,
            report,
            run_info,
            lease_given=lease_given,
            windows=None if plot_data is None else plot_data.windows,
        ),
        examples=examples,
        aliases=aliases,
    )
    (run_dir / "report.md").write_text(markdown(page))
    (run_dir / "index.html").write_text(html_page(page))


def _dump(path: Path, data: Any) -> None:
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))


def _summary(
    report: CheckReport, ledger: list[LedgerRow], plots: list[str], run_info: dict[str, Any]
) -> dict[str, Any]:
    return {
        "verdict": str(report.verdict),
        "results": {
            kind: {
                "verdict": str(r.verdict),
                "count": r.count,
                "exercised": r.exercised,
                "note": r.note,
            }
            for kind, r in report.results.items()
        },
        "metrics": report.metrics,
        "windows": report.windows,
        "ledger": [{**asdict(row), "judgement": str(row.judgement)} for row in ledger],
        "plots": plots,
        "run": run_info,
    }


def task_aliases(report: CheckReport, top: int) -> dict[str, str]:
    """``t1``, ``t2``… for the tasks the report shows, in order of appearance.

    Short ids (every shown id at most ``SHORT`` characters) are kept as they are.
    """
    shown = [v.task_id for r in report.results.values() for v in r.violations[:top]]
    ordered = list(dict.fromkeys(shown))
    if all(len(task) <= SHORT for task in ordered):
        return {task: task for task in ordered}
    return {task: f"t{n}" for n, task in enumerate(ordered, start=1)}


def _examples(
    run_dir: Path,
    source: Callable[[Violation], tuple[pd.DataFrame, list[int]] | None],
    report: CheckReport,
    top: int,
    lease: float | None,
) -> tuple[dict[str, list[Example]], dict[str, str]]:
    aliases = task_aliases(report, top)
    out: dict[str, list[Example]] = {}
    for kind, result in report.results.items():
        out[kind] = []
        for n, v in enumerate(result.violations[:top], start=1):
            drawn = source(v)
            if drawn is None:  # a streamed violation with no excerpt: listed, not drawn
                continue
            frame, events = drawn
            name, alias = anchor(kind, n), aliases[v.task_id]
            pic = timeline.picture(frame, v.task_id, events, alias=alias, lease_timeout=lease)
            png, svg = "", ""  # no events of the task (e.g. an audit finding): no picture
            if pic.lanes:
                png = f"timeline-{name}.png"
                svg = timeline.save(pic, run_dir / png)
            table = interleaving(frame, v.task_id, events, alias=alias)
            out[kind].append(
                Example(anchor=name, violation=v, alias=alias, table=table, png=png, svg=svg)
            )
    return out, {task: alias for task, alias in aliases.items() if task != alias}
