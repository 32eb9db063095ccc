"""A client for a "jobs v2" API that looks nothing like the worker API of DESIGN.md §3.

Use it with ``locust -f scenarios --client docs/examples/jobs_client.py:JobsClient
--host URL --api-key KEY``; the walk-through is docs/custom-client.md. Each method makes
the deployment's own request and translates the answer into the contract's terms
(:class:`harness.clients.Answer`: the §3 status code and body for what happened). The
harness records, measures and judges around it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from harness.clients import NO_ANSWER, Answer, Lease

# The deployment's job states, in the contract's words.
STATUS = {"queued": "pending", "leased": "processing", "done": "completed", "dead": "failed"}


class JobsClient:
    def __init__(self, base_url: str, *, api_key: str | None) -> None:
        headers = {"X-Api-Key": api_key} if api_key else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=10.0)

    def submit(self, task_id: str, payload: Any) -> Answer:
        got = self._send("POST", "/v2/jobs", json={"id": task_id, "data": payload})
        if got.status_code == 202:
            return Answer(status=201, body={"task_id": task_id})
        if got.status_code == 409:  # "job exists": the contract's 200, nothing enqueued
            return Answer(status=200, body={"task_id": task_id})
        return _other(got)

    def claim(self, worker_id: str) -> Answer:
        got = self._send("POST", "/v2/leases", json={"consumer": worker_id})
        if got.status_code == 404:  # "queue empty"
            return Answer(status=204, body=None)
        if got.status_code != 201:
            return _other(got)
        body = got.json()
        job = body["job"]
        lease = {"token": body["lease_id"], "expires_at": body["valid_until"]}
        claimed = {"task_id": job["id"], "payload": job["data"], "attempt": job["tries"]}
        return Answer(status=200, body={**claimed, "lease": lease})

    def complete(self, worker_id: str, lease: Lease, result: Any) -> Answer:
        return self._outcome(lease, {"ok": True, "output": result})

    def fail(self, worker_id: str, lease: Lease, error: str, retry: bool) -> Answer:
        return self._outcome(lease, {"ok": False, "reason": error, "requeue": retry})

    def heartbeat(self, worker_id: str) -> Answer:
        got = self._send("POST", f"/v2/consumers/{quote(worker_id, safe='')}/keepalive")
        if got.status_code != 200:
            return _other(got)
        return Answer(
            status=200, body={"worker_id": worker_id, "leases_extended": got.json()["renewed"]}
        )

    def status(self, task_id: str) -> Answer:
        got = self._send("GET", f"/v2/jobs/{quote(task_id, safe='')}")
        if got.status_code != 200:
            return _other(got)
        job = got.json()
        view = {
            "status": STATUS[job["state"]],
            "attempts": job["tries"],
            "worker_id": job["consumer"],
        }
        return Answer(status=200, body={"task_id": task_id, **view})

    def stats(self) -> Answer:
        got = self._send("GET", "/v2/summary")
        if got.status_code != 200:
            return _other(got)
        return Answer(status=200, body={STATUS[state]: n for state, n in got.json().items()})

    def close(self) -> None:
        self.http.close()

    def _outcome(self, lease: Lease, body: dict[str, Any]) -> Answer:
        path = f"/v2/jobs/{quote(lease.task_id, safe='')}/outcome"
        got = self._send("PUT", path, json={"lease_id": lease.token, **body})
        if got.status_code == 412:  # "lease gone": definitely no effect
            return Answer(status=409, body=None, error="lease_lost")
        if got.status_code != 200:
            return _other(got)
        return Answer(
            status=200, body={"task_id": lease.task_id, "status": STATUS[got.json()["state"]]}
        )

    def _send(self, method: str, path: str, json: Any = None) -> httpx.Response:
        try:
            return self.http.request(method, path, json=json)
        except httpx.HTTPError as exc:  # no answer: the op's effect is unknown
            return httpx.Response(NO_ANSWER, json={"message": f"{type(exc).__name__}: {exc}"})


def _other(got: httpx.Response) -> Answer:
    """Any other answer, passed through with the deployment's message as the error."""
    try:
        message = got.json().get("message")
    except ValueError:
        message = None
    return Answer(status=got.status_code, body=None, error=message)
