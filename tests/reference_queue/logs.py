"""Reading a served API's log from a test."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def read_until(log: Path, done: Callable[[str], bool], seconds: float = 5.0) -> str:
    """The log's text once ``done`` holds for it (API processes flush per line, but a
    line may land just after the answer it tells of); what is there after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        text = log.read_text() if log.exists() else ""
        if done(text) or time.monotonic() >= deadline:
            return text
        time.sleep(0.05)


def lines_with(log: Path, needle: str, count: int, seconds: float = 5.0) -> list[str]:
    """The log's lines holding ``needle``, once there are ``count``; what is there after
    ``seconds``."""

    def found(text: str) -> list[str]:
        return [line for line in text.splitlines() if needle in line]

    return found(read_until(log, lambda text: len(found(text)) >= count, seconds))
