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

from harness.locust.drain import QueueCounts

logger = logging.getLogger(__name__)

EXIT_CODES = {"pass": 0, "fail": 1, "unknown": 2}


def read_counts(host: str, api_key: str | None, timeout: float = 5.0) -> QueueCounts | None:
    """The deployment's ``GET /stats``, or ``None`` when it cannot be read right now."""
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


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class Conclusion:
    verdict: str  # pass / fail / unknown, or "not analyzed"
    exit_code: int | None  # None: leave Locust's own exit code
    counts: dict[str, int]  # violations per kind
    report: Path | None
    note: str | None = None  # why the verdict is not the checks' own, if it is not

    def line(self, run_dir: Path) -> str:
        found = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()) if v)
        detail = "; ".join(x for x in (found, self.note) if x)
        return (
            f"qharness verdict: {self.verdict.upper()}"
            + (f" ({detail})" if detail else "")
            + f" — report: {self.report or run_dir}"
        )


def audit(host: str, run_dir: Path, api_key: str | None) -> str | None:
    """Write audit.json from the deployment; returns why it failed, or ``None``."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per task is noise here
    try:
        from harness.audit import audit_run

        audit_run(run_dir, host, api_key=api_key)
    except Exception as exc:  # a process boundary: the run must still conclude
        logger.warning("audit of %s failed: %s", host, exc)
        return f"{type(exc).__name__}: {exc}"
    return None


def analyze(run_dir: Path, lease_timeout: float | None) -> Conclusion:
    """Checks + report into ``run_dir``; a crashing checker is an unknown verdict."""
    try:
        from harness.analyze import analyze_run

        report = analyze_run(run_dir, lease_timeout=lease_timeout)
    except Exception as exc:  # Jepsen: a checker that crashes yields unknown, not a crash
        logger.exception("analysis of %s failed", run_dir)
        return Conclusion(
            verdict="unknown",
            exit_code=2,
            counts={},
            report=None,
            note=f"analysis failed: {exc}",
        )
    verdict = str(report.verdict)
    counts = {str(kind): int(count) for kind, count in report.counts.items()}
    page = run_dir / "report.md"
    return Conclusion(
        verdict=verdict,
        exit_code=EXIT_CODES.get(verdict, 2),
        counts=counts,
        report=page if page.exists() else None,
    )
