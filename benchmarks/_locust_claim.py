"""The benchmark's load: each user claims a task and completes it with its token, again
and again (FastHttpUser, no think time). Every target gets exactly this load."""

from __future__ import annotations

import itertools

from locust import FastHttpUser, task

_ids = itertools.count()


class ClaimComplete(FastHttpUser):
    def on_start(self) -> None:
        self.headers = {"X-Worker-Id": f"bench-{next(_ids)}"}

    @task
    def claim_and_complete(self) -> None:
        with self.client.get("/tasks/next", headers=self.headers, catch_response=True) as r:
            if r.status_code == 204:
                r.failure("queue empty")  # the prefill was too small: the figure is void
                return
            if r.status_code != 200:
                r.failure(f"claim {r.status_code}")
                return
            claim = r.json()
        token = (claim["lease"] or {}).get("token")
        self.client.post(
            f"/tasks/{claim['task_id']}/complete",
            json={"token": token},
            headers=self.headers,
            name="/tasks/[id]/complete",
        )
