"""``LateFailer``: like the stale completer, but waits until the new holder's completion
was accepted, then reports a failure with retry on its stale lease — the window of F8 (a
stale failure that flips or re-queues a completed task)."""

from __future__ import annotations

from harness.locust.seekers import LateFailerBase


class LateFailer(LateFailerBase):
    weight = 1
