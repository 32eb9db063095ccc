"""A tiny script runner for hand-written interleavings: one ``next()`` = one round trip."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.contract import Steps


@dataclass
class Actor:
    """An operation in flight, advanced one Redis round trip at a time."""

    steps: Steps[Any]
    done: bool = False
    result: Any = None
    points: list[str] = field(default_factory=list)

    def step(self) -> Actor:
        assert not self.done, "stepping a finished operation"
        try:
            self.points.append(next(self.steps))
        except StopIteration as stop:
            self.done, self.result = True, stop.value
        return self

    def finish(self) -> Any:
        while not self.done:
            self.step()
        return self.result

    def crash(self) -> None:
        """The process dies here: the rest of the operation never runs."""
        self.steps.close()
        self.done = True


def start(steps: Steps[Any]) -> Actor:
    return Actor(steps)
