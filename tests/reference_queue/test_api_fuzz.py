"""Property-based fuzz of the worker API from its own OpenAPI schema (schemathesis).

For every operation, generated requests — valid and invalid bodies, headers, path ids —
go over real HTTP to a real uvicorn server (safe and naive). Every answer must be
documented: no 5xx at all (Redis stays up here, so not even the documented 503), a
status, content type and body that the schema declares, and never a hang (each
request has a 10 s timeout; hypothesis deadlines are off because the machine is shared).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from harness.servers import Deployment
from reference_queue.settings import ServeSettings

KEY = "fuzz-key"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module", params=["safe", "naive"])
def fuzzed(request: pytest.FixtureRequest, redis_url: str) -> Iterator[Deployment]:
    flushed = redis.Redis.from_url(redis_url)
    flushed.flushdb()
    flushed.close()
    settings_ = ServeSettings(impl=request.param, redis_url=redis_url, api_key=KEY, admin_key="adm")
    with Deployment(settings_, api_procs=1, janitors=0) as dep:
        yield dep


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_documented_and_none_is_5xx(
    fuzzed: Deployment, mode: GenerationMode
) -> None:
    """Valid (positive) and invalid (negative) requests across every operation."""
    schema = schemathesis.openapi.from_url(fuzzed.base_url + "/openapi.json")
    seen: set[str] = set()

    @given(case=schema.as_strategy(mode))
    @settings(
        max_examples=200,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same examples every run: a failure reproduces
        database=None,
    )
    def check(case: schemathesis.Case) -> None:
        seen.add(f"{case.method} {case.path}")
        auth = "adm" if case.path.startswith("/admin") else KEY
        case.call_and_validate(
            headers={"Authorization": f"Bearer {auth}"}, checks=CHECKS, timeout=10
        )

    check()
    assert len(seen) >= 6, seen  # the fuzz reached most of the table
