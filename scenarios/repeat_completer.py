"""``RepeatCompleter``: completes its task, then sends the same completion again, as a
client that lost the first answer would — the second must have no effect (409)."""

from __future__ import annotations

from harness.locust.seekers import RepeatCompleterBase


class RepeatCompleter(RepeatCompleterBase):
    weight = 1
