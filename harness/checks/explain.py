"""Plain-language pieces of violation explanations (Elle-style: name the events)."""

from __future__ import annotations

from harness.checks.ops import Views


def actor(views: Views, index: int) -> str:
    return views.who(index)


def op_ref(views: Views, what: str, head: int, done: int) -> str:
    """E.g. ``claim by worker w1 (events 3→4)``; a never-completed op has one event."""
    events = f"events {head}→{done}" if done >= 0 and done != head else f"event {head}"
    return f"{what} by {actor(views, head)} ({events})"


def op_events(head: int, done: int) -> list[int]:
    return [head] if done < 0 or done == head else [head, done]
