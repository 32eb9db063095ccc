"""``harness compare``: the same profiles against naive and safe, one side-by-side report.

Writes ``reports/<timestamp>-compare/`` holding one run folder per (impl, profile) and
``index.html`` / ``report.md`` with: the headline, violation counts per kind, the
note's claims ledger with a column per implementation, throughput and latency plots
with both implementations overlaid, and links to every run's own race report.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from harness import profiles as profiles_mod
from harness.analyze import read_run_info
from harness.checks import Kind
from harness.errors import HarnessError
from harness.history import load_history
from harness.report.ledger import Judgement, LedgerRow, claims_ledger
from harness.run import RunResult, RunSpec, run_once
from harness.run_folder import new_run_dir, point_latest
from harness.server_metrics import side_by_side

logger = logging.getLogger(__name__)

IMPLS = ("naive", "safe")
DEFAULT_PROFILES = ("test3_completion", "janitor_race", "chaos")
COLORS = {"naive": "#c0392b", "safe": "#2471a3"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    folder: Path
    results: dict[tuple[str, str], RunResult]  # (profile, impl) -> result
    profiles: tuple[str, ...]
    interrupted: bool

    @property
    def exit_code(self) -> int:
        """0: safe held everywhere; 1: safe failed somewhere; 2: a run was unknown; 130."""
        if self.interrupted:
            return 130
        safe = [r for (_, impl), r in self.results.items() if impl == "safe"]
        if any(r.verdict == "fail" for r in safe):
            return 1
        if any(r.verdict == "unknown" for r in self.results.values()):
            return 2
        return 0


def run_compare(
    profile_names: Sequence[str],
    make_spec: Callable[[str, profiles_mod.Profile], RunSpec],
    base_dir: Path,
    announce: Callable[[str], None],
) -> Comparison:
    folder = new_run_dir(base_dir, "compare")
    point_latest(base_dir, folder)
    results: dict[tuple[str, str], RunResult] = {}
    interrupted = False
    for name in profile_names:
        profile = profiles_mod.load(name)
        for impl in IMPLS:
            announce(f"== {impl} under {profile.name}: {profile.description}")
            spec = replace(make_spec(impl, profile), run_dir=folder / f"{impl}-{profile.name}")
            result = run_once(spec)
            results[(profile.name, impl)] = result
            announce(f"   {result.summary()}")
            if result.interrupted:
                interrupted = True
                break
        if interrupted:
            break
    done = tuple(dict.fromkeys(p for p, _ in results))
    comparison = Comparison(folder=folder, results=results, profiles=done, interrupted=interrupted)
    write_compare_report(comparison)
    return comparison


# ---- the side-by-side report --------------------------------------------------------


def _frame(result: RunResult) -> pd.DataFrame | None:
    try:
        return load_history(result.run_dir)
    except HarnessError:
        return None


def merged_ledger(results: Sequence[RunResult]) -> list[LedgerRow]:
    """One implementation's ledger over several runs: refuted anywhere wins, then holds."""
    rows: dict[str, LedgerRow] = {}
    for result in results:
        if result.report is None:
            continue
        for row in claims_ledger(result.report):
            link = f"{result.run_dir.name}/index.html#{row.link}" if row.link else None
            row = replace(row, link=link, evidence=f"{result.run_dir.name}: {row.evidence}")
            old = rows.get(row.claim)
            rank = {Judgement.REFUTED: 2, Judgement.HOLDS: 1, Judgement.NOT_EXERCISED: 0}
            if old is None or rank[row.judgement] > rank[old.judgement]:
                rows[row.claim] = row
    return list(rows.values())


Frames = dict[tuple[str, str], pd.DataFrame | None]


def _frames(comparison: Comparison) -> Frames:
    """Each run's history frame, loaded once for all the plots."""
    return {key: _frame(result) for key, result in comparison.results.items()}


def _throughput_plot(comparison: Comparison, frames: Frames, out: Path) -> None:
    n = max(1, len(comparison.profiles))
    fig, axes = plt.subplots(n, 1, figsize=(9, 2.6 * n), squeeze=False)
    for ax, profile in zip(axes[:, 0], comparison.profiles, strict=False):
        for impl in IMPLS:
            frame = frames.get((profile, impl))
            if frame is None or frame.empty:
                continue
            done = frame[(frame["f"] == "complete") & (frame["type"] == "ok")]
            if done.empty:
                continue
            t = (done["time_ns"].to_numpy() - frame["time_ns"].min()) / 1e9
            bins = np.arange(0, max(1.0, float(t.max())) + 1.0, 1.0)
            counts, edges = np.histogram(t, bins=bins)
            ax.plot(edges[:-1], counts, label=impl, color=COLORS[impl])
        ax.set_title(f"{profile}: accepted completions per second")
        ax.set_xlabel("seconds since the first event")
        ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def _latency_plot(comparison: Comparison, frames: Frames, out: Path) -> None:
    ops = ("claim", "complete", "submit")
    n = max(1, len(comparison.profiles))
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.2), squeeze=False)
    for ax, profile in zip(axes[0], comparison.profiles, strict=False):
        width = 0.38
        for k, impl in enumerate(IMPLS):
            frame = frames.get((profile, impl))
            p50, p99 = [], []
            for op in ops:
                lat = (
                    frame.loc[(frame["f"] == op) & (frame["latency_ns"] >= 0), "latency_ns"]
                    if frame is not None
                    else pd.Series(dtype="int64")
                )
                p50.append(float(lat.quantile(0.5)) / 1e6 if len(lat) else 0.0)
                p99.append(float(lat.quantile(0.99)) / 1e6 if len(lat) else 0.0)
            x = np.arange(len(ops)) + (k - 0.5) * width
            ax.bar(x, p99, width, color=COLORS[impl], alpha=0.35, label=f"{impl} p99")
            ax.bar(x, p50, width, color=COLORS[impl], label=f"{impl} p50")
        ax.set_xticks(np.arange(len(ops)), ops)
        ax.set_ylabel("ms")
        ax.set_title(profile)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def _cell(result: RunResult | None) -> str:
    if result is None:
        return "not run"
    found = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()) if v)
    return f"**{result.verdict.upper()}**" + (f" ({found})" if found else "")


def _headline(comparison: Comparison) -> list[str]:
    lines = []
    for impl in IMPLS:
        runs = [(p, comparison.results.get((p, impl))) for p in comparison.profiles]
        failed = [p for p, r in runs if r is not None and r.verdict == "fail"]
        kinds: dict[str, int] = {}
        for _, r in runs:
            for k, v in (r.counts if r else {}).items():
                kinds[k] = kinds.get(k, 0) + v
        found = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()) if v) or "no violations"
        verdict = f"refuted in {len(failed)} of {len(runs)} runs" if failed else (
            f"held in all {len(runs)} runs")  # fmt: skip
        lines.append(f"- **{impl}**: {verdict} — {found}")
    return lines


def compare_markdown(comparison: Comparison) -> str:
    out = ["# naive vs safe: the note's queue against the reference fix", ""]
    out += [*_headline(comparison), ""]
    out += ["## Verdicts", "", "| profile | naive | safe |", "|---|---|---|"]
    for p in comparison.profiles:
        cells = [_cell(comparison.results.get((p, i))) for i in IMPLS]
        out.append(f"| {p} | {cells[0]} | {cells[1]} |")
    out += ["", "## Violations per kind (distinct tasks)", ""]
    cols = [(p, i) for p in comparison.profiles for i in IMPLS]
    out.append("| kind | " + " | ".join(f"{p} {i}" for p, i in cols) + " |")
    out.append("|---" * (len(cols) + 1) + "|")
    for kind in Kind:
        counts = [str(comparison.results[c].counts.get(kind, "")) if c in comparison.results
                  else "" for c in cols]  # fmt: skip
        out.append(f"| {kind} | " + " | ".join(counts) + " |")
    out += ["", "## The note's claims", "", "| claim | naive | safe |", "|---|---|---|"]
    ledgers = {
        i: {r.claim: r for r in merged_ledger(
            [r for (_, impl), r in comparison.results.items() if impl == i])}
        for i in IMPLS
    }  # fmt: skip
    for claim in dict.fromkeys(c for lg in ledgers.values() for c in lg):
        cells = []
        for impl in IMPLS:
            row = ledgers[impl].get(claim)
            if row is None:
                cells.append("not run")
                continue
            text = row.judgement.value
            cells.append(f"[{text}]({row.link})" if row.link else text)
        out.append(f"| {claim} | {cells[0]} | {cells[1]} |")
    out += _witnesses(comparison)
    out += ["", "## Throughput and latency", "", "![throughput](throughput.png)", "",
            "![latency](latency.png)", "", "## Runs", ""]  # fmt: skip
    for (p, i), r in comparison.results.items():
        out.append(f"- [{i} under {p}]({r.run_dir.name}/index.html): {r.summary()}")
    return "\n".join(out) + "\n"


def _witnesses(comparison: Comparison) -> list[str]:
    """The deployment's own counters beside what the history saw, one row per run."""
    rows: list[tuple[str, dict[str, tuple[str, str]]]] = []
    for (profile, impl), result in comparison.results.items():
        info = read_run_info(result.run_dir)
        metrics = result.report.metrics if result.report else {}
        cells = {n: (srv, seen) for n, srv, seen in
                 side_by_side(info.get("server_counters") or {}, metrics)}  # fmt: skip
        if cells:
            rows.append((f"{impl} {profile}", cells))
    if not rows:
        return []
    names = list(dict.fromkeys(n for _, cells in rows for n in cells))
    out = ["", "## The server's counters beside the history's", "",
           "From the deployment's `/metrics` at the end of each run, as *server / history*: "
           "a second witness (rescues by separate janitor processes are only in the "
           "history).", "",
           "| run | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]  # fmt: skip
    for run, cells in rows:
        shown = [" / ".join(x for x in cells.get(n, ("", "")) if x) for n in names]
        out.append(f"| {run} | " + " | ".join(shown) + " |")
    return out


def write_compare_report(comparison: Comparison) -> None:
    folder = comparison.folder
    try:
        frames = _frames(comparison)
        _throughput_plot(comparison, frames, folder / "throughput.png")
        _latency_plot(comparison, frames, folder / "latency.png")
    except Exception:  # plots are a courtesy; the tables carry the verdict
        logger.exception("compare plots failed")
    text = compare_markdown(comparison)
    (folder / "report.md").write_text(text)
    (folder / "index.html").write_text(_html(text))


def _html(markdown: str) -> str:
    """A small Markdown subset (headings, tables, lists, images, links) as HTML."""
    import re

    def inline(s: str) -> str:
        s = html.escape(s)
        s = re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", r'<img alt="\1" src="\2">', s)
        s = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', s)
        return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s)

    body: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{inline(line.lstrip('# '))}</h{level}>")
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                if not set(lines[i]) <= set("|-"):
                    rows.append([c.strip() for c in lines[i].strip("|").split("|")])
                i += 1
            head, *rest = rows
            body.append("<table><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head) + "</tr>")
            body += ["<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in rest]
            body.append("</table>")
            continue
        elif line.startswith("- "):
            body.append(f"<li>{inline(line[2:])}</li>")
        elif line.strip():
            body.append(f"<p>{inline(line)}</p>")
        i += 1
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
             "padding:4px 8px;text-align:left}img{max-width:100%}")  # fmt: skip
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>qharness compare</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")  # fmt: skip
