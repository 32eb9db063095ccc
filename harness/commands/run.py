"""`harness run` (placeholder until its issue lands; replace this whole module)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="(not built yet)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print("harness run: not built yet", file=sys.stderr)
    return 2
