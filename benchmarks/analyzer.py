"""Benchmark: `harness analyze` on a synthetic history vs the fastest NDJSON reader.

    python -m benchmarks.analyzer --events 10000000

Synthesises (once, cached under benchmarks/out/, or ``--out DIR``) a history with a
known number of each violation, then measures, each in a fresh process and on the same
files: every installed NDJSON reader (pyarrow always; polars and DuckDB when installed
— the ``bench`` extra), ``harness analyze RUN_DIR`` end to end as a command (its
interpreter start and imports, parse, checks, report and plots: CPU and peak memory
from the child's own rusage), the checks alone on the loaded frame, a cached reload,
and the line-by-line pure-Python reference. Prints the analyzer's ratio to the
fastest reader (wall time) and to the cheapest reader and the reference (CPU time,
robust to other load on the machine) against the targets, and writes
benchmarks/out/analyzer.json. Beside them, for information: the fastest *strict* reader
(one that refuses the wrong JSON types the analyzer refuses, probed in the same child:
``benchmarks._readers.probe_strictness``) and the analyzer's ratio to it. ``--stream``
measures ``harness analyze --stream`` alone (for histories larger than memory:
``--events 100000000 --out /big/disk --stream``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks import _reference, _synth
from benchmarks._readers import READERS, measure_reader

OUT = Path(__file__).parent / "out"
TARGETS = {
    "vs_fastest_reader": 0.8,
    "vs_fastest_reader_cpu": 0.8,
    "vs_reference_cpu": 5.0,
    "checks_ev_s": 5e6,
    "peak_gb": 4.0,
}
LEASE = 30.0
STREAM_PEAK_GB = 8.0  # `harness analyze --stream` of 100 M events


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB


def run_command(args: list[str]) -> dict[str, Any]:
    """``python -m harness ARGS`` in a child: wall, CPU (user + system) and peak RSS of
    that child alone (``os.wait4``), its exit code and its last output line."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "harness", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert child.stdout is not None
    out = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": time.perf_counter() - start,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_gb": usage.ru_maxrss / 1024**2,  # KiB -> GiB
        "exit": child.returncode,
        "output": out.strip().splitlines()[-3:],
    }


def measure_analyzer(run_dir: str) -> dict[str, Any]:
    from harness.checks import check_history
    from harness.history import load_history
    from harness.history_cache import CACHE_NAME, wait_for_cache

    path = Path(run_dir)
    (path / CACHE_NAME).unlink(missing_ok=True)
    command = run_command(["analyze", "--no-stream", run_dir])
    counts = json.loads((path / "violations.json").read_text())["counts"]
    verdict = json.loads((path / "violations.json").read_text())["verdict"]
    load_history(path)  # writes the cache
    wait_for_cache()
    start = time.perf_counter()
    frame = load_history(path)
    cached_load = time.perf_counter() - start
    (path / CACHE_NAME).unlink(missing_ok=True)
    best, best_cpu = float("inf"), float("inf")
    for _ in range(3):
        start, cpu = time.perf_counter(), time.process_time()
        check_history(frame, lease_timeout=LEASE, drained=True)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return {
        "events": len(frame),
        "end_to_end_s": command["wall_s"],
        "end_to_end_cpu_s": command["cpu_s"],
        "exit": command["exit"],
        "cached_load_s": cached_load,
        "checks_s": best,
        "checks_cpu_s": best_cpu,
        "counts": counts,
        "verdict": verdict,
        "peak_gb": command["peak_gb"],  # the analyze command's own peak
    }


def measure_streamed(run_dir: Path) -> dict[str, Any]:
    """``harness analyze --stream`` as a command: events, wall, CPU, peak RSS."""
    command = run_command(["analyze", "--stream", str(run_dir)])
    document = json.loads((run_dir / "violations.json").read_text())
    return {
        "events": document["metrics"]["events"],
        "wall_s": command["wall_s"],
        "cpu_s": command["cpu_s"],
        "peak_gb": command["peak_gb"],
        "exit": command["exit"],
        "counts": document["counts"],
        "verdict": document["verdict"],
    }


def measure_reference(run_dir: str) -> dict[str, Any]:
    start, cpu = time.perf_counter(), time.process_time()
    counts = _reference.check(_reference.load_ops(Path(run_dir)), LEASE)
    return {
        "reference_s": time.perf_counter() - start,
        "reference_cpu_s": time.process_time() - cpu,
        "counts": counts,
        "peak_gb": _peak_gb(),
    }


def _in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *map(str, args)).result()


def measure_readers(run_dir: Path) -> dict[str, Any]:
    """Every installed reader on the shards, each in a fresh process; the fastest wins."""
    readers = [_in_child(measure_reader, name, run_dir) for name in READERS]
    timed = [r for r in readers if r["available"]]
    fastest = min(timed, key=lambda r: r["seconds"])
    strict = [r for r in timed if r["strict"]]
    fastest_strict = min(strict, key=lambda r: r["seconds"]) if strict else None
    return {"readers": readers, "fastest": fastest, "fastest_strict": fastest_strict}


def prepare(
    events: int, planted: int, regenerate: bool, out: Path = OUT
) -> tuple[Path, dict[str, int]]:
    run_dir = out / f"history-{events}"
    meta = run_dir / "planted.json"
    if regenerate or not meta.exists():
        shutil.rmtree(run_dir, ignore_errors=True)
        start = time.perf_counter()
        counts = _synth.synthesize(run_dir, events, planted=planted)
        meta.write_text(json.dumps(counts))
        (run_dir / "run.json").write_text(json.dumps({"drained": True, "lease_timeout": LEASE}))
        print(f"synthesised {events:,} events in {time.perf_counter() - start:.1f} s")
    return run_dir, json.loads(meta.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--planted", type=int, default=100, help="violations planted per kind")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument(
        "--stream", action="store_true", help="measure only `harness analyze --stream`"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT,
        help="where the history is generated (default: %(default)s)",
    )
    args = parser.parse_args()
    run_dir, planted = prepare(args.events, args.planted, args.regenerate, args.out)
    if args.stream:
        streamed = measure_streamed(run_dir)
        streamed["load_average_1min"] = os.getloadavg()[0]
        print(json.dumps({"planted": planted, "streamed": streamed}, indent=2))
        ok = "OK" if streamed["peak_gb"] <= STREAM_PEAK_GB else "MISSED"
        print(f"  streamed peak memory {streamed['peak_gb']:.2f} GB  "
              f"target ≤ {STREAM_PEAK_GB} GB  {ok}")  # fmt: skip
        OUT.mkdir(exist_ok=True)
        (OUT / f"analyzer-stream-{args.events}.json").write_text(json.dumps(streamed, indent=2))
        return
    readers = measure_readers(run_dir)
    fast = _in_child(measure_analyzer, run_dir)
    ref = None if args.skip_reference else _in_child(measure_reference, run_dir)
    n = fast["events"]
    fastest = readers["fastest"]
    result: dict[str, Any] = {
        "events": n,
        "planted": planted,
        "analyzer": fast,
        "reference": ref,
        "readers": readers["readers"],
        "fastest_reader": fastest["reader"],
        "fastest_reader_ev_s": n / fastest["seconds"],
        "vs_fastest_reader": fastest["seconds"] / fast["end_to_end_s"],
        # CPU time too: on a shared machine wall time is mostly waiting for a core
        "vs_fastest_reader_cpu": min(r["cpu_seconds"] for r in readers["readers"] if r["available"])
        / fast["end_to_end_cpu_s"],
        "end_to_end_ev_s": n / fast["end_to_end_s"],
        **_strict_ratios(readers["fastest_strict"], fast),
        "checks_ev_s": n / fast["checks_s"],
        "cached_load_ev_s": n / fast["cached_load_s"],
        "peak_gb": fast["peak_gb"],
        "load_average_1min": os.getloadavg()[0],
        "cpus": os.cpu_count(),
    }
    if ref is not None:
        result["reference_ev_s"] = n / ref["reference_s"]
        result["vs_reference"] = ref["reference_s"] / fast["end_to_end_s"]
        result["vs_reference_cpu"] = ref["reference_cpu_s"] / fast["end_to_end_cpu_s"]
    _print(result, planted)
    OUT.mkdir(exist_ok=True)
    (OUT / "analyzer.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {OUT / 'analyzer.json'}")


def _strict_ratios(strict: dict[str, Any] | None, fast: dict[str, Any]) -> dict[str, Any]:
    """The analyzer against the fastest reader that is as strict as it must be (info)."""
    if strict is None:
        return {}
    return {
        "fastest_strict_reader": strict["reader"],
        "vs_fastest_strict_reader": strict["seconds"] / fast["end_to_end_s"],
        "vs_fastest_strict_reader_cpu": strict["cpu_seconds"] / fast["end_to_end_cpu_s"],
    }


def _print(result: dict[str, Any], planted: dict[str, int]) -> None:
    print(f"events: {result['events']:,}")
    for reader in result["readers"]:
        if reader["available"]:
            rate = result["events"] / reader["seconds"]
            lax = ", ".join(reader["accepts_wrong_types"])
            strictness = "strict" if reader["strict"] else f"accepts {lax}"
            print(f"  reader {reader['reader']:38} {rate:>12,.0f} ev/s wall "
                  f"({reader['seconds']:.1f} s, {reader['cpu_seconds']:.1f} s CPU; "
                  f"{strictness})")  # fmt: skip
        else:
            print(f"  reader {reader['reader']:38} not installed")
    ana = result["analyzer"]
    print(f"  analyzer end to end {result['end_to_end_ev_s']:>12,.0f} ev/s wall "
          f"({ana['end_to_end_s']:.1f} s, {ana['end_to_end_cpu_s']:.1f} s CPU)")  # fmt: skip
    print(f"  baseline: {result['fastest_reader']}")
    if "fastest_strict_reader" in result:
        print(f"  fastest strict reader: {result['fastest_strict_reader']}; analyzer / it: "
              f"{result['vs_fastest_strict_reader']:.2f} wall, "
              f"{result['vs_fastest_strict_reader_cpu']:.2f} CPU (no target)")  # fmt: skip
    for key, target in TARGETS.items():
        if key not in result:
            continue
        value = result[key]
        ok = value <= target if key == "peak_gb" else value >= target
        bound = "≤" if key == "peak_gb" else "≥"
        verdict = "OK" if ok else "MISSED"
        print(f"  {key:18} {value:>14,.2f}  target {bound} {target:,}  {verdict}")
    print(f"  cached reload    {result['cached_load_ev_s']:>14,.0f} ev/s")
    if "reference_ev_s" in result:
        rate = result["reference_ev_s"]
        print(f"  reference        {rate:>14,.0f} ev/s (pure Python, orjson per line)")
    counts = result["analyzer"]["counts"]
    for kind, n in planted.items():
        ref = (
            (result["reference"] or {}).get("counts", {}).get(kind, 0)
            if result["reference"]
            else "-"
        )
        print(f"  {kind:22} planted {n:5}  analyzer {counts.get(kind, 0):5}  reference {ref}")


if __name__ == "__main__":
    main()
