"""The deployment's own counters (``GET /metrics``, Prometheus text), beside the history.

A reference deployment counts what it did — claims handed out, completions accepted,
409 rejections by reason, rescues, 429s, breaker refusals. Read at the end of a run,
they are a second witness: where the server's counts and the history's disagree, one
of the two is wrong, and the report shows both side by side.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

logger = logging.getLogger(__name__)

# server counter (Prometheus family name) → history metric it should match
WITNESSES: dict[str, str] = {
    "qharness_submits": "tasks",
    "qharness_claims": "claims_granted",
    "qharness_completions": "ops_complete_ok",
    "qharness_rejections": "ops_complete_fail",
    "qharness_rate_limited": "",
    "qharness_redis_errors": "",
    "qharness_breaker_refused": "",
}


def scrape(base_url: str, api_key: str | None = None, timeout: float = 10.0) -> dict[str, float]:
    """Totals of the deployment's counters (summed over labels); ``{}`` if unavailable."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{base_url}/metrics", headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        logger.warning("GET /metrics failed: %s", exc)
        return {}
    if response.status_code != 200:
        logger.warning("GET /metrics answered %s", response.status_code)
        return {}
    return totals(response.text)


def totals(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.type != "counter":
            continue
        total = sum(s.value for s in family.samples if s.name.endswith("_total"))
        out[family.name] = out.get(family.name, 0.0) + total
    return out


def side_by_side(server: dict[str, float], history: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(counter, server's count, history's count) rows for the report."""
    rows = []
    for name, metric in WITNESSES.items():
        if name not in server:
            continue
        seen = history.get(metric) if metric else None
        rows.append((name.removeprefix("qharness_"), f"{server[name]:.0f}",
                     "" if seen is None else f"{seen}"))  # fmt: skip
    return rows
