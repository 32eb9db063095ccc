"""The one owner of run folders: making them, ``reports/latest``, and ``run.json``.

A run folder is ``<base>/<UTC timestamp>-<name>/`` (``-2``, ``-3``... when two runs start
in the same second), made by whoever starts a run: ``harness run``, ``harness compare``,
``harness hunt`` or ``locust -f scenarios``. One folder holds one run, so a folder that
already has a ``run.json`` is never reused. ``run.json`` is always replaced whole
(written to a temporary file, then renamed), so a reader never sees half of it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

logger = logging.getLogger(__name__)

RUN_JSON = "run.json"


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def new_run_dir(base: Path, name: str) -> Path:
    """``base/<timestamp>-<name>/``, created, unique even for two runs in one second."""
    base.mkdir(parents=True, exist_ok=True)
    stamp = timestamp()
    for n in range(1, 1000):
        candidate = base / (f"{stamp}-{name}" if n == 1 else f"{stamp}-{name}-{n}")
        with contextlib.suppress(FileExistsError):
            candidate.mkdir()
            return candidate
    raise HarnessError(f"cannot create a run folder in {base}")


def unused_run_dir(wanted: Path) -> Path:
    """``wanted``, unless it already holds a run (a run.json): then ``wanted-2``, ``-3``...

    Appending a second run's shards to the first's would make one history out of two
    (e.g. a second test started from Locust's web UI).
    """
    candidate, n = wanted, 2
    while (candidate / RUN_JSON).exists():
        candidate = wanted.with_name(f"{wanted.name}-{n}")
        n += 1
    if candidate != wanted:
        logger.warning("qharness: %s already holds a run; using %s", wanted, candidate)
    return candidate


def point_latest(base: Path, target: Path) -> None:
    """``base/latest`` -> ``target`` (a relative symlink, replaced atomically)."""
    link = base / "latest"
    tmp = base / f".latest-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(target, base))
    os.replace(tmp, link)


def write_run_json(run_dir: Path, meta: dict[str, Any]) -> None:
    """Write run.json atomically (values JSON cannot hold are written as text)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / f".{RUN_JSON}.{os.getpid()}"
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(run_dir / RUN_JSON)


def update_run_json(run_dir: Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into run.json (an unreadable one starts afresh); returns the whole."""
    path = run_dir / RUN_JSON
    data: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(path.read_text())
        data = loaded if isinstance(loaded, dict) else {}
    data.update(fields)
    write_run_json(run_dir, data)
    return data
