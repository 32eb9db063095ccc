"""Persistence table: the safe queue under the Redis-restart nemesis, per AOF mode.

    python -m benchmarks.persistence [--duration 40] [--profile mixed]

For each of ``none``, ``everysec`` and ``always``: a full ``harness run`` of the safe
queue with ``--nemesis restart-redis`` (SIGKILL redis-server, start it again on the
same data dir), then the analyzer's counts. "Lost" is the contract's ``lost`` check:
acknowledged tasks never completed and, per the audit, nowhere to be served from.
Writes benchmarks/out/persistence.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from harness import nemesis, profiles
from harness.redis_server import Persistence
from harness.run import RunSpec, run_once

OUT = Path(__file__).parent / "out"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=40.0)
    parser.add_argument("--profile", default="mixed")
    parser.add_argument("--interval", type=float, default=7.0, help="seconds between restarts")
    args = parser.parse_args()
    rows = []
    base = Path(tempfile.mkdtemp(prefix="qharness-persistence-"))
    for mode in Persistence:
        spec = RunSpec(
            impl="safe", profile=profiles.load(args.profile),
            nemesis=nemesis.parse("restart-redis", interval=args.interval, duration=1.0, seed=1),
            duration=args.duration, persistence=mode, base_dir=base,
        )  # fmt: skip
        result = run_once(spec)
        metrics = result.report.metrics if result.report else {}
        row = {
            "persistence": str(mode),
            "restarts": sum(1 for w in _windows(result.run_dir) if w.get("phase") == "start"),
            "acknowledged": metrics.get("acknowledged"),
            "completed_ok": metrics.get("ops_complete_ok"),
            "lost": result.counts.get("lost"),
            "audit_mismatch": result.counts.get("audit_mismatch"),
            "verdict": str(result.verdict),
            "run_dir": str(result.run_dir),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "persistence.json").write_text(json.dumps(rows, indent=2))
    print("\n| Redis persistence | restarts | acknowledged | lost | other violations | verdict |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['persistence']} | {r['restarts']} | {r['acknowledged']} | {r['lost']} | "
              f"audit_mismatch {r['audit_mismatch']} | {r['verdict']} |")  # fmt: skip


def _windows(run_dir: Path) -> list[dict[str, object]]:
    path = run_dir / "run.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    windows: list[dict[str, object]] = data.get("nemesis_windows", [])
    return windows


if __name__ == "__main__":
    main()
