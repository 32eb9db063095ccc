"""``harness run``: deploy, load, nemesis, drain, audit, analyze — one command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness import nemesis, profiles
from harness.duration import parse_duration
from harness.errors import ConfigError
from harness.redis_server import Persistence
from harness.run import RunSpec, check_impl, run_once
from reference_queue.errors import QueueError
from reference_queue.settings import Impl, ServeSettings


def add_common(p: argparse.ArgumentParser) -> None:
    """Options shared by ``harness run`` and ``harness compare``."""
    p.add_argument("--duration", metavar="D", help="upper bound on the load, e.g. 30s or 2m "
                   "(default: the profile's run-time; runs stop earlier once drained)")  # fmt: skip
    p.add_argument("--api-procs", type=int, default=2, metavar="N",
                   help="API processes (uvicorn workers); races across processes need N >= 2 "
                   "(default: 2)")  # fmt: skip
    p.add_argument("--nemesis", metavar="FAULTS",
                   help="comma-separated faults: " + ", ".join(k.value for k in nemesis.FaultKind)
                   + ", or none (default: the profile's)")  # fmt: skip
    p.add_argument("--nemesis-interval", type=float, default=8.0, metavar="S",
                   help="seconds between faults (default: 8)")  # fmt: skip
    p.add_argument("--nemesis-duration", type=float, default=3.0, metavar="S",
                   help="how long a pause or outage lasts (default: 3)")  # fmt: skip
    p.add_argument("--persistence", choices=[m.value for m in Persistence], default="none",
                   help="Redis persistence for restart-redis (default: none)")  # fmt: skip
    p.add_argument("--faults", metavar="SPEC",
                   help="deployment fault points, e.g. after_pop=delay:0.05 "
                   "(default: the profile's race-widening points; '' for none)")  # fmt: skip
    p.add_argument("--locust-processes", type=int, default=1, metavar="N",
                   help="Locust worker processes on this machine (default: 1)")  # fmt: skip
    p.add_argument("--seed", type=int, help="seed for the nemesis and the fault points")
    p.add_argument("--rate-limit", metavar="N/s",
                   help="per-worker rate limit of the deployment, e.g. 10/s")  # fmt: skip
    p.add_argument("--breaker-threshold", type=int, default=0, metavar="N",
                   help="open the deployment's Redis circuit breaker after N consecutive "
                   "errors (default: 0, off)")  # fmt: skip
    p.add_argument("--reports", type=Path, default=Path("reports"), metavar="DIR",
                   help="where run folders go (default: reports/)")  # fmt: skip


def register(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="deploy a reference queue, load it with a Locust profile, report the races",
        description="Start an embedded Redis and the reference deployment, run a Locust "
        "profile against it with an optional nemesis, then audit, analyze and write "
        "reports/<timestamp>-<impl>-<profile>/ (reports/latest points at it). "
        "Exit 0 pass, 1 violations, 2 unknown/unreadable, 130 interrupted.",
        epilog="profiles: " + ", ".join(profiles.names()),
    )
    p.add_argument("--impl", required=True, help="naive (the note) or safe (the reference fix)")
    p.add_argument("--profile", default="mixed", metavar="NAME",
                   help="a profile name or a Locust .conf path (default: mixed)")  # fmt: skip
    add_common(p)
    p.set_defaults(handler=run)


def spec_from_args(args: argparse.Namespace, impl: str, profile: profiles.Profile) -> RunSpec:
    plan = nemesis.parse(
        args.nemesis if args.nemesis is not None else profile.nemesis,
        interval=args.nemesis_interval, duration=args.nemesis_duration, seed=args.seed,
    )  # fmt: skip
    if args.api_procs < 1 or args.locust_processes < 1:
        raise ConfigError("--api-procs and --locust-processes must be at least 1")
    spec = RunSpec(
        impl=check_impl(impl), profile=profile, nemesis=plan,
        duration=parse_duration(args.duration, flag="--duration") if args.duration else None,
        api_procs=args.api_procs, persistence=Persistence(args.persistence),
        faults=args.faults, locust_processes=args.locust_processes, seed=args.seed,
        base_dir=args.reports, rate_limit=args.rate_limit,
        breaker_threshold=args.breaker_threshold,
    )  # fmt: skip
    validate_deployment(spec)
    return spec


def validate_deployment(spec: RunSpec) -> None:
    """Bad deployment options fail here, before any folder or process is created."""
    try:
        ServeSettings(
            impl=Impl(spec.impl), lease_timeout=spec.lease_timeout, faults=spec.fault_spec,
            rate_limit=spec.rate_limit, breaker_threshold=spec.breaker_threshold,
        )  # fmt: skip
    except (QueueError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    spec = spec_from_args(args, args.impl, profiles.load(args.profile))
    print(f"harness run: {spec.impl} under {spec.profile.name} "
          f"(lease {spec.lease_timeout:g}s, faults {spec.fault_spec or 'none'}, "
          f"nemesis {','.join(spec.nemesis.faults) or 'none'})", file=sys.stderr)  # fmt: skip
    result = run_once(spec)
    print(result.summary())
    print(f"report: {result.run_dir / 'index.html'}")
    return result.exit_code
