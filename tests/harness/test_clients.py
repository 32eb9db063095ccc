"""The client plug-in: the default contract client and the worked example's custom client
answer one conformance script identically, each against its own real HTTP deployment."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.audit import audit_with_client
from harness.clients import ContractClient, DeploymentClient, Lease, lease_of, load_client
from harness.errors import ConfigError
from tests.deployments.contract_app import create_app as contract_app
from tests.deployments.jobs_app import create_app as jobs_app
from tests.deployments.memory_queue import MemoryQueue
from tests.deployments.served import served

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = "docs/examples/jobs_client.py:JobsClient"
KEY = "k-123"


@pytest.fixture(params=["contract", "jobs"])
def client(request: pytest.FixtureRequest) -> Iterator[DeploymentClient]:
    queue = MemoryQueue(lease_timeout=30.0)
    if request.param == "contract":
        with served(contract_app(queue, api_key=KEY)) as url:
            default = ContractClient(url, api_key=KEY)
            yield default
            default.close()
    else:
        factory = load_client(str(ROOT / EXAMPLE))
        with served(jobs_app(queue, api_key=KEY), ready_path="/v2/summary") as url:
            custom = factory(url, api_key=KEY)
            yield custom
            custom.close()


def claimed(client: DeploymentClient, worker: str) -> Lease:
    answer = client.claim(worker)
    lease = lease_of(answer.body)
    assert answer.status == 200, answer
    assert lease is not None, answer.body
    return lease


def test_submit_is_idempotent_by_task_id(client: DeploymentClient) -> None:
    first, again = client.submit("t1", {"n": 1}), client.submit("t1", {"n": 1})
    assert (first.status, first.body) == (201, {"task_id": "t1"})
    assert (again.status, again.body) == (200, {"task_id": "t1"})


def test_a_claim_carries_a_fenced_lease_and_an_empty_queue_answers_204(
    client: DeploymentClient,
) -> None:
    client.submit("t1", {"n": 1})
    lease = claimed(client, "w1")
    assert (lease.task_id, lease.payload, lease.attempt) == ("t1", {"n": 1}, 1)
    assert lease.token is not None
    assert lease.expires_at is not None
    assert lease.expires_at > time.time() + 20
    assert client.claim("w2").status == 204
    view = client.status("t1")
    assert (view.status, view.body) == (
        200,
        {"task_id": "t1", "status": "processing", "attempts": 1, "worker_id": "w1"},
    )
    heartbeat = client.heartbeat("w1")
    assert (heartbeat.status, heartbeat.body) == (200, {"worker_id": "w1", "leases_extended": 1})


def test_only_the_current_token_completes_and_only_once(client: DeploymentClient) -> None:
    client.submit("t1", None)
    lease = claimed(client, "w1")
    forged = Lease(task_id="t1", payload=None, attempt=1, token="not-mine", expires_at=None)
    assert client.complete("w1", forged, "x").status == 409
    done = client.complete("w1", lease, {"ok": True})
    assert (done.status, done.body) == (200, {"task_id": "t1", "status": "completed"})
    assert client.complete("w1", lease, {"ok": True}).status == 409
    assert client.status("t1").body["status"] == "completed"


def test_fail_with_retry_requeues_and_without_it_is_terminal(client: DeploymentClient) -> None:
    client.submit("t1", None)
    retried = client.fail("w1", claimed(client, "w1"), "boom", True)
    assert (retried.status, retried.body) == (200, {"task_id": "t1", "status": "pending"})
    second = claimed(client, "w2")
    assert second.attempt == 2
    failed = client.fail("w2", second, "boom", False)
    assert (failed.status, failed.body) == (200, {"task_id": "t1", "status": "failed"})
    stats = client.stats()
    assert (stats.status, stats.body) == (
        200,
        {"pending": 0, "processing": 0, "completed": 0, "failed": 1},
    )


def test_an_unknown_task_is_404(client: DeploymentClient) -> None:
    assert client.status("nope").status == 404


def test_a_wrong_key_is_a_definite_rejection() -> None:
    factory = load_client(str(ROOT / EXAMPLE))
    with served(jobs_app(MemoryQueue(), api_key=KEY), ready_path="/v2/summary") as url:
        stranger = factory(url, api_key="wrong")
        answer = stranger.submit("t1", None)
        stranger.close()
    assert (answer.status, answer.error) == (403, "bad or missing X-Api-Key")


def test_no_answer_is_status_0() -> None:
    with served(contract_app(MemoryQueue())) as url:
        pass  # stopped: nothing listens there any more
    answer = ContractClient(url, api_key=None, timeout=2.0).stats()
    assert answer.status == 0
    assert answer.error is not None
    assert "Connect" in answer.error


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("nocolon", "expected module:Class"),
        ("no_such_module_xyz:C", "cannot import no_such_module_xyz"),
        ("harness.clients:Missing", "has no class Missing"),
        ("harness.clients:Lease", "Lease lacks submit, claim, complete, fail, heartbeat"),
        ("docs/examples/nope.py:C", "cannot import docs/examples/nope.py"),
    ],
)
def test_a_bad_client_spec_is_one_line_config_error(spec: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_client(spec)


def test_a_module_spec_loads_the_class() -> None:
    assert load_client("harness.clients:ContractClient") is ContractClient


def test_the_audit_reads_the_deployment_through_the_client(client: DeploymentClient) -> None:
    client.submit("t1", None)
    client.submit("t2", None)
    client.complete("w1", claimed(client, "w1"), None)
    audit = audit_with_client(client, ["t1", "t2", "ghost"], "http://example")
    assert audit.to_json()["tasks"] == {
        "t1": {"status": "completed", "attempts": 1, "worker_id": None},
        "t2": {"status": "pending", "attempts": 0, "worker_id": None},
        "ghost": {"status": "unknown_to_server"},
    }
