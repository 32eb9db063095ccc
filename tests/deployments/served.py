"""``served(app)``: an ASGI app on 127.0.0.1 at a free port, in a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from harness.redis_server import free_port


@contextmanager
def served(app: Any, *, ready_path: str = "/healthz", timeout: float = 20.0) -> Iterator[str]:
    """Serve ``app``; yields its base URL once ``ready_path`` answers; stops it at exit."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"served-{port}", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url + ready_path, timeout)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _wait_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout} s")
        time.sleep(0.05)
