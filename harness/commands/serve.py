"""``harness serve``: run the reference deployment until Ctrl-C (DESIGN.md section 8a).

Prints the base URL (``http://127.0.0.1:PORT``) alone on the first line of stdout as
soon as the API answers, then blocks; SIGINT or SIGTERM stops every process it started.
Keys default to ``QHARNESS_API_KEY`` / ``QHARNESS_ADMIN_KEY``; ``REDIS_URL`` means "use
that Redis" instead of an embedded one.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from harness.errors import ConfigError
from harness.exitcodes import ExitCode
from harness.redis_server import Persistence
from harness.servers import Deployment
from harness.settings import from_env
from reference_queue.errors import QueueError
from reference_queue.settings import ServeSettings


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run a reference deployment (Redis + API + janitors) until Ctrl-C",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--impl", choices=("naive", "safe"), default="safe")
    p.add_argument(
        "--api-procs",
        type=int,
        default=2,
        help="uvicorn worker processes (>= 2 for cross-process races)",
    )
    p.add_argument("--janitors", type=int, default=1, help="janitor processes")
    p.add_argument("--janitor-interval", type=float, default=1.0, help="seconds between sweeps")
    p.add_argument(
        "--api-janitor-interval", type=float,
        help="also run a janitor thread inside each API process, every S seconds",
    )  # fmt: skip
    p.add_argument(
        "--lease-timeout", type=float, default=30.0, help="safe: lease; naive: janitor age limit"
    )
    p.add_argument("--max-attempts", type=int, default=5, help="safe: dead-letter after N claims")
    p.add_argument("--port", type=int, help="API port (default: a free one)")
    p.add_argument(
        "--faults", default="", help="e.g. after_pop=delay:0.05,before_complete=abort@0.01"
    )
    p.add_argument("--api-key", help="require Authorization: Bearer KEY (env QHARNESS_API_KEY)")
    p.add_argument("--admin-key", help="enable POST /admin/janitor/run (env QHARNESS_ADMIN_KEY)")
    p.add_argument("--history-dir", type=Path, help="janitors record their rescues here")
    p.add_argument(
        "--persistence", choices=[str(x) for x in Persistence], default="none",
        help="embedded Redis persistence",
    )  # fmt: skip
    p.add_argument(
        "--rate-limit", metavar="N/UNIT",
        help="per-worker limit on claim/complete/fail/heartbeat, e.g. 10/s, 600/m (429 over it)",
    )  # fmt: skip
    p.add_argument(
        "--breaker-threshold", type=int, default=0, metavar="N",
        help="open the Redis circuit breaker after N consecutive Redis errors (0: off)",
    )  # fmt: skip
    p.add_argument(
        "--breaker-cooldown", type=float, default=1.0, metavar="S",
        help="seconds the breaker stays open before a half-open probe",
    )  # fmt: skip
    p.add_argument("--log-level", default="warning", help="API and janitor log level")
    p.add_argument("--log-dir", type=Path, help="keep the processes' logs here")
    p.set_defaults(handler=run)


def settings_from(args: argparse.Namespace) -> ServeSettings:
    env = from_env()
    try:
        return ServeSettings(
            impl=args.impl,
            lease_timeout=args.lease_timeout,
            max_attempts=args.max_attempts,
            api_key=args.api_key or env.api_key,
            admin_key=args.admin_key or env.admin_key,
            faults=args.faults,
            janitor_interval=args.api_janitor_interval,
            log_level=args.log_level,
            rate_limit=args.rate_limit,
            breaker_threshold=args.breaker_threshold,
            breaker_cooldown=args.breaker_cooldown,
        )
    except QueueError as exc:
        raise ConfigError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    if args.api_procs < 1 or args.janitors < 0 or args.janitor_interval <= 0:
        raise ConfigError("--api-procs must be >= 1, --janitors >= 0, --janitor-interval > 0")
    deployment = Deployment(
        settings_from(args),
        api_procs=args.api_procs,
        janitors=args.janitors,
        janitor_interval=args.janitor_interval,
        port=args.port,
        history_dir=args.history_dir,
        persistence=Persistence(args.persistence),
        log_dir=args.log_dir,
    )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with deployment:
        print(deployment.base_url, flush=True)
        print(
            f"harness serve: impl={deployment.settings.impl} redis={deployment.redis_url} "
            f"api pids={deployment.api_pids()} janitor pids={deployment.janitor_pids}; "
            "Ctrl-C stops all",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    return ExitCode.PASS  # a signal is how serve is meant to end
