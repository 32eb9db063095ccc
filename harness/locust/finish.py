"""The end of a run, on the master or local runner only: run.json, audit, analyze, verdict.

Also the one small HTTP reader the lifecycle needs (``GET /stats`` for drain
detection), kept apart from the instrumented client: monitoring the deployment is not
load, so it goes neither into Locust's statistics nor into the history.
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import crash
from harness.clients import DeploymentClient
from harness.exitcodes import ExitCode
from harness.locust.drain import QueueCounts

if TYPE_CHECKING:
    from harness.checks import CheckReport  # pandas: loaded only where the analysis runs

logger = logging.getLogger(__name__)


def read_counts(
    host: str, api_key: str | None, timeout: float = 5.0, plugin: DeploymentClient | None = None
) -> QueueCounts | None:
    """The deployment's ``GET /stats`` (or the plug-in's ``stats()``; or, for a library
    hosted in this process, its own counts), or ``None`` when it cannot be read now."""
    if plugin is not None:
        return _plugin_counts(plugin)
    if _hosted(host):  # a real library hosted in this process (no HTTP)
        from harness.locust import library

        return library.counts()
    request = urllib.request.Request(host.rstrip("/") + "/stats")
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return QueueCounts.from_json(json.loads(response.read()))
    # URLError and resets are OSErrors, a half answer an HTTPException, bad JSON a ValueError
    except (OSError, http.client.HTTPException, ValueError) as exc:
        logger.debug("GET %s/stats failed: %s", host, exc)
        return None


def _hosted(host: object) -> bool:
    """A ``zoo://`` host: a library hosted in this process (``harness.locust.library``,
    imported only then: an HTTP run's start-up stays as light as it was)."""
    return str(host or "").startswith("zoo://")


def _hosted_library(host: object) -> Any:
    if not _hosted(host):
        return None
    from harness.locust import library

    return library.current()


def library_meta(host: object) -> dict[str, Any]:
    """What run.json records about a library hosted in process (its promise, the lease
    it runs with); nothing for an HTTP deployment."""
    hosted = _hosted_library(host)
    return {} if hosted is None else hosted.meta()


def _plugin_counts(plugin: DeploymentClient) -> QueueCounts | None:
    try:
        answer = plugin.stats()
        return QueueCounts.from_json(answer.body) if answer.status == 200 else None
    except Exception as exc:  # the user's code, or an answer that is not counts
        logger.debug("--client stats() failed: %s", exc)
        return None


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class Conclusion:
    verdict: str  # pass / fail / unknown, or "not analyzed"
    exit_code: ExitCode | None  # None: leave Locust's own exit code
    counts: dict[str, int]  # violations per kind
    report: Path | None
    note: str | None = None  # why the verdict is not the checks' own, if it is not
    checks: CheckReport | None = None  # the analysis itself, when it ran

    def detail_lines(self) -> list[str]:
        """The lease the analysis inferred and the windows the run hit, for the terminal."""
        if self.checks is None:
            return []
        lines = []
        note = self.checks.results.get("double_claim")
        lease = [p for p in (note.note if note else "").split("; ") if p.startswith("lease")]
        if lease:
            lines.append(f"qharness {lease[0]}")
        if self.checks.windows:
            hit = ", ".join(f"{k} {v}" for k, v in self.checks.windows.items())
            lines.append(f"qharness windows hit: {hit}")
        return lines

    def line(self, run_dir: Path) -> str:
        found = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()) if v)
        detail = "; ".join(x for x in (found, self.note) if x)
        return (
            f"qharness verdict: {self.verdict.upper()}"
            + (f" ({detail})" if detail else "")
            + f" — report: {self.report or run_dir}"
        )


def audit(
    host: str, run_dir: Path, api_key: str | None, plugin: DeploymentClient | None = None
) -> str | None:
    """Write audit.json from the deployment; returns why it failed, or ``None``."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per task is noise here
    try:
        from harness.audit import audit_run
        from harness.history import load_history

        if _hosted(host):
            from harness.locust import library

            frame = load_history(run_dir)
            library.write_audit(run_dir, [str(t) for t in frame["task_id"].cat.categories])
            return None
        audit_run(run_dir, host, api_key=api_key, client=plugin)
    except Exception as exc:  # a process boundary: the run must still conclude
        logger.warning("audit of %s failed: %s", host, exc)
        return f"{type(exc).__name__}: {exc}"
    return None


def analyze(run_dir: Path, lease_timeout: float | None) -> Conclusion:
    """Checks + report into ``run_dir``; a crashing checker is an unknown verdict.

    Its traceback goes to ``run_dir/crash.log``; the log and the note get one line."""
    try:
        with crash.traceback_folder(run_dir):
            from harness.analyze import analyze_run

            report = analyze_run(run_dir, lease_timeout=lease_timeout)
    except Exception as exc:  # Jepsen: a checker that crashes yields unknown, not a crash
        with crash.traceback_folder(run_dir):
            path = crash.write_traceback(exc, f"analysis of {run_dir}")
        why = f"{crash.describe(exc)} ({crash.where(path)})"
        logger.error("qharness: analysis of %s failed: %s", run_dir, why)
        return Conclusion(
            verdict="unknown",
            exit_code=ExitCode.UNKNOWN,
            counts={},
            report=None,
            note=f"analysis failed: {why}",
        )
    verdict = str(report.verdict)
    counts = {str(kind): int(count) for kind, count in report.counts.items()}
    page = run_dir / "report.md"
    return Conclusion(
        verdict=verdict,
        exit_code=ExitCode.of(verdict),
        counts=counts,
        report=page if page.exists() else None,
        checks=report,
    )
