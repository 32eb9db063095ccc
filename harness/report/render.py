"""The report's two renderings of one :class:`Page`: Markdown and a static HTML page.

Order: verdict, checks, claims ledger, violations (top examples per kind with their
interleavings), plots, metrics. Anchors (``double_claim-1``) link the ledger to
counterexamples.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from harness.checks.promises import promise_from_json, standings
from harness.checks.verdicts import CheckReport, CheckResult, Violation
from harness.report.interleaving import Interleaving
from harness.report.ledger import LedgerRow

Example = tuple[str, Violation, Interleaving]  # (anchor, violation, its interleaving)
MORE = "…and {rest} more (all in violations.json)."
WINDOWS_INTRO = (
    "How many operations landed inside each race window (what the run really tried; "
    "a pass with zeros here says little about that race)."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    report: CheckReport
    ledger: list[LedgerRow]
    plots: list[str]
    run_info: dict[str, Any]
    examples: dict[str, list[Example]]

    def shown_kinds(self) -> list[tuple[CheckResult, list[Example]]]:
        results = self.report.results
        return [(results[k], ex) for k, ex in self.examples.items() if results[k].violations]


def _label(result: CheckResult) -> str:
    return "not exercised" if not result.exercised and result.verdict == "pass" else result.verdict


def _window_rows(report: CheckReport) -> list[list[str]]:
    return [[window, str(count)] for window, count in report.windows.items()]


def _run_line(page: Page) -> str:
    return ", ".join(f"{k}: {v}" for k, v in page.run_info.items() if k != "promise")


CHECK_HEADER = ["kind", "verdict", "against the promise", "tasks", "note"]


def _check_rows(page: Page) -> list[list[str]]:
    """Each check, and how it stands against the run's declared promise (DESIGN.md §12)."""
    promise = promise_from_json(page.run_info.get("promise"))
    standing = standings(promise, page.report.results)
    return [
        [k, _label(r), str(standing.get(k, "")), str(r.count), r.note]
        for k, r in page.report.results.items()
    ]


def _promise_line(page: Page) -> str:
    p = promise_from_json(page.run_info.get("promise"))
    quote = f" “{p.quote}”" if p.quote else ""
    return f"Promise judged against: {p.kind}{quote} ({p.source})."


# --- Markdown ---------------------------------------------------------------------------


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]


def markdown(page: Page) -> str:
    report = page.report
    out = [f"# Race report: {str(report.verdict).upper()}", ""]
    if page.run_info:
        out += [_run_line(page), ""]
    out += ["## Checks", "", _promise_line(page), "", *_md_table(CHECK_HEADER, _check_rows(page))]
    if report.windows:
        out += ["## Windows hit", "", WINDOWS_INTRO, ""]
        out += _md_table(["window", "operations in it"], _window_rows(report))
    ledger = [
        [r.claim, r.section, f"[{r.judgement}](#{r.link})" if r.link else r.judgement, r.evidence]
        for r in page.ledger
    ]
    out += ["## Claims ledger (the note under test)", ""]
    out += _md_table(["claim", "note section", "judgement", "evidence"], ledger)
    out += ["## Violations", "", *_md_violations(page)]
    out += ["## Plots", "", *[f"![{p}]({p})" for p in page.plots], ""]
    metrics = [[k, str(v)] for k, v in report.metrics.items()]
    out += ["## Metrics", "", *_md_table(["metric", "value"], metrics)]
    return "\n".join(out)


def _md_violations(page: Page) -> list[str]:
    out: list[str] = []
    for result, shown in page.shown_kinds():
        out += [f"### {result.kind}: {result.count} tasks", ""]
        for name, v, table in shown:
            out += [f'<a id="{name}"></a>', f"#### {name}: task {v.task_id}", ""]
            out += [v.explanation, "", table.markdown(), ""]
        if len(result.violations) > len(shown):
            out += [MORE.format(rest=len(result.violations) - len(shown)), ""]
    return out or ["None.", ""]


# --- HTML -------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
.verdict-pass { color: #176f2c; } .verdict-fail { color: #b00020; }
.verdict-unknown { color: #8a6d00; }
tr.proof td { background: #fff3cd; font-weight: 600; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
"""


def _table(header: list[str], rows: list[list[str]], raw: int | None = None) -> str:
    """An HTML table; cells are escaped except column ``raw`` (already HTML)."""
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if i == raw else e(c)}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def html_page(page: Page) -> str:
    e = html.escape
    report, verdict = page.report, str(page.report.verdict)
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Race report: {e(verdict)}</title><style>{STYLE}</style></head><body>",
        f'<h1>Race report: <span class="verdict-{e(verdict)}">{e(verdict.upper())}</span></h1>',
    ]
    if page.run_info:
        parts.append(f"<p>{e(_run_line(page))}</p>")
    parts += ["<h2>Checks</h2>", f"<p>{e(_promise_line(page))}</p>"]
    parts += [_table(CHECK_HEADER, _check_rows(page))]
    if report.windows:
        parts += ["<h2>Windows hit</h2>", f"<p>{e(WINDOWS_INTRO)}</p>"]
        parts += [_table(["window", "operations in it"], _window_rows(report))]
    ledger = [[e(r.claim), e(r.section), _judged(r), e(r.evidence)] for r in page.ledger]
    parts += ["<h2>Claims ledger (the note under test)</h2>"]
    parts += [_table(["claim", "note section", "judgement", "evidence"], ledger, raw=2)]
    parts += ["<h2>Violations</h2>", *_html_violations(page)]
    parts += ["<h2>Plots</h2>", *[f'<img src="{e(p)}" alt="{e(p)}">' for p in page.plots]]
    metrics = [[k, str(v)] for k, v in report.metrics.items()]
    parts += ["<h2>Metrics</h2>", _table(["metric", "value"], metrics), "</body></html>"]
    return "\n".join(parts)


def _judged(row: LedgerRow) -> str:
    text = html.escape(str(row.judgement))
    return f'<a href="#{html.escape(row.link)}">{text}</a>' if row.link else text


def _html_violations(page: Page) -> list[str]:
    e = html.escape
    parts: list[str] = []
    for result, shown in page.shown_kinds():
        parts.append(f"<h3>{e(result.kind)}: {result.count} tasks</h3>")
        for name, v, table in shown:
            parts += [f'<h4 id="{e(name)}">{e(name)}: task {e(v.task_id)}</h4>']
            parts += [f"<p>{e(v.explanation)}</p>", table.html()]
        if len(result.violations) > len(shown):
            parts.append(f"<p>{e(MORE.format(rest=len(result.violations) - len(shown)))}</p>")
    return parts or ["<p>None.</p>"]
