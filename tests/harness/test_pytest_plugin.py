"""The pytest plugin, as a user meets it: a regression test from `harness hunt`, pasted
into a project that has nothing but qharness installed, fails while the race is there
and passes once the queue is fixed.

The throwaway project gets its own venv (no pip of its own) into which this
interpreter's pip installs qharness from a copy of this source tree
(`pip --python VENV install --no-deps`; the build backend, setuptools, comes from the
registry or pip's cache). The venv reaches qharness's dependencies through one `.pth`
line naming this interpreter's site-packages: much faster than a full install, and
qharness itself is still imported only from the new venv (asserted below).
"""

from __future__ import annotations

import re
import shutil
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "harness", "reference_queue", "scenarios", "zoo")
NAIVE_QUEUE = "from reference_queue.naive import NaiveQueue as MyQueue\n"
FIXED_QUEUE = "from reference_queue.safe import SafeQueue as MyQueue\n"
PROJECT_TOML = '[project]\nname = "their-project"\nversion = "1"\n\n'
PROJECT_TOML += '[tool.pytest.ini_options]\npythonpath = ["."]\n'


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    root: Path
    python: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def _venv_site_packages(venv: Path) -> Path:
    relative = Path(sysconfig.get_path("purelib")).relative_to(sysconfig.get_path("data"))
    return venv / relative


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A project folder with its own venv where qharness is installed (not editable)."""
    base = tmp_path_factory.mktemp("throwaway")
    source = base / "qharness-src"
    source.mkdir()
    for name in SOURCES:  # a copy: pip builds in the source tree
        if not (ROOT / name).exists():
            continue
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    venv = base / "venv"
    # No pip of its own (ensurepip is the slow part of a venv): this pip installs into it.
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300
    )
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (_venv_site_packages(venv) / "runner_deps.pth").write_text("\n".join(deps) + "\n")
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
    done = subprocess.run(
        [*install, str(source)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    root = base / "their-project"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PROJECT_TOML)
    (root / "queues.py").write_text(NAIVE_QUEUE)
    return Project(root=root, python=python)


def _pasted_test(report_md: str) -> str:
    """The report's regression test (its other Python block is Hypothesis's printed
    reproduction, ``state = QueueMachine()`` ...)."""
    blocks = re.findall(r"```python\n(.*?)```", report_md, flags=re.DOTALL)
    tests = [b for b in blocks if re.search(r"^def test_", b, flags=re.MULTILINE)]
    assert len(tests) == 1, report_md
    assert any(b.startswith("state = QueueMachine()") for b in blocks), report_md
    return str(tests[0])


@pytest.mark.timeout(400)
def test_qharness_is_imported_from_the_projects_own_venv(project: Project) -> None:
    out = project.run("-c", "import harness.testing, reference_queue; print(harness.__file__)")
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).is_relative_to(project.python.parents[1])


@pytest.mark.timeout(400)  # a venv, a hunt and three pytest runs: ~30 s on a quiet machine
def test_a_hunted_regression_test_fails_on_the_race_and_passes_once_fixed(
    project: Project,
) -> None:
    hunt = project.run(
        "-m", "harness", "hunt", "--impl", "queues:MyQueue", "--kind", "lost",
        "--searches", "1", "--out", "hunt",
    )  # fmt: skip
    assert hunt.returncode == 1, hunt.stderr  # a race was found
    source = _pasted_test((project.root / "hunt" / "report.md").read_text())
    assert "from harness.testing import" in source
    assert not re.search(r"^from harness\.(explorer|checks)", source, flags=re.MULTILINE)
    (project.root / "tests" / "test_queue_races.py").write_text(source)

    # The race is there: the pasted test fails, and says why (xdist, no Locust plugin).
    racy = project.run("-m", "pytest", "-p", "no:locust", "-n", "2", "-q", "tests")
    assert racy.returncode == 1, racy.stdout + racy.stderr
    assert "1 failed" in racy.stdout
    assert "test_no_lost_queues_MyQueue" in racy.stdout
    assert "acknowledged" in racy.stdout or "lost" in racy.stdout

    # The queue is fixed: the same test, unchanged, passes.
    (project.root / "queues.py").write_text(FIXED_QUEUE)
    fixed = project.run("-m", "pytest", "-q", "tests")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "1 passed" in fixed.stdout


def test_the_plugin_is_inert_until_a_fixture_is_used() -> None:
    probe = (
        "import sys, harness.pytest_plugin; "
        "print(sorted(m for m in ('redis', 'hypothesis', 'locust', 'harness.redis_server', "
        "'harness.explorer') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
