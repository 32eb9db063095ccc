"""``harness zoo``: put real Redis task-queue libraries on trial, write one zoo report.

    harness zoo [--libraries rq,celery,...] [--budget-per-library 100s | --searches N]
                [--seed N] [--out DIR] [--kind K ...]
                [--hypothesis-profile zoo|dev|ci|thorough]

For each library (default: all of ``zoo.LIBRARIES``) the interleaving search of
``harness hunt`` runs against the library's adapter within the budget, each finding is
replayed against a fresh Redis before it is reported, and every violation kind is
judged against the library's own documented promise. A library whose adapter or
package is missing is reported "not available", never a crash. Writes
``reports/<time>-zoo/`` (zoo.md, index.html, zoo.json, a sub run per finding).
Exit 1 when some library broke its promise, 0 otherwise, 2 on bad input.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.checks.promises import Standing
from harness.checks.verdicts import Kind
from harness.duration import parse_duration
from harness.errors import ConfigError
from harness.explorer.hunt import HUNTED, HuntPlan
from harness.explorer.hypothesis_profiles import PROFILES, profile
from harness.zoo.report import write_zoo_report
from harness.zoo.trial import SEARCH_WORLD, Trial, try_library

# Library loggers that narrate every job (rq logs each abandoned or finished job, on
# child loggers with levels of their own).
QUIET = ("rq", "rq.worker", "rq.registry", "rq.queue", "rq.job", "celery", "kombu",
         "taskiq", "saq", "bullmq")  # fmt: skip


def register(sub: Any) -> None:
    p = sub.add_parser(
        "zoo",
        help="put real queue libraries on trial against their promises, write a zoo report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--libraries", help="comma-separated names (default: every library)")
    p.add_argument(
        "--budget-per-library",
        default="100s",
        help="e.g. 100s, 2m (default 100s: the five libraries in under 10 minutes)",
    )
    p.add_argument(
        "--searches",
        type=int,
        help="bound each kind by work instead of time: N searches (seeds from --seed) unless "
        "found, no deadline; a seed decides its examples, so the result does not depend on "
        "the machine's load (CI); --budget-per-library is ignored",
    )
    p.add_argument("--seed", type=int, default=0, help="first Hypothesis seed (default 0)")
    p.add_argument("--out", type=Path, help="report folder (default reports/<time>-zoo)")
    p.add_argument(
        "--kind",
        action="append",
        choices=[str(k) for k in HUNTED],
        help="search only this violation kind (repeatable; default: every kind)",
    )
    p.add_argument(
        "--hypothesis-profile",
        choices=sorted(PROFILES),
        default="zoo",
        help="settings profile (default zoo: 100 examples of 40 steps per search)",
    )
    p.set_defaults(handler=run)


def libraries(text: str | None) -> dict[str, str]:
    from zoo import LIBRARIES

    if not text:
        return dict(LIBRARIES)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in LIBRARIES]
    if unknown or not names:
        raise ConfigError(
            f"--libraries {text!r}: unknown {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(LIBRARIES)}"
        )
    return {n: LIBRARIES[n] for n in names}


def run(args: argparse.Namespace) -> int:
    chosen = libraries(args.libraries)
    budget = parse_duration(args.budget_per_library, flag="--budget-per-library")
    if args.searches is not None and args.searches < 1:
        raise ConfigError("--searches must be at least 1 (or leave it out for a time budget)")
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.ERROR)
    out: Path = args.out or Path("reports") / (time.strftime("%Y%m%d-%H%M%S") + "-zoo")
    plan = HuntPlan(
        impl="",
        budget_s=budget,
        seed=args.seed,
        settings=profile(args.hypothesis_profile),
        shrink_seconds=min(10.0, budget / 20),
        kinds=tuple(Kind(k) for k in args.kind) if args.kind else HUNTED,
        config=SEARCH_WORLD,
        searches=args.searches,
    )
    bound = f"{args.searches} search(es) per kind" if args.searches else f"budget {budget:g}s"
    trials: list[Trial] = []
    for library, impl in chosen.items():
        print(f"{library}: on trial ({impl}, {bound})", file=sys.stderr)
        trial = try_library(library, impl, _for(plan, impl), _say)
        trials.append(trial)
        print(f"{library}: {_line(trial)}", file=sys.stderr)
    report = write_zoo_report(out, plan, trials)
    broken = [t.library for t in trials if _broke(t)]
    print(f"{'promises broken: ' + ', '.join(broken) if broken else 'every promise held'}; "
          f"report: {report}")  # fmt: skip
    return 1 if broken else 0


def _for(plan: HuntPlan, impl: str) -> HuntPlan:
    return replace(plan, impl=impl)


def _say(line: str) -> None:
    print(f"  {line}", file=sys.stderr)


def _broke(trial: Trial) -> bool:
    return any(k.confirmed and k.standing is Standing.VIOLATES for k in trial.kinds)


def _line(trial: Trial) -> str:
    if not trial.available:
        return f"not available: {trial.reason}"
    found = [f"{k.kind} ({k.standing})" for k in trial.findings()]
    return f"{', '.join(found) or 'nothing found'} in {trial.elapsed_s:.0f}s"
