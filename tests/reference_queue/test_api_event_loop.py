"""F13: a slow handler blocks every request on the naive API, none on the safe one.

One real uvicorn process per case, its slowed endpoint held in an injected delay of SLOW s.
Judged by the server's own log, not by speed or by which client thread wakes first: the
fault point logs when its delay begins and when it is over, and the access line of a
request is written once its answer is sent, all in one process and one file, in order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from harness.servers import Deployment
from reference_queue.settings import ServeSettings
from tests.reference_queue.logs import lines_with, read_until

SLOW = 8.0  # seconds the slowed endpoint sleeps; the probe is sent once it is sleeping


@pytest.fixture(
    scope="module",
    params=[("naive", "/stats"), ("safe", "/stats"), ("safe", "/tasks/next")],
    ids=["naive-stats", "safe-stats", "safe-claim"],
)
def slow_endpoint(
    request: pytest.FixtureRequest, redis_url: str
) -> Iterator[tuple[Deployment, str]]:
    """One API process whose slowed endpoint sleeps SLOW s (an injected delay), logging
    at INFO so that the test sees the delay begin and end, and every access line."""
    impl, path = request.param
    point = "before_stats" if path == "/stats" else "before_claim"
    settings = ServeSettings(
        impl=impl, redis_url=redis_url, faults=f"{point}=delay:{SLOW}", log_level="info"
    )
    with Deployment(settings, api_procs=1, janitors=0) as dep:
        yield dep, path


def events(log_lines: list[str], path: str) -> list[str]:
    """The log's story of the slow request and the probe, in the order it was written."""
    story = []
    for line in log_lines:
        if "fires: delay" in line:
            story.append("delay begins")
        elif ": delay over" in line:
            story.append("delay over")
        elif "GET /healthz -> " in line:
            story.append("/healthz answered")
        elif f"GET {path} -> " in line:
            story.append(f"{path} answered")
    return story


def story_since_delay(dep: Deployment, path: str, seconds: float = 10.0) -> list[str]:
    """The story from the latest delay on, once both answers are in it (an access line
    may land just after its answer was received)."""

    def story(text: str) -> list[str]:
        told = events(text.splitlines(), path)
        return told[len(told) - 1 - told[::-1].index("delay begins") :]

    def complete(text: str) -> bool:
        told = story(text)
        return "/healthz answered" in told and f"{path} answered" in told

    return story(read_until(dep.api_log, complete, seconds))


def test_a_slow_handler_blocks_every_request_on_naive_only(
    slow_endpoint: tuple[Deployment, str],
) -> None:
    """While the slowed endpoint sleeps, /healthz is answered at once on safe (a thread
    pool for /stats, an awaited delay for the async claim) but only after the delay on
    naive (the sleep runs on the event loop: F13). The probe is sent once the server has
    logged that the slow request entered its delay."""
    dep, path = slow_endpoint
    delays = len(lines_with(dep.api_log, "fires: delay", 0, seconds=0))

    def call(p: str) -> None:
        httpx.get(dep.base_url + p, headers={"X-Worker-Id": "w"}, timeout=60).raise_for_status()

    slow = threading.Thread(target=call, args=(path,))
    slow.start()
    begun = lines_with(dep.api_log, "fires: delay", delays + 1, seconds=60)
    assert len(begun) == delays + 1, "the slow request never reached its delay"
    call("/healthz")
    slow.join(timeout=60)
    assert not slow.is_alive(), f"{path} was not answered within 60 s"
    story = story_since_delay(dep, path)
    assert story.count("delay over") == 1, story
    assert story.count("/healthz answered") == 1, story
    assert story.count(f"{path} answered") == 1, story
    probe, over = story.index("/healthz answered"), story.index("delay over")
    if dep.settings.impl == "naive":
        assert probe > over, story  # the loop was asleep: the probe waited for the delay
    else:
        assert story == ["delay begins", "/healthz answered", "delay over", f"{path} answered"]
