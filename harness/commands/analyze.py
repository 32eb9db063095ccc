"""`harness analyze RUN_DIR`: check a run's history and write its race report.

Exit codes (``harness.exitcodes``): 0 pass, 1 violations, 2 unreadable input or
unknown verdict.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.analyze import analyze_run
from harness.checks import Verdict
from harness.errors import ConfigError
from harness.exitcodes import ExitCode


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
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.top < 0:
        raise ConfigError("--top must be 0 or more")
    report = analyze_run(
        args.run_dir, lease_timeout=args.lease_timeout, top=args.top, stream=args.stream
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
    return ExitCode.of(report.verdict)
