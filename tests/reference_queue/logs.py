"""Reading a served API's log from a test."""

from __future__ import annotations

import time
from pathlib import Path


def lines_with(log: Path, needle: str, count: int) -> list[str]:
    """The log's lines holding ``needle``, once there are ``count`` (API processes flush
    per line, but a line may land just after the answer); what is there after 5 s."""
    lines: list[str] = []
    for _ in range(50):
        lines = [line for line in log.read_text().splitlines() if needle in line]
        if len(lines) >= count:
            break
        time.sleep(0.1)
    return lines
