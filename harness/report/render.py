"""The report's two renderings of one :class:`Page`: Markdown and a static HTML page.

Order: the run-summary table (what ran, how long, the verdict, the lease, the faults),
checks, claims ledger, violations (top examples per kind, each with its timeline
picture and its interleaving table, tasks as short aliases with a legend), plots,
metrics. Anchors (``double_claim-1``) link the ledger to counterexamples. The HTML page
is self-contained apart from its PNG plots: timelines are inline SVG, no script.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from harness.checks.promises import promise_from_json, standings
from harness.checks.verdicts import CheckReport, CheckResult, Violation
from harness.report.interleaving import Interleaving
from harness.report.ledger import LedgerRow
from harness.report.summary import Row

MORE = "…and {rest} more (all in violations.json)."
WINDOWS_INTRO = (
    "How many operations landed inside each race window (what the run really tried; "
    "a pass with zeros here says little about that race)."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    """One shown violation: its anchor, the task's alias, its table and timeline."""

    anchor: str
    violation: Violation
    alias: str
    table: Interleaving
    png: str  # the timeline picture's file name (report.md shows it); "" when none
    svg: str  # the same picture as inline SVG (index.html embeds it); "" when none


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    report: CheckReport
    ledger: list[LedgerRow]
    plots: list[str]
    run_info: dict[str, Any]
    examples: dict[str, list[Example]]
    summary: list[Row]
    aliases: dict[str, str]  # full task id -> alias, only where they differ

    def shown_kinds(self) -> list[tuple[CheckResult, list[Example]]]:
        results = self.report.results
        return [(results[k], ex) for k, ex in self.examples.items() if results[k].violations]


def _label(result: CheckResult) -> str:
    return "not exercised" if not result.exercised and result.verdict == "pass" else result.verdict


def _window_rows(report: CheckReport) -> list[list[str]]:
    return [[window, str(count)] for window, count in report.windows.items()]


CHECK_HEADER = ["kind", "verdict", "against the promise", "tasks", "note"]


def _check_rows(page: Page) -> list[list[str]]:
    """Each check, and how it stands against the run's declared promise (DESIGN.md §12)."""
    promise = promise_from_json(page.run_info.get("promise"))
    standing = standings(promise, page.report.results)
    return [
        [k, _label(r), str(standing.get(k, "")), str(r.count), r.note]
        for k, r in page.report.results.items()
    ]


def _check_rows_html(page: Page) -> list[list[str]]:
    """:func:`_check_rows` with the verdict cell coloured (column 1 is HTML)."""
    rows = _check_rows(page)
    results = list(page.report.results.values())
    for row, r in zip(rows, results, strict=True):
        row[1] = f'<span class="verdict-{html.escape(r.verdict)}">{html.escape(row[1])}</span>'
    return rows


def _promise_line(page: Page) -> str:
    p = promise_from_json(page.run_info.get("promise"))
    quote = f" “{p.quote}”" if p.quote else ""
    return f"Promise judged against: {p.kind}{quote} ({p.source})."


def _heading(example: Example) -> str:
    task = example.violation.task_id
    who = example.alias if example.alias == task else f"{example.alias} ({task})"
    return f"{example.anchor}: task {who}"


# --- Markdown ---------------------------------------------------------------------------


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]


def markdown(page: Page) -> str:
    report = page.report
    out = [f"# Race report: {str(report.verdict).upper()}", ""]
    out += _md_table(["run summary", ""], [[k, v.replace("|", "\\|")] for k, v in page.summary])
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
        for ex in shown:
            out += [f'<a id="{ex.anchor}"></a>', f"#### {_heading(ex)}", ""]
            out += [ex.violation.explanation, ""]
            out += [f"![timeline of {ex.alias}]({ex.png})", ""] if ex.png else []
            out += [ex.table.markdown(), ""]
        if len(result.violations) > len(shown):
            out += [MORE.format(rest=len(result.violations) - len(shown)), ""]
    if page.aliases:
        out += ["Task aliases:", "", *_md_table(["alias", "task id"], _legend(page))]
    return out or ["None.", ""]


def _legend(page: Page) -> list[list[str]]:
    return [[alias, task] for task, alias in page.aliases.items()]


# --- HTML -------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
.verdict-pass { color: #176f2c; } .verdict-fail { color: #b00020; }
.verdict-unknown { color: #8a6d00; }
tr.proof td { background: #fff3cd; font-weight: 600; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
table.summary { font-size: 1em; min-width: 40em; }
table.summary th { background: #f3f3f3; width: 11em; font-weight: 600; }
table.summary td.verdict-fail, table.summary td.verdict-pass,
table.summary td.verdict-unknown { font-weight: 700; }
table.interleaving td:first-child { white-space: nowrap; }
.timeline svg { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
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
    parts.append(_summary_table(page))
    parts += ["<h2>Checks</h2>", f"<p>{e(_promise_line(page))}</p>"]
    parts += [_table(CHECK_HEADER, _check_rows_html(page), raw=1)]
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


def _summary_table(page: Page) -> str:
    e = html.escape
    verdict = str(page.report.verdict)
    rows = "".join(
        f'<tr><th scope="row">{e(k)}</th>'
        + (f'<td class="verdict-{e(verdict)}">' if k == "verdict" else "<td>")
        + f"{e(v)}</td></tr>"
        for k, v in page.summary
    )
    return f'<table class="summary">{rows}</table>'


def _judged(row: LedgerRow) -> str:
    text = html.escape(str(row.judgement))
    return f'<a href="#{html.escape(row.link)}">{text}</a>' if row.link else text


def _html_violations(page: Page) -> list[str]:
    e = html.escape
    parts: list[str] = []
    for result, shown in page.shown_kinds():
        parts.append(f"<h3>{e(result.kind)}: {result.count} tasks</h3>")
        for ex in shown:
            parts += [f'<h4 id="{e(ex.anchor)}">{e(_heading(ex))}</h4>']
            parts += [f"<p>{e(ex.violation.explanation)}</p>"]
            parts += [f'<div class="timeline">{ex.svg}</div>'] if ex.svg else []
            parts.append(ex.table.html())
        if len(result.violations) > len(shown):
            parts.append(f"<p>{e(MORE.format(rest=len(result.violations) - len(shown)))}</p>")
    if page.aliases:
        parts += ["<p>Task aliases:</p>", _table(["alias", "task id"], _legend(page))]
    return parts or ["<p>None.</p>"]
