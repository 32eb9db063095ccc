"""The zoo report: one Markdown + HTML page over every library on trial, and zoo.json.

A library x violation-kind matrix (violates the promise / allowed by the promise / held
/ not exercised, and "unconfirmed" for a search hit that a fresh Redis did not
reproduce), then per library its promise with the quote and where it is written, the
lease and time sources it runs with, and each confirmed finding: the minimal
interleaving in the note's table format, the explanation, the matching upstream issue
when one was confirmed, the history checks' verdict on the counterexample's events
(a sub run folder the analyzer judged), and a pasteable regression test.
"""

from __future__ import annotations

import html
import re
import time
from pathlib import Path
from typing import Any

import orjson

from harness.analyze import analyze_run
from harness.checks.promises import ALLOWED_BECAUSE, Standing, promise_json
from harness.checks.verdicts import Kind
from harness.explorer.hunt import HuntPlan
from harness.explorer.story import MEANING, regression_test, steps_table
from harness.zoo.trial import KindResult, Trial

SHORT = {
    Standing.VIOLATES: "**violates**",
    Standing.ALLOWED: "allowed",
    Standing.HELD: "held",
    Standing.NOT_EXERCISED: "not exercised",
}


def cell(result: KindResult) -> str:
    return "unconfirmed" if result.unconfirmed else SHORT[result.standing]


def write_zoo_report(out: Path, plan: HuntPlan, trials: list[Trial]) -> Path:
    """``zoo.md``, ``index.html``, ``zoo.json`` and a sub run per finding; returns zoo.md."""
    out.mkdir(parents=True, exist_ok=True)
    lines = _head(plan, trials) + _matrix(trials)
    for trial in trials:
        lines += _library(out, plan, trial)
    text = "\n".join(lines) + "\n"
    (out / "zoo.md").write_text(text)
    (out / "index.html").write_text(markdown_to_html(text, title="harness zoo"))
    (out / "zoo.json").write_bytes(
        orjson.dumps([_json(t) for t in trials], option=orjson.OPT_INDENT_2)
    )
    return out / "zoo.md"


def _head(plan: HuntPlan, trials: list[Trial]) -> list[str]:
    ran = [t for t in trials if t.available]
    return [
        "# Real queues on trial: `harness zoo`",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; seed {plan.seed}, "
        f"budget {plan.budget_s:g}s per library, {len(ran)} of {len(trials)} libraries "
        "available. Every finding below was found by the interleaving search, shrunk, and "
        "replayed against a fresh real Redis before being reported.",
        "",
        "Each library is judged against **its own documented promise**, not against "
        "exactly-once: *violates* = found and the promise forbids it; *allowed* = found, "
        "and the promise permits it; *held* = searched, not found; *unconfirmed* = the "
        "search hit it but a fresh replay did not (not a finding).",
        "",
    ]


def _matrix(trials: list[Trial]) -> list[str]:
    kinds = [str(k) for k in Kind]
    rows = [
        "| library | promise | " + " | ".join(kinds) + " |",
        "|---|---|" + "---|" * len(kinds),
    ]
    for trial in trials:
        # "rq 2.12.0, redis 8.1.0" (the library's own name is its first version's)
        name = ", ".join(f"{k} {v}" for k, v in trial.versions.items()) or trial.library
        if not trial.available:
            rows.append(f"| {trial.library} | not available: {trial.reason} |" + " |" * len(kinds))
            continue
        by_kind = {str(k.kind): cell(k) for k in trial.kinds}
        cells = [by_kind.get(k, "not exercised") for k in kinds]
        rows.append(f"| {name.strip()} | {trial.promise.kind} | " + " | ".join(cells) + " |")
    return [*rows, ""]


def _library(out: Path, plan: HuntPlan, trial: Trial) -> list[str]:
    lines = [f"## {trial.library}", ""]
    if not trial.available:
        return [*lines, f"Not available: {trial.reason}.", ""]
    p = trial.promise
    lines += [
        f"Adapter `{trial.impl}`; versions: "
        + ", ".join(f"{k} {v}" for k, v in trial.versions.items())
        + f"; searched in {trial.elapsed_s:.0f}s.",
        "",
        f"**Promise: {p.kind}.** “{p.quote}” — {p.source}",
        "",
        f"Lease it runs with: {trial.lease_timeout:g}s. Time sources: "
        + "; ".join(f"{k}: {v}" for k, v in trial.time_sources.items())
        + " (real-time state is aged by the adapter when the injected clock moves).",
        "",
    ]
    held = [str(k.kind) for k in trial.kinds if k.standing is Standing.HELD and not k.unconfirmed]
    lines += [f"Held (searched, nothing found): {', '.join(held) or 'none'}.", ""]
    refusals = [
        f"{k.kind}: " + ", ".join(f"{o} {n} times" for o, n in sorted(k.refused.items()))
        for k in trial.kinds
        if k.refused
    ]
    if refusals:
        lines += [
            "Completions and failures the library refused while each kind was searched (its "
            "own checks at work, e.g. a fencing token): " + "; ".join(refusals) + ".",
            "",
        ]
    unconfirmed = [str(k.kind) for k in trial.kinds if k.unconfirmed]
    if unconfirmed:
        lines += [
            f"Unconfirmed (found by the search, not reproduced on a fresh Redis, so not "
            f"reported): {', '.join(unconfirmed)}.",
            "",
        ]
    for result in trial.findings():
        lines += _finding(out, plan, trial, result)
    return lines


def _finding(out: Path, plan: HuntPlan, trial: Trial, result: KindResult) -> list[str]:
    search = result.search
    assert search is not None
    assert search.world is not None
    kind = result.kind
    world = search.world
    sub = _sub_run(out / trial.library / str(kind), trial, result)
    verdict = analyze_run(sub, lease_timeout=trial.lease_timeout)
    seen = sorted(k for k, r in verdict.results.items() if r.verdict == "fail")
    because = ALLOWED_BECAUSE.get((trial.promise.kind, kind), "")
    first = search.findings()[0].explanation if search.findings() else ""
    issue = trial.upstream.get(str(kind))
    return [
        f"### {trial.library}: {kind} — {result.standing}"
        + (f" ({because})" if result.standing is Standing.ALLOWED and because else ""),
        "",
        f"**What it means:** {MEANING[kind]}.",
        "",
        f"**What happened:** {first}.",
        "",
        f"**Upstream:** {issue}." if issue else "**Upstream:** no matching issue confirmed.",
        "",
        f"Minimal run: {search.length()} steps after the setup (seed {search.seed}), "
        "confirmed on a fresh Redis.",
        "",
        steps_table(world, search.target),
        "",
        f"History checks on this run's events (`{trial.library}/{kind}/report.md`): "
        f"{', '.join(seen) if seen else 'no violation in the history alone'}.",
        "",
        "Regression test (paste into `tests/`; it fails while the behaviour is there):",
        "",
        "```python",
        regression_test(trial.impl, kind, world, lease_timeout=plan.lease_timeout),
        "```",
        "",
    ]


def _sub_run(sub: Path, trial: Trial, result: KindResult) -> Path:
    assert result.search is not None
    assert result.search.world is not None
    history = sub / "history"
    history.mkdir(parents=True, exist_ok=True)
    events = result.search.world.history.events
    (history / "explorer.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    info = {
        "source": "harness zoo",
        "library": trial.library,
        "impl": trial.impl,
        "versions": dict(trial.versions),
        "promise": promise_json(trial.promise),
        "lease_timeout": trial.lease_timeout,
        "drained": True,
        "kind": str(result.kind),
    }
    (sub / "run.json").write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))
    return sub


def _json(trial: Trial) -> dict[str, Any]:
    return {
        "library": trial.library,
        "impl": trial.impl,
        "available": trial.available,
        "reason": trial.reason,
        "versions": dict(trial.versions),
        "promise": promise_json(trial.promise),
        "lease_timeout": trial.lease_timeout,
        "elapsed_s": round(trial.elapsed_s, 1),
        "kinds": {
            str(k.kind): {
                "standing": "unconfirmed" if k.unconfirmed else str(k.standing),
                "confirmed": k.confirmed,
                "upstream": trial.upstream.get(str(k.kind)),
                "refused": dict(k.refused),
                "steps": [str(s) for s in k.search.world.trace.steps()]
                if k.search is not None and k.search.world is not None
                else [],
            }
            for k in trial.kinds
        },
    }


# ---- a small Markdown -> HTML, enough for this page (headings, tables, code, text) ----

_INLINE = [
    (re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*(.+?)\*"), r"<em>\1</em>"),
]


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    for pattern, repl in _INLINE:
        out = pattern.sub(repl, out)
    return out


def markdown_to_html(text: str, *, title: str) -> str:
    body: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), i)
            body.append("<pre>" + html.escape("\n".join(lines[i + 1 : end])) + "</pre>")
            i = end + 1
            continue
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            body.append(_table(rows))
            continue
        heading = re.match(r"^(#{1,4}) (.*)$", line)
        if heading:
            n = len(heading.group(1))
            body.append(f"<h{n}>{_inline(heading.group(2))}</h{n}>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
        i += 1
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:4px}"
        "pre{background:#f6f6f6;padding:1em;overflow:auto}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _table(rows: list[str]) -> str:
    def cells(row: str) -> list[str]:
        return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]

    head, *rest = rows
    body = [r for r in rest if not re.match(r"^\|(-+\|)+$", r.replace(" ", ""))]
    out = ["<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in cells(head)) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in cells(r)) + "</tr>" for r in body]
    return "".join(out) + "</table>"
