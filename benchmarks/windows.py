"""Do the default runs catch narrow races? The done-when figures of the window seekers.

    python -m benchmarks.windows naive                 # harness serve --impl naive, no lease flag
    python -m benchmarks.windows status --runs 10      # status-only fencing, default mix
    python -m benchmarks.windows safe --runs 20        # the reference safe queue, same mix
    python -m benchmarks.windows all                   # the three, as above
    python -m benchmarks.windows status --runs 10 --tag=-baseline \
        --mix Producer=3,Worker=20,SlowWorker=6,JanitorTrigger=1   # without the seekers

Each run is the real ``locust -f scenarios --headless`` command against a real
deployment on 127.0.0.1, with the default mix (window seekers included) and no
``--lease-timeout``:

- ``naive``: ``harness serve --impl naive`` as a user would start it (its janitor's age
  limit is the default 30 s, which the run does not know): must end FAIL, with the lease
  inferred from redeliveries in the report;
- ``status``: the in-memory queue of ``tests/deployments`` fencing completions by status
  only (a superseded worker's completion is accepted while the new holder works: F5 in a
  window of tens of milliseconds), 2 s leases returned in the claims: must be refuted;
- ``safe``: the reference safe queue (2 s leases, 1 janitor, max attempts 100 so a task
  unlucky with seekers is not dead-lettered): must pass.

Writes ``benchmarks/out/windows-<which>.json`` and prints one line per run and a summary.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).parent / "out"
LOCUST = str(Path(sys.executable).with_name("locust"))
HARNESS = str(Path(sys.executable).with_name("harness"))


def locust_run(host: str, run_dir: Path, seconds: int, *extra: str) -> dict[str, Any]:
    """One headless run; its verdict, counts, windows hit and lease line."""
    cmd = [LOCUST, "-f", str(ROOT / "scenarios"), "--headless", "-u", "30", "-r", "30",
           "-t", f"{seconds}s", "--host", host, "--run-dir", str(run_dir), "--only-summary",
           *extra]  # fmt: skip
    began = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 240, check=False)
    summary = _json(run_dir / "summary.json")
    results = summary.get("results", {})
    lease = next(
        (p for p in results.get("double_claim", {}).get("note", "").split("; ") if "lease" in p),
        "",
    )
    verdict_lines = [ln for ln in out.stderr.splitlines() if ln.startswith("qharness verdict")]
    return {
        "exit": out.returncode,
        "verdict": summary.get("verdict", "none"),
        "violations": {k: r["count"] for k, r in results.items() if r.get("count")},
        "windows": summary.get("windows", {}),
        "lease": lease,
        "seconds": round(time.monotonic() - began, 1),
        "line": verdict_lines[-1] if verdict_lines else out.stderr[-400:],
        "run_dir": str(run_dir),
    }


def _json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data


@contextmanager
def naive_cli() -> Iterator[str]:
    """``harness serve --impl naive`` with its defaults, as the README tells a user."""
    proc = subprocess.Popen(
        [HARNESS, "serve", "--impl", "naive"], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"harness serve printed {url!r}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def status_fenced() -> Iterator[str]:
    sys.path.insert(0, str(ROOT))
    from tests.deployments.contract_app import create_app
    from tests.deployments.memory_queue import Fencing, MemoryQueue
    from tests.deployments.served import served

    with served(create_app(MemoryQueue(lease_timeout=2.0, fencing=Fencing.STATUS))) as url:
        yield url


@contextmanager
def safe() -> Iterator[str]:
    from harness.servers import Deployment
    from reference_queue.settings import Impl, ServeSettings

    settings = ServeSettings(impl=Impl.SAFE, lease_timeout=2.0, max_attempts=100)
    with Deployment(settings, api_procs=2, janitors=1, janitor_interval=0.5) as deployment:
        yield deployment.base_url


def series(which: str, runs: int, seconds: int, mix: str | None = None) -> list[dict[str, Any]]:
    base = Path(tempfile.mkdtemp(prefix=f"qharness-windows-{which}-"))
    rows = []
    for n in range(1, runs + 1):
        # a fresh deployment per run: no leftovers, every run judged on its own
        if which == "naive":
            deployment = naive_cli()
            extra = ("--drain-timeout", "60")
        else:
            deployment = status_fenced() if which == "status" else safe()
            extra = ()
        if mix:
            extra = (*extra, "--mix", mix)
        with deployment as url:
            row = locust_run(url, base / f"run-{n}", seconds, *extra)
        rows.append(row)
        print(f"{which} run {n}: {row['line']} | windows {row['windows']} | {row['lease']}",
              flush=True)  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=("naive", "status", "safe", "all"))
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--seconds", type=int, default=None, help="locust -t per run")
    parser.add_argument("--mix", help="another user mix (e.g. the old default, as a baseline)")
    parser.add_argument("--tag", default="", help="suffix of the output file name")
    args = parser.parse_args()
    plan = {"naive": (1, 120), "status": (10, 30), "safe": (20, 30)}
    OUT.mkdir(exist_ok=True)
    for which in plan if args.which == "all" else [args.which]:
        runs, seconds = plan[which]
        rows = series(which, args.runs or runs, args.seconds or seconds, args.mix)
        (OUT / f"windows-{which}{args.tag}.json").write_text(json.dumps(rows, indent=2))
        failed = sum(1 for r in rows if r["verdict"] == "fail")
        passed = sum(1 for r in rows if r["verdict"] == "pass")
        print(f"{which}: {failed} of {len(rows)} runs FAIL, {passed} PASS, "
              f"{len(rows) - failed - passed} other", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
