"""Reading a served API's log from a test."""

from __future__ import annotations

import time
from pathlib import Path


def lines_with(log: Path, needle: str, count: int, seconds: float = 5.0) -> list[str]:
    """The log's lines holding ``needle``, once there are ``count`` (API processes flush
    per line, but a line may land just after the answer); what is there after ``seconds``."""
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while True:
        text = log.read_text() if log.exists() else ""
        lines = [line for line in text.splitlines() if needle in line]
        if len(lines) >= count or time.monotonic() >= deadline:
            return lines
        time.sleep(0.05)
