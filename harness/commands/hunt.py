"""``harness hunt``: search a queue's interleavings for races and write a race report.

    harness hunt --impl naive|safe|module:Class [--budget 60s] [--seed N] [--out DIR]
                 [--hypothesis-profile dev|ci|thorough] [--lease-timeout S] [--kind K ...]

Starts its own embedded Redis (``REDIS_URL`` overrides), runs the generic state
machine once per violation kind within the budget, and writes the report folder
(default ``reports/<timestamp>-hunt-<impl>/``). Exit 1 when races were found, 0 when
none, 2 on bad input.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import redis

from harness.checks.verdicts import Kind
from harness.duration import parse_duration
from harness.errors import ConfigError
from harness.exitcodes import ExitCode
from harness.explorer.hunt import HUNTED, HuntPlan, hunt, write_hunt_report
from harness.explorer.hypothesis_profiles import PROFILES, default_profile_name, profile
from harness.queues import queue_class
from harness.redis_server import redis_for
from harness.run_folder import new_run_dir


def register(sub: Any) -> None:
    p = sub.add_parser(
        "hunt",
        help="search interleavings for races (Hypothesis), write a race report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--impl", required=True, help="naive, safe, or module:Class")
    p.add_argument("--budget", default="60s", help="time budget, e.g. 60s, 2m (default 60s)")
    p.add_argument("--seed", type=int, default=0, help="first Hypothesis seed (default 0)")
    p.add_argument(
        "--searches",
        type=int,
        help="bound each kind by work instead of time: N searches (seeds) unless found, no "
        "deadline, so a queue timed by the injected clock gives the same result on a loaded "
        "machine (CI); --budget is ignored",
    )
    p.add_argument("--out", type=Path, help="report folder (default reports/<time>-hunt-<impl>)")
    p.add_argument(
        "--kind",
        action="append",
        choices=[str(k) for k in HUNTED],
        help="hunt only this violation kind (repeatable; default: every kind)",
    )
    p.add_argument("--lease-timeout", type=float, default=30.0, help="lease / age limit (s)")
    p.add_argument(
        "--hypothesis-profile",
        choices=sorted(PROFILES),
        default=None,
        help="settings profile (default: ci under CI=1, else dev)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    queue_class(args.impl)  # ConfigError (exit 2, one line) when it names no queue
    if args.lease_timeout <= 0:
        raise ConfigError("--lease-timeout must be > 0")
    if args.searches is not None and args.searches < 1:
        raise ConfigError("--searches must be at least 1 (or leave it out for a time budget)")
    plan = HuntPlan(
        impl=args.impl,
        budget_s=parse_duration(args.budget, flag="--budget"),
        seed=args.seed,
        settings=profile(args.hypothesis_profile or default_profile_name()),
        lease_timeout=args.lease_timeout,
        kinds=tuple(Kind(k) for k in args.kind) if args.kind else HUNTED,
        searches=args.searches,
    )
    out: Path = args.out or new_run_dir(Path("reports"), f"hunt-{_safe_name(args.impl)}")
    print(
        f"hunting races in {args.impl} ("
        + (
            f"{plan.searches} search(es) per kind"
            if plan.searches
            else f"budget {plan.budget_s:g}s"
        )
        + f", seed {plan.seed})",
        file=sys.stderr,
    )
    with redis_for() as url:
        client = redis.Redis.from_url(url, decode_responses=True)
        try:
            outcome = hunt(client, plan, lambda line: print(f"  {line}", file=sys.stderr))
        finally:
            client.close()
    report = write_hunt_report(out, plan, outcome)
    found = [str(r.target.kind) for r in outcome.results if r.found]
    print(f"{'races found: ' + ', '.join(found) if found else 'no race found'}; report: {report}")
    return ExitCode.VIOLATIONS if found else ExitCode.PASS


def _safe_name(impl: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", impl)
