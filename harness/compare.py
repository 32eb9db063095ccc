"""``harness compare``: the same profiles against naive and safe, one side-by-side report.

Writes ``reports/<timestamp>-compare/`` holding one run folder per (impl, profile) and
``index.html`` / ``report.md`` with: the headline, violation counts per kind, the
note's claims ledger with a column per implementation, throughput and latency plots
with both implementations overlaid, and links to every run's own race report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from harness import profiles as profiles_mod
from harness.analyze import read_run_info
from harness.checks import Kind
from harness.errors import HarnessError
from harness.history import load_history
from harness.report.compare_plots import Frames, latency_plot, throughput_plot
from harness.report.document import (
    Block,
    Bold,
    Bullets,
    Heading,
    Image,
    Link,
    Paragraph,
    Table,
    Text,
    to_html,
    to_markdown,
)
from harness.report.ledger import Judgement, LedgerRow, claims_ledger
from harness.run import RunResult, RunSpec, run_once
from harness.run_folder import new_run_dir, point_latest
from harness.server_metrics import side_by_side

logger = logging.getLogger(__name__)

IMPLS = ("naive", "safe")
DEFAULT_PROFILES = ("test3_completion", "janitor_race", "chaos")


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


def _frames(comparison: Comparison) -> Frames:
    """Each run's history frame, loaded once for all the plots."""
    return {key: _frame(result) for key, result in comparison.results.items()}


def _cell(result: RunResult | None) -> Text:
    if result is None:
        return ["not run"]
    found = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()) if v)
    return [Bold(text=result.verdict.upper()), f" ({found})" if found else ""]


def _headline(comparison: Comparison) -> Bullets:
    lines: list[Text] = []
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
        lines.append([Bold(text=impl), f": {verdict} — {found}"])
    return Bullets(items=lines)


def compare_blocks(comparison: Comparison) -> list[Block]:
    """The side-by-side report, as blocks the report package renders."""
    results = comparison.results
    cols = [(p, i) for p in comparison.profiles for i in IMPLS]
    counts = [
        [[str(kind)], *([str(results[c].counts.get(kind, "")) if c in results else ""]
                        for c in cols)]
        for kind in Kind
    ]  # fmt: skip
    runs: list[Text] = [
        [Link(text=f"{i} under {p}", href=f"{r.run_dir.name}/index.html"), f": {r.summary()}"]
        for (p, i), r in results.items()
    ]
    return [
        Heading(level=1, text="naive vs safe: the note's queue against the reference fix"),
        _headline(comparison),
        Heading(level=2, text="Verdicts"),
        Table(
            header=["profile", *IMPLS],
            rows=[[[p], *(_cell(results.get((p, i))) for i in IMPLS)] for p in comparison.profiles],
        ),
        Heading(level=2, text="Violations per kind (distinct tasks)"),
        Table(header=["kind", *(f"{p} {i}" for p, i in cols)], rows=counts),
        Heading(level=2, text="The note's claims"),
        _claims(comparison),
        *_witnesses(comparison),
        Heading(level=2, text="Throughput and latency"),
        Image(src="throughput.png", alt="throughput"),
        Image(src="latency.png", alt="latency"),
        Heading(level=2, text="Runs"),
        Bullets(items=runs),
    ]


def _claims(comparison: Comparison) -> Table:
    ledgers = {
        i: {r.claim: r for r in merged_ledger(
            [r for (_, impl), r in comparison.results.items() if impl == i])}
        for i in IMPLS
    }  # fmt: skip
    rows: list[list[Text]] = []
    for claim in dict.fromkeys(c for lg in ledgers.values() for c in lg):
        cells: list[Text] = [[claim]]
        for impl in IMPLS:
            row = ledgers[impl].get(claim)
            text = row.judgement.value if row is not None else "not run"
            link = row.link if row is not None else None
            cells.append([Link(text=text, href=link)] if link else [text])
        rows.append(cells)
    return Table(header=["claim", *IMPLS], rows=rows)


def _witnesses(comparison: Comparison) -> list[Block]:
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
    table = [
        [[run], *([" / ".join(x for x in cells.get(n, ("", "")) if x)] for n in names)]
        for run, cells in rows
    ]
    return [
        Heading(level=2, text="The server's counters beside the history's"),
        Paragraph(
            text=[
                "From the deployment's /metrics at the end of each run, as server / history: "
                "a second witness (rescues by separate janitor processes are only in the history)."
            ]
        ),
        Table(header=["run", *names], rows=table),
    ]


def write_compare_report(comparison: Comparison) -> None:
    folder = comparison.folder
    try:
        frames = _frames(comparison)
        throughput_plot(frames, comparison.profiles, IMPLS, folder / "throughput.png")
        latency_plot(frames, comparison.profiles, IMPLS, folder / "latency.png")
    except Exception:  # plots are a courtesy; the tables carry the verdict
        logger.exception("compare plots failed")
    blocks = compare_blocks(comparison)
    (folder / "report.md").write_text(to_markdown(blocks))
    (folder / "index.html").write_text(to_html(blocks, title="qharness compare"))
