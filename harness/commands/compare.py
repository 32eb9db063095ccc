"""``harness compare``: naive vs safe under the same profiles, one side-by-side report."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harness import profiles
from harness.commands.run import add_common, spec_from_args
from harness.compare import DEFAULT_PROFILES, run_compare


def register(sub: Any) -> None:
    p = sub.add_parser(
        "compare",
        help="run the same profiles against naive and safe; one side-by-side report",
        description="For each profile, run the naive queue (the design note) and the safe "
        "reference queue under identical load, faults and nemesis, then write "
        "reports/<timestamp>-compare/index.html (reports/latest points at it). "
        "Exit 0 when safe held everywhere, 1 when safe failed, 2 when a run was unknown.",
        epilog="profiles: " + ", ".join(profiles.names()),
    )
    p.add_argument("--profiles", default=",".join(DEFAULT_PROFILES), metavar="A,B,...",
                   help=f"profiles to run (default: {','.join(DEFAULT_PROFILES)})")  # fmt: skip
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.profiles.split(",") if n.strip()]
    loaded = [profiles.load(n) for n in names]  # fail fast on a bad name (exit 2)
    spec_from_args(args, "safe", loaded[0])  # validate the shared options up front

    def announce(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    comparison = run_compare(
        [p.name for p in loaded], lambda impl, prof: spec_from_args(args, impl, prof),
        args.reports, announce,
    )  # fmt: skip
    print((comparison.folder / "report.md").read_text().split("## Verdicts")[0].strip())
    print(f"report: {comparison.folder / 'index.html'}")
    return comparison.exit_code
