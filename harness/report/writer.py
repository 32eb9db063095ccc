"""``write_report``: violations.json, summary.json, report.md, index.html and plots.

The JSON files are for machines (violations.json is a contract: DESIGN.md section 5);
report.md and index.html are for engineers: the verdict, each check, the claims
ledger, the plots, and for each kind the first ``top`` violations with their
explanation and interleaving (the rest are counted, and all are in violations.json).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from harness.checks.verdicts import CheckReport
from harness.report.interleaving import interleaving
from harness.report.ledger import LedgerRow, anchor, claims_ledger
from harness.report.plots import plot_all
from harness.report.render import Example, Page, html_page, markdown

logger = logging.getLogger(__name__)

TOP = 5


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
) -> None:
    """Write every report file into ``run_dir`` (which must exist).

    Without the ``frame`` (a streamed analysis) the pages have no plots or interleavings.
    """
    ledger = claims_ledger(report)
    plots = [] if frame is None else [p.name for p in plot_all(frame, run_dir)]
    _dump(run_dir / "violations.json", violations_json(report))
    _dump(run_dir / "summary.json", _summary(report, ledger, plots, run_info))
    page = Page(
        report=report,
        ledger=ledger,
        plots=plots,
        run_info=run_info,
        examples={} if frame is None else _examples(frame, report, top),
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


def _examples(frame: pd.DataFrame, report: CheckReport, top: int) -> dict[str, list[Example]]:
    out: dict[str, list[Example]] = {}
    for kind, result in report.results.items():
        out[kind] = [
            (anchor(kind, n), v, interleaving(frame, v.task_id, v.events))
            for n, v in enumerate(result.violations[:top], start=1)
        ]
    return out
