"""``harness verify``: every interleaving up to a depth, or the shortest counterexample.

    harness verify --impl naive|safe|module:Class [--workers 2] [--janitors 2]
                   [--tasks 2] [--depth 6] [--kind KIND[/OP] ...] [--lease-timeout S]
                   [--out FILE] [--no-cache] [--no-reduce] [--exact]

Starts its own embedded Redis (``REDIS_URL`` overrides) and searches breadth-first
(``harness.verify.engine``). Prints either "no violation in all K distinct states up to
depth N (...)" or each target's shortest counterexample as the note's table with a
pasteable regression test (to ``--out`` as well, when given). ``--kind`` narrows what
counts as a violation (repeatable: the search goes on until each has a counterexample;
``KIND/OP`` also requires the step that exposed it, e.g. ``resurrection/rescue``).
States are counted up to the fingerprint's abstractions (interchangeable workers and
janitors, times relative to now, what the queue declares write-only:
``harness.verify.fingerprint``); ``--exact`` tells every state apart (slower, same
verdicts). Progress (states/s, frontier) goes to stderr. Exit 0 none, 1 violation, 2 bad input,
130 interrupted (after saying how far it got).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import redis

from harness.checks.verdicts import Kind
from harness.errors import ConfigError
from harness.exitcodes import ExitCode
from harness.explorer.machine import queue_factory
from harness.explorer.oracle import Target
from harness.redis_server import redis_for
from harness.verify.engine import Bounds, Progress, Verifier
from harness.verify.fingerprint import EXACT, FULL
from harness.verify.story import tell, verdict_line


def register(sub: Any) -> None:
    p = sub.add_parser(
        "verify",
        help="explore every interleaving up to a depth (bounded model checking)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--impl", required=True, help="naive, safe, or module:Class")
    p.add_argument("--workers", type=int, default=2, help="worker actors (default 2)")
    p.add_argument("--janitors", type=int, default=2, help="janitor actors (default 2)")
    p.add_argument("--tasks", type=int, default=2, help="tasks submitted first (default 2)")
    p.add_argument("--depth", type=int, default=6, help="steps after the setup (default 6)")
    p.add_argument("--kind", action="append", help="KIND or KIND/OP (repeatable; default any)")
    p.add_argument("--lease-timeout", type=float, default=30.0, help="lease / age limit (s)")
    p.add_argument("--out", type=Path, help="also write the report (markdown) here")
    p.add_argument("--no-cache", action="store_true", help="no visited set (plain search)")
    p.add_argument("--no-reduce", action="store_true", help="no partial-order reduction")
    p.add_argument(
        "--exact", action="store_true", help="no abstraction: tell every state apart (slower)"
    )
    p.set_defaults(handler=run)


def parse_target(text: str) -> Target:
    """``KIND`` or ``KIND/OP`` -> a target; :class:`ConfigError` otherwise."""
    kind, _, op = text.partition("/")
    try:
        return Target(kind=Kind(kind), op=op or None)
    except ValueError as exc:
        known = ", ".join(str(k) for k in Kind)
        raise ConfigError(
            f"--kind {text!r}: expected KIND or KIND/OP, KIND one of {known}"
        ) from exc


def bounds_from(args: argparse.Namespace) -> Bounds:
    for name in ("workers", "janitors", "tasks", "depth"):
        if getattr(args, name) < (0 if name == "janitors" else 1):
            raise ConfigError(f"--{name} {getattr(args, name)}: too small")
    if args.lease_timeout <= 0:
        raise ConfigError("--lease-timeout must be > 0")
    targets = tuple(parse_target(k) for k in args.kind) if args.kind else (Target(),)
    return Bounds(
        workers=args.workers,
        janitors=args.janitors,
        tasks=args.tasks,
        depth=args.depth,
        targets=targets,
        cache=not args.no_cache,
        reduce=not args.no_reduce,
        abstraction=EXACT if args.exact else FULL,
    )


def run(args: argparse.Namespace) -> int:
    bounds = bounds_from(args)
    factory = queue_factory(args.impl, lease_timeout=args.lease_timeout)  # bad --impl: exit 2
    with redis_for() as url:
        client = redis.Redis.from_url(url, decode_responses=True)
        try:
            verifier = Verifier(client, factory, bounds)
            outcome = verifier.run(_progress)
            verifier.close()
            print(verdict_line(outcome))
            stories = [
                tell(client, factory, outcome, c, impl=args.impl, lease_timeout=args.lease_timeout)
                for c in outcome.found
            ]
        finally:
            client.close()
    for story in stories:
        print("\n" + story)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join([f"# `harness verify --impl {args.impl}`", "",
                                       verdict_line(outcome), "", *stories]))  # fmt: skip
    if outcome.interrupted:
        return ExitCode.INTERRUPTED
    return ExitCode.VIOLATIONS if outcome.found else ExitCode.PASS


def _progress(p: Progress) -> None:
    rate = p.states / p.elapsed_s if p.elapsed_s else 0.0
    print(
        f"  depth {p.depth}: {p.states} states ({rate:.0f}/s), {p.transitions} steps, "
        f"frontier {p.frontier}, {p.elapsed_s:.0f}s",
        file=sys.stderr,
        flush=True,
    )
