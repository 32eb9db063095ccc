"""The audit: the deployment's final view of every task in a run's history.

``GET /tasks/{id}`` for each task id seen in the history (concurrently, at most
``concurrency`` requests in flight) and ``GET /stats``, written to
``RUN_DIR/audit.json`` in the shape :mod:`harness.checks.audit_state` reads. A 404
becomes status ``unknown_to_server``; extra fields of the answer are kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from harness.checks.audit_state import Audit, audit_from_json
from harness.clients import DeploymentClient
from harness.errors import ConfigError, ServerError
from harness.history import load_history

CONCURRENCY = 32
TIMEOUT_S = 10.0
UNAVAILABLE_WAIT_S = 30.0  # total time an audit waits out 503s (e.g. Redis just restarted)


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


async def _task_view(
    client: httpx.AsyncClient, gate: asyncio.Semaphore, task_id: str
) -> dict[str, Any]:
    async with gate:
        response = await _get(client, f"/tasks/{quote(task_id, safe='')}")
    if response.status_code == 404:
        return {"task_id": task_id, "status": "unknown_to_server"}
    _raise_for(response, f"GET /tasks/{task_id}")
    view: dict[str, Any] = response.json()
    return view


async def _get(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """GET, waiting out ``503`` answers (honouring ``Retry-After``) for a bounded time.

    An audit runs right after the load and the nemesis stop: a deployment recovering
    from a Redis restart answers 503 for a moment, and that is not its final view.
    """
    deadline = time.monotonic() + UNAVAILABLE_WAIT_S
    while True:
        response = await client.get(path)
        if response.status_code != 503 or time.monotonic() >= deadline:
            return response
        try:
            pause = float(response.headers.get("Retry-After", "1"))
        except ValueError:
            pause = 1.0
        await asyncio.sleep(min(max(pause, 0.1), 5.0))


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.status_code == 401:
        raise ConfigError(f"{what}: 401 unauthorized (give --api-key or QHARNESS_API_KEY)")
    if response.status_code != 200:
        raise ServerError(f"{what}: HTTP {response.status_code}: {response.text[:200]}")


async def fetch_audit(
    host: str,
    task_ids: Iterable[str],
    *,
    api_key: str | None = None,
    concurrency: int = CONCURRENCY,
) -> Audit:
    """The deployment's view of ``task_ids`` and its stats."""
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    try:
        async with httpx.AsyncClient(
            base_url=host, headers=_headers(api_key), timeout=TIMEOUT_S, limits=limits
        ) as client:
            ids = sorted(set(task_ids))
            views = await asyncio.gather(*(_task_view(client, gate, t) for t in ids))
            stats = await _get(client, "/stats")
            _raise_for(stats, "GET /stats")
    except httpx.HTTPError as exc:
        raise ServerError(f"{host}: {type(exc).__name__}: {exc}") from exc
    tasks = {
        t: {k: v for k, v in view.items() if k != "task_id"}
        for t, view in zip(ids, views, strict=True)
    }
    return audit_from_json({"tasks": tasks, "stats": stats.json(), "taken_at": time.time()}, host)


def audit_with_client(client: DeploymentClient, task_ids: Iterable[str], host: str) -> Audit:
    """The same audit through a client plug-in (``--client``): one ``status`` per task."""
    tasks: dict[str, dict[str, Any]] = {}
    for task_id in sorted(set(task_ids)):
        answer = client.status(task_id)
        if answer.status == 404:
            tasks[task_id] = {"status": "unknown_to_server"}
            continue
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise ServerError(f"status({task_id}): answer {answer.status}: {answer.error}")
        tasks[task_id] = {k: v for k, v in answer.body.items() if k != "task_id"}
    stats = client.stats()
    if stats.status != 200:
        raise ServerError(f"stats(): answer {stats.status}: {stats.error}")
    return audit_from_json({"tasks": tasks, "stats": stats.body, "taken_at": time.time()}, host)


def audit_run(
    run_dir: Path, host: str, *, api_key: str | None = None, client: DeploymentClient | None = None
) -> Audit:
    """Audit every task id of the run's history into ``RUN_DIR/audit.json`` (over the
    contract's HTTP API, or through ``client`` when a client plug-in is in use)."""
    frame = load_history(run_dir)
    task_ids = [str(t) for t in frame["task_id"].cat.categories]
    if client is None:
        audit = asyncio.run(fetch_audit(host, task_ids, api_key=api_key))
    else:
        audit = audit_with_client(client, task_ids, host)
    (run_dir / "audit.json").write_bytes(orjson.dumps(audit.to_json(), option=orjson.OPT_INDENT_2))
    return audit
