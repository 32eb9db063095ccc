"""Screenshots of Locust's web UI during a run that finds races: the qharness tab and the
violations in the Failures tab, taken with headless Chromium.

    python -m benchmarks.webui_screenshot [--out benchmarks/out]

Serves the status-only-fencing test deployment (tests/deployments), starts
``locust -f scenarios --autostart`` with its web UI on 127.0.0.1, waits until the first
violation shows as a Locust failure and saves ``webui-qharness-live.png`` (the tab
mid-run), then waits for the run to drain and conclude and saves ``webui-qharness.png``
(the final verdict) and ``webui-failures.png`` (``/usr/bin/chromium --headless``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
LOCUST = str(Path(sys.executable).with_name("locust"))
MIX = "Producer=2,Worker=10,SlowWorker=2,StaleCompleter=4,LateFailer=1,RepeatCompleter=1"


def wait_for_violation(base: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            errors = httpx.get(f"{base}/stats/requests", timeout=5).json().get("errors", [])
        except (httpx.HTTPError, ValueError):
            errors = []
        if any(e.get("method") == "qharness" for e in errors):
            return True
        time.sleep(1)
    return False


def wait_for_final(base: str, deadline: float) -> bool:
    """Until the tab shows the final analysis' verdict (the run drained and concluded)."""
    while time.monotonic() < deadline:
        try:
            rows = httpx.get(f"{base}/qharness/state", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            rows = []
        if any(r["item"] == "verdict" and r["value"].endswith("(final)") for r in rows):
            return True
        time.sleep(1)
    return False


def screenshot(url: str, path: Path) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    subprocess.run(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--window-size=1500,1000", "--virtual-time-budget=8000", f"--screenshot={path}", url],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from harness.redis_server import free_port
    from tests.deployments.contract_app import create_app
    from tests.deployments.memory_queue import Fencing, MemoryQueue
    from tests.deployments.served import served

    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    run_dir = Path(tempfile.mkdtemp(prefix="qharness-webui-")) / "run"
    with served(create_app(MemoryQueue(lease_timeout=1.0, fencing=Fencing.STATUS))) as url:
        cmd = [LOCUST, "-f", str(ROOT / "scenarios"), "--host", url, "--autostart",
               "-u", "20", "-r", "20", "-t", "120s", "--task-budget", "400", "--mix", MIX,
               "--web-host", "127.0.0.1", "--web-port", str(port),
               "--run-dir", str(run_dir)]  # fmt: skip
        with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
            try:
                if not wait_for_violation(base, time.monotonic() + 120):
                    raise SystemExit("no violation showed up in the web UI within 120 s")
                screenshot(f"{base}/?tab=qharness", args.out / "webui-qharness-live.png")
                if not wait_for_final(base, time.monotonic() + 180):
                    raise SystemExit("the run did not conclude within 180 s")
                screenshot(f"{base}/?tab=qharness", args.out / "webui-qharness.png")
                screenshot(f"{base}/?tab=failures", args.out / "webui-failures.png")
            finally:
                proc.terminate()
                proc.wait(timeout=60)
    print(f"saved webui-qharness-live.png, webui-qharness.png, webui-failures.png in {args.out}")


if __name__ == "__main__":
    main()
