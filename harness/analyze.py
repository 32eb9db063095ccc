"""``analyze_run``: a run folder's history, run.json and audit.json -> checks -> report.

Used by ``harness analyze``, ``harness run``, ``harness hunt`` and the scenarios.
Raises :class:`HistoryError` for unreadable input (the CLI turns it into exit 2).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import psutil

from harness.analyze_stream import check_streamed
from harness.checks import Audit, CheckReport, check_history, load_audit
from harness.checks.promises import judged, promise_from_json
from harness.errors import HistoryError
from harness.history import load_history, shard_paths
from harness.history_cache import wait_for_cache
from harness.report import write_report
from harness.report.writer import TOP

logger = logging.getLogger(__name__)

# The in-memory path peaks at about twice the shards' JSONL bytes (benchmarks/RESULTS.md:
# 3.61 GB for 10 M events, ~2 GB of shards); above this share of the memory available
# now (so with a margin of 2x), ``harness analyze`` streams.
STREAM_SHARE = 1 / 4


def should_stream(shards: list[Path]) -> bool:
    """Whether the shards are too big to load at once (psutil's available memory)."""
    total = sum(p.stat().st_size for p in shards)
    return total > psutil.virtual_memory().available * STREAM_SHARE


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """``run.json`` (optional): what the run recorded about itself, e.g. lease_timeout."""
    path = run_dir / "run.json"
    if not path.exists():
        return {}
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise HistoryError(f"{path}: unreadable: {exc}") from exc
    if not isinstance(data, dict):
        raise HistoryError(f"{path}: expected a JSON object")
    return data


def _lease(run_info: dict[str, Any], given: float | None) -> float | None:
    if given is not None:
        return given
    value = run_info.get("lease_timeout")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise HistoryError(f"run.json: lease_timeout must be a positive number, got {value!r}")
    return float(value)


def analyze_run(
    run_dir: Path,
    *,
    lease_timeout: float | None = None,
    top: int = TOP,
    stream: bool | None = None,
    cache: bool = False,
) -> CheckReport:
    """Check a run folder's history and write its report files into the folder.

    ``stream``: check in bounded memory (:mod:`harness.analyze_stream`); None: when
    the shards outweigh :func:`should_stream`'s share of the available memory.
    ``cache``: also write the parsed history's Parquet cache for later loads (a
    current cache is read either way; writing it costs about a tenth of an analysis).
    """
    if not run_dir.is_dir():
        raise HistoryError(f"{run_dir}: not a run folder")
    run_info = read_run_info(run_dir)
    audit_path = run_dir / "audit.json"
    audit: Audit | None = load_audit(audit_path) if audit_path.exists() else None
    drained = run_info.get("drained")
    options: dict[str, Any] = {
        "audit": audit,
        "lease_timeout": _lease(run_info, lease_timeout),
        "drained": drained if isinstance(drained, bool) else None,
    }
    # Judged against the run's declared promise (DESIGN.md §12; exactly-once by default).
    promise = promise_from_json(run_info.get("promise"))
    if stream or (stream is None and should_stream(shard_paths(run_dir))):
        streamed = check_streamed(run_dir, **options, top=top)
        report = judged(streamed.report, promise)
        write_report(
            run_dir,
            None,
            report,
            run_info=run_info,
            top=top,
            lease_given=lease_timeout,
            excerpts=streamed.excerpts,
            plot_data=streamed.plots,
        )
        return report
    frame = load_history(run_dir, write_cache=cache)
    report = judged(check_history(frame, **options), promise)
    write_report(run_dir, frame, report, run_info=run_info, top=top, lease_given=lease_timeout)
    wait_for_cache()
    return report
