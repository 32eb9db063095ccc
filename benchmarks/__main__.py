"""Run every benchmark, then write ``benchmarks/RESULTS.md`` (+ ``results.json``).

    python -m benchmarks            # everything (~20 minutes on 2 cores)
    python -m benchmarks --quick    # smaller sizes, for a first look (~5 minutes)
    python -m benchmarks --table    # only rebuild RESULTS.md from benchmarks/out/*.json

Each benchmark runs in its own process and measures its baseline in the same run, on
the same machine; every figure in the table is a ratio against that baseline. The
machine's load average is recorded beside the table: these machines are shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
OUT = HERE / "out"
SCALING_USERS = (10, 50, 100, 200)
SCALING_EVENTS = (100_000, 1_000_000, 10_000_000)


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    area: str
    figure: str
    value: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None


def run(module: str, *args: str, save_as: str | None = None) -> None:
    """Run ``python -m benchmarks.<module>``; keep a copy of its JSON under ``save_as``."""
    cmd = [sys.executable, "-m", f"benchmarks.{module}", *args]
    print(f"\n$ {' '.join(cmd[1:])}", flush=True)
    began = time.monotonic()
    code = subprocess.run(cmd, check=False).returncode
    print(f"  ({time.monotonic() - began:.0f} s, exit {code})", flush=True)
    if save_as and (OUT / f"{module}.json").exists():
        shutil.copy(OUT / f"{module}.json", OUT / save_as)


def run_all(quick: bool) -> None:
    OUT.mkdir(exist_ok=True)
    run("redis_ceiling", "--tasks", "30000" if quick else "100000")
    for users in SCALING_USERS if not quick else (10, 50):
        run("api", "--users", str(users), "--rounds", "1", "--seconds", "8",
            "--targets", "bare,naive,safe", save_as=f"api-users-{users}.json")  # fmt: skip
    run("api", "--seconds", "8" if quick else "10", "--rounds", "2" if quick else "3")
    run("recording", "--rounds", "4" if quick else "6")
    for events in SCALING_EVENTS[:2] if quick else SCALING_EVENTS:
        run("analyzer", "--events", str(events), save_as=f"analyzer-{events}.json")
    run("explorer", "--seeds", "3" if quick else "5")
    run("verify", *(["--safe-budget", "120"] if quick else []))


def _load(name: str) -> dict[str, Any] | None:
    path = OUT / name
    return json.loads(path.read_text()) if path.exists() else None


def _r(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(x, digits)


def rows_ceiling(d: dict[str, Any]) -> list[Row]:
    if "lua_claim_per_s" not in d:
        return []
    ratio = d["safe_ops_per_s"] / d["lua_claim_per_s"]
    return [Row(area="Redis", figure=f"safe queue claim+complete ops/s ({d['clients']} clients)",
                value=f"{d['safe_ops_per_s']:,.0f}",
                baseline=f"redis-benchmark EVALSHA claim {d['lua_claim_per_s']:,.0f}/s",
                ratio=_r(ratio), target="≥ 0.5", met=ratio >= 0.5)]  # fmt: skip


def rows_api(d: dict[str, Any]) -> list[Row]:
    med = d["median_pairs_per_s"]
    safe, bare, naive = med.get("safe"), med.get("bare"), med.get("naive")
    out = []
    p = {t: d["runs"][t][0] for t in d.get("runs", {}) if d["runs"][t]}
    lat = " / ".join(f"{t} p50 {p[t]['claim_p50_ms']:.0f} p99 {p[t]['claim_p99_ms']:.0f} ms"
                     for t in ("safe", "naive", "bare") if t in p)  # fmt: skip
    if safe and bare:
        out.append(Row(area="HTTP API", figure="safe claim+complete pairs/s",
                       value=f"{safe:,.0f}", baseline=f"bare FastAPI {bare:,.0f}/s",
                       ratio=_r(safe / bare), target="≥ 0.8", met=safe / bare >= 0.8))  # fmt: skip
    if safe and naive:
        out.append(Row(area="HTTP API", figure="safe vs naive pairs/s", value=f"{safe:,.0f}",
                       baseline=f"naive {naive:,.0f}/s", ratio=_r(safe / naive),
                       target="≥ 1.5", met=safe / naive >= 1.5))  # fmt: skip
    if lat:
        out.append(Row(area="HTTP API", figure="claim latency (first round)", value=lat,
                       baseline="", ratio=None, target="", met=None))  # fmt: skip
    return out


def rows_recording(d: dict[str, Any]) -> list[Row]:
    return [Row(area="Recording", figure="Locust req/s with history recording",
                value=f"{d['median_rps_with']:,.0f}",
                baseline=f"same profile, --no-record {d['median_rps_without']:,.0f}/s",
                ratio=_r(d["ratio"], 3), target="≥ 0.95", met=d["ratio"] >= 0.95)]  # fmt: skip


def _vs_readers(d: dict[str, Any]) -> list[Row]:
    """The analyzer against the fastest NDJSON reader measured in the same run."""
    if "fastest_reader" not in d:
        return []
    timed = [r for r in d["readers"] if r["available"]]
    cheapest = min(timed, key=lambda r: r["cpu_seconds"])
    wall = f"fastest reader, {d['fastest_reader']}: {d['fastest_reader_ev_s']:,.0f}/s"
    cpu = f"cheapest reader, {cheapest['reader']}: {cheapest['cpu_seconds']:.1f} s CPU"
    cpu_s = d["analyzer"]["end_to_end_cpu_s"]
    ratio, cpu_ratio = d["vs_fastest_reader"], cheapest["cpu_seconds"] / cpu_s
    return [
        Row(area="Analyzer", figure=f"end-to-end events/s ({d['events']:,} events, JSONL shards)",
            value=f"{d['end_to_end_ev_s']:,.0f}", baseline=wall, ratio=_r(ratio),
            target="≥ 0.8", met=ratio >= 0.8),
        Row(area="Analyzer", figure="end to end vs cheapest reader (CPU time)",
            value=f"{cpu_s:.1f} s CPU", baseline=cpu, ratio=_r(cpu_ratio), target="≥ 0.8",
            met=cpu_ratio >= 0.8),
        *_vs_strict(d, timed),
    ]  # fmt: skip


def _vs_strict(d: dict[str, Any], timed: list[dict[str, Any]]) -> list[Row]:
    """The fastest reader that refuses what the analyzer must refuse (no target): its
    time against the fastest reader's bounds any strict analyzer's ratio to it."""
    strict = [r for r in timed if r.get("strict")]
    if not strict:
        return []
    best = min(strict, key=lambda r: r["seconds"])
    fastest = min(timed, key=lambda r: r["seconds"])
    bound = fastest["seconds"] / best["seconds"]
    return [
        Row(area="Analyzer", figure="fastest strict reader vs fastest reader (wall): the "
            "most a strict analyzer can reach", value=f"{best['reader']}: "
            f"{best['seconds']:.1f} s", baseline=f"{fastest['reader']}: "
            f"{fastest['seconds']:.1f} s", ratio=_r(bound), target="—", met=None),
        Row(area="Analyzer", figure="end to end vs fastest strict reader (wall)",
            value=f"{d['analyzer']['end_to_end_s']:.1f} s", baseline=f"{best['reader']}: "
            f"{best['seconds']:.1f} s", ratio=_r(d["vs_fastest_strict_reader"]), target="—",
            met=None),
    ]  # fmt: skip


def rows_analyzer(d: dict[str, Any]) -> list[Row]:
    ref = d.get("reference") or {}
    ana = d["analyzer"]
    rows = _vs_readers(d)
    if ref:
        cpu_ratio = ref["reference_cpu_s"] / ana["end_to_end_cpu_s"]
        rows.append(
            Row(area="Analyzer", figure="end-to-end vs pure-Python reference (CPU time)",
                value=f"{ana['end_to_end_cpu_s']:.1f} s CPU ({ana['end_to_end_s']:.1f} s wall)",
                baseline=f"reference {ref['reference_cpu_s']:.1f} s CPU "
                f"({ref['reference_s']:.1f} s wall; wall ratio {d['vs_reference']:.1f})",
                ratio=_r(cpu_ratio), target="≥ 5", met=cpu_ratio >= 5)
        )  # fmt: skip
    rows.append(
        Row(area="Analyzer", figure="checks alone, events/s", value=f"{d['checks_ev_s']:,.0f}",
            baseline="target 5,000,000/s", ratio=_r(d["checks_ev_s"] / 5e6), target="≥ 1.0",
            met=d["checks_ev_s"] >= 5e6)
    )  # fmt: skip
    rows.append(
        Row(area="Analyzer", figure="peak memory", value=f"{d['peak_gb']:.2f} GB",
            baseline="limit 4 GB", ratio=_r(d["peak_gb"] / 4), target="≤ 1.0",
            met=d["peak_gb"] <= 4)
    )  # fmt: skip
    return rows


def rows_explorer(d: dict[str, Any]) -> list[Row]:
    steps = d["steps"]
    out = [Row(area="Interleavings", figure="state-machine steps/s (safe, embedded Redis)",
               value=f"{steps['steps_per_s']:,.0f}", baseline="target 2,000/s",
               ratio=_r(steps["steps_per_s"] / 2000), target="≥ 1.0",
               met=steps["steps_per_s"] >= 2000)]  # fmt: skip
    for name, race in d["races"].items():
        first = race.get("median_first_s")
        out.append(Row(
            area="Interleavings", figure=f"time to first counterexample: {name}",
            value=f"found in {race['found']} of {race['seeds']} seeds" if first is None
            else f"{first:.2f} s (median of {race['seeds']}; found in {race['found']})",
            baseline=f"target {d['targets']['first_s']:g} s", ratio=race.get("ratio_to_target"),
            target="≤ 1.0", met=first is not None and first <= d["targets"]["first_s"],
        ))  # fmt: skip
    return out


def rows_verify(d: dict[str, Any]) -> list[Row]:
    safe = d["safe"]
    out = [Row(area="Verify", figure="safe, 2 workers 2 janitors 2 tasks: depth fully explored",
               value=f"{safe['depth_done']} ({safe['states']:,} states, {safe['seconds']:.0f} s, "
               f"{safe['states_per_s']:,.0f} states/s)", baseline="target depth 10 in 600 s",
               ratio=_r(safe["depth_done"] / 10), target="≥ 1.0",
               met=safe["depth_done"] >= 10)]  # fmt: skip
    races = d["naive_races"]["races"]
    times = [r["found_after_s"] for r in races.values()]
    all_found = all(t is not None for t in times)
    last = max(t for t in times if t is not None) if any(times) else None
    depths = ", ".join(f"{n.split()[0]} {r['depth']}" for n, r in races.items())
    out.append(Row(area="Verify", figure="naive races F1, F4/F5, F6, F7, F8 at minimal depth",
                   value=f"all by {last:.1f} s (depths {depths})" if all_found and last is not None
                   else f"{sum(t is not None for t in times)} of {len(times)} found",
                   baseline="target 60 s in all", ratio=_r(last / 60) if last else None,
                   target="≤ 1.0", met=all_found and last is not None and last <= 60))  # fmt: skip
    red = d["reductions"]
    plain, both = red["plain"], red["cache+reduce"]
    out.append(Row(area="Verify", figure="steps taken, visited set + reductions vs plain search "
                   "(naive, same states and violations)", value=f"{both['steps']:,}",
                   baseline=f"plain {plain['steps']:,}",
                   ratio=_r(both["steps"] / plain["steps"], 3),
                   target="< 1.0", met=both["steps"] < plain["steps"]))  # fmt: skip
    return out


def rows_replay(d: dict[str, Any]) -> list[Row]:
    n = len(d["replays"])
    return [Row(area="Replay", figure=f"load-run violations reproduced step by step ({n} replayed)",
                value=f"{d['share']:.0%}", baseline="target 90 %", ratio=_r(d["share"] / 0.9),
                target="≥ 1.0", met=d["share"] >= 0.9)]  # fmt: skip


SOURCES: list[tuple[str, Callable[[dict[str, Any]], list[Row]]]] = [
    ("redis_ceiling.json", rows_ceiling),
    ("api.json", rows_api),
    ("recording.json", rows_recording),
    ("analyzer.json", rows_analyzer),
    ("explorer.json", rows_explorer),
    ("verify.json", rows_verify),
    ("replay.json", rows_replay),
]


def scaling_plot() -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    users = [(u, _load(f"api-users-{u}.json")) for u in SCALING_USERS]
    users = [(u, d) for u, d in users if d]
    sizes = [(n, _load(f"analyzer-{n}.json")) for n in SCALING_EVENTS]
    sizes = [(n, d) for n, d in sizes if d]
    if not users and not sizes:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for target in ("bare", "safe", "naive"):
        pts = [(u, d["median_pairs_per_s"].get(target)) for u, d in users]
        pts = [(u, v) for u, v in pts if v]
        if pts:
            left.plot(*zip(*pts, strict=True), marker="o", label=target)
    left.set(xlabel="Locust users", ylabel="claim+complete pairs/s", title="HTTP API vs load")
    left.legend()
    for key, label in (("end_to_end_ev_s", "end to end"), ("checks_ev_s", "checks alone")):
        pts = [(n, d[key]) for n, d in sizes if key in d]
        if pts:
            right.plot(*zip(*pts, strict=True), marker="o", label=label)
    right.set(xscale="log", yscale="log", xlabel="history events", ylabel="events/s",
              title="Analyzer vs history size")  # fmt: skip
    right.legend()
    fig.tight_layout()
    fig.savefig(HERE / "scaling.png", dpi=90)
    plt.close(fig)
    return "scaling.png"


def machine() -> str:
    load = os.getloadavg()
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at table time"
    )


def write_table() -> list[Row]:
    rows: list[Row] = []
    for name, extract in SOURCES:
        data = _load(name)
        if data is None:
            continue
        try:
            rows += extract(data)
        except (KeyError, TypeError, ZeroDivisionError) as exc:
            print(f"  {name}: cannot read ({exc!r}); run its benchmark again", file=sys.stderr)
    plot = scaling_plot()
    mark = {True: "✅ met", False: "❌ missed", None: "—"}
    lines = ["# Benchmark results", "", f"Machine: {machine()}.", "",
             "Reproduce: `make bench` (or `.venv/bin/python -m benchmarks`). Every ratio is "
             "against a baseline measured in the same run.", "",
             "| area | figure | value | baseline | ratio | target | |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:g}"
        lines.append(f"| {r.area} | {r.figure} | {r.value} | {r.baseline} | {ratio} | "
                     f"{r.target} | {mark[r.met]} |")  # fmt: skip
    if plot:
        lines += ["", f"![scaling]({plot})"]
    notes = HERE / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    (HERE / "results.json").write_text(json.dumps([asdict(r) for r in rows], indent=2))
    print("\n".join(lines))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (~5 minutes)")
    parser.add_argument("--table", action="store_true", help="only rebuild RESULTS.md")
    args = parser.parse_args()
    if not args.table:
        run_all(args.quick)
    write_table()


if __name__ == "__main__":
    main()
