"""The README's custom locustfile, run as written with the real ``locust`` command against
a real reference deployment: the harness's Locust library is enough to get a recorded,
drained, analysed run with a verdict."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.servers import Deployment
from harness.settings import child_env
from reference_queue.settings import Impl, ServeSettings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
LOCUST = str(Path(sys.executable).with_name("locust"))
BUDGET = 40


def readme_locustfile() -> str:
    readme = (ROOT / "README.md").read_text()
    (block,) = [
        b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL) if "careful.py" in b
    ]
    return block


@pytest.fixture
def safe() -> Iterator[Deployment]:
    with Deployment(ServeSettings(impl=Impl.SAFE), api_procs=1, janitors=0) as deployment:
        yield deployment


def test_the_readme_example_is_about_twenty_lines_on_the_public_surface() -> None:
    source = readme_locustfile()
    assert len(source.splitlines()) <= 22
    imports = [line for line in source.splitlines() if line.startswith(("from ", "import "))]
    assert imports == ["from harness.locust import Lease, ProducerBase, WorkerBase"]


# The run ends when its task budget is drained (about 20 s here); the time limit and the
# timeouts only bound a run on a loaded machine (it failed once at load average ~30).
@pytest.mark.timeout(480)
def test_the_readme_locustfile_runs_to_a_passing_verdict(safe: Deployment, tmp_path: Path) -> None:
    locustfile = tmp_path / "careful.py"
    locustfile.write_text(readme_locustfile())
    run_dir = tmp_path / "run"
    out = subprocess.run(
        [LOCUST, "-f", str(locustfile), "--headless", "-u", "10", "-r", "10", "-t", "240s",
         "--host", safe.base_url, "--task-budget", str(BUDGET),
         "--mix", "Producer=1,CarefulWorker=4", "--run-dir", str(run_dir), "--only-summary"],
        capture_output=True, text=True, timeout=400, check=False, cwd=tmp_path,
        env=child_env(QHARNESS_API_KEY=None, QHARNESS_ADMIN_KEY=None),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-4000:]
    verdicts = [line for line in out.stderr.splitlines() if line.startswith("qharness verdict:")]
    assert verdicts == [f"qharness verdict: PASS — report: {run_dir / 'report.md'}"]
    run = json.loads((run_dir / "run.json").read_text())
    assert (run["stop_reason"], run["verdict"]) == ("drained", "pass")
    events = [
        json.loads(line)
        for shard in (run_dir / "history").glob("*.jsonl")
        for line in shard.read_text().splitlines()
    ]
    completed = {e["task_id"] for e in events if e["f"] == "complete" and e["type"] == "ok"}
    assert len(completed) == BUDGET
    assert not [e for e in events if e["f"] in ("fail", "crash")]  # careful workers only
