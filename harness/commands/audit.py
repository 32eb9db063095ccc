"""`harness audit --host URL RUN_DIR`: the deployment's final view into RUN_DIR/audit.json."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from harness.audit import audit_run
from harness.exitcodes import ExitCode
from harness.settings import from_env


def register(sub: Any) -> None:
    p = sub.add_parser(
        "audit",
        help="read GET /tasks/{id} for every task in a run's history into audit.json",
        description="Read the deployment's view of every task id in RUN_DIR's history "
        "(GET /tasks/{id}, 32 in flight) and GET /stats into RUN_DIR/audit.json.",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument(
        "--host", required=True, metavar="URL", help="the API, e.g. http://127.0.0.1:8000"
    )
    p.add_argument("--api-key", metavar="K", help="bearer key (default: $QHARNESS_API_KEY)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    api_key = args.api_key or from_env().api_key
    audit = audit_run(args.run_dir, args.host, api_key=api_key)
    statuses = Counter(str(entry.get("status")) for entry in audit.tasks.values())
    summary = ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
    print(f"audited {len(audit.tasks)} tasks: {summary or 'none'}")
    print(f"wrote {args.run_dir / 'audit.json'}")
    return ExitCode.PASS
