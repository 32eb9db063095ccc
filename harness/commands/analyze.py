"""`harness analyze RUN_DIR`: check a run's history and write its race report.

``--junit FILE`` and ``--summary-md FILE`` add what a CI system reads
(:mod:`harness.report.ci`).

Exit codes (``harness.exitcodes``): 0 pass, 1 violations, 2 unreadable input or
unknown verdict.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.analyze import analyze_run, read_run_info
from harness.checks import CheckReport, Verdict
from harness.errors import ConfigError
from harness.exitcodes import ExitCode
from harness.report.ci import junit_xml, summary_markdown


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def register(sub: Any) -> None:
    p = sub.add_parser(
        "analyze",
        help="check a run folder's history; write violations.json, report.md, index.html",
        description="Check RUN_DIR/history/*.jsonl and write the race report into RUN_DIR. "
        "Exit 0 pass, 1 violations, 2 unreadable input or unknown verdict.",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument(
        "--lease-timeout",
        type=_positive,
        metavar="S",
        help="lease in seconds when the history has no expires_at (else run.json's)",
    )
    p.add_argument(
        "--top",
        type=int,
        default=5,
        metavar="N",
        help="examples per kind shown in the report (default 5)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--stream",
        action="store_true",
        default=None,
        help="bounded memory: partition the history by task on disk, check each part "
        "(default: automatic when the shards exceed 1/4 of the available memory)",
    )
    mode.add_argument("--no-stream", dest="stream", action="store_false", help="never stream")
    p.add_argument(
        "--cache",
        action="store_true",
        help="also keep the parsed history as RUN_DIR/.history-cache.parquet, so later "
        "analyses (compare, audit, replay, analyze again) skip parsing",
    )
    p.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML for CI")
    p.add_argument(
        "--summary-md", type=Path, metavar="FILE", help="also write a CI job summary (Markdown)"
    )
    p.add_argument(
        "--report-url",
        metavar="URL",
        help="where the summary links the full report (default RUN_DIR/index.html)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.top < 0:
        raise ConfigError("--top must be 0 or more")
    report = analyze_run(
        args.run_dir,
        lease_timeout=args.lease_timeout,
        top=args.top,
        stream=args.stream,
        cache=args.cache,
    )
    print(f"verdict: {report.verdict}")
    for kind, result in report.results.items():
        if result.verdict != Verdict.PASS:
            note = f" ({result.note})" if result.note else ""
            print(f"  {kind}: {result.verdict}, {result.count} tasks{note}")
    claims = report.results.get("double_claim")
    for part in (claims.note if claims is not None else "").split("; "):
        if part.startswith(("lease inferred", "lease not inferred")):
            print(part)
    if report.windows:
        print("windows hit: " + ", ".join(f"{k} {v}" for k, v in report.windows.items()))
    events, ops = report.metrics.get("events", 0), report.metrics.get("ops", 0)
    print(f"events: {events}, ops: {ops}")
    print(f"report: {args.run_dir / 'index.html'}")
    write_ci_outputs(args, report)
    return ExitCode.of(report.verdict)


def write_ci_outputs(args: argparse.Namespace, report: CheckReport) -> None:
    """``--junit`` and ``--summary-md``, when asked for."""
    if args.junit is None and args.summary_md is None:
        return
    run_info, name = read_run_info(args.run_dir), args.run_dir.resolve().name
    if args.junit is not None:
        _write(args.junit, junit_xml(report, run_info=run_info, name=name))
    if args.summary_md is not None:
        link = args.report_url or str(args.run_dir / "index.html")
        _write(
            args.summary_md,
            summary_markdown(report, run_info=run_info, report_link=link, name=name),
        )


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
