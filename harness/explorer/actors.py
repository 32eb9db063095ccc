"""Named actors and the steps they take: the explorer's vocabulary.

A :class:`Step` is one thing one actor does — start an operation (which performs its
first Redis round trip), advance its operation in flight by one round trip, crash, or
(the clock) move time on. Steps print and parse as short literal lines
(``"W0 claim"``, ``"W0 step"``, ``"W1 fail t0 retry"``, ``"clock advance"``) so a minimal
counterexample reads like the note's scenarios and pastes into a regression test.

An :class:`Actor` holds at most one operation in flight (a generator from the queue,
see ``harness.contract``) and, for a worker, the claims it currently holds. A
crash closes the generator and starts a new incarnation with a fresh worker id, so a
restarted worker never inherits its dead predecessor's claims. Pure: no redis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.contract import Claim, Steps
from harness.events import Op


class Role(StrEnum):
    WORKER = "worker"
    JANITOR = "janitor"
    PRODUCER = "producer"
    CLOCK = "clock"


class Action(StrEnum):
    SUBMIT = "submit"  # a new task id
    RESUBMIT = "resubmit"  # an id submitted before
    CLAIM = "claim"
    COMPLETE = "complete"
    FAIL = "fail"
    HEARTBEAT = "heartbeat"
    RESCUE = "rescue"
    STEP = "step"  # one more round trip of the op in flight
    CRASH = "crash"  # the process dies between two round trips
    ADVANCE = "advance"  # the clock jumps past the lease


# The history op each starting action records.
ACTION_OPS: dict[Action, Op] = {
    Action.SUBMIT: Op.SUBMIT,
    Action.RESUBMIT: Op.SUBMIT,
    Action.CLAIM: Op.CLAIM,
    Action.COMPLETE: Op.COMPLETE,
    Action.FAIL: Op.FAIL,
    Action.HEARTBEAT: Op.HEARTBEAT,
    Action.RESCUE: Op.RESCUE,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One rule firing: ``actor action [task_id] [retry]``."""

    actor: str
    action: Action
    task_id: str | None = None
    retry: bool = False

    def __str__(self) -> str:
        words = [self.actor, str(self.action)]
        words += [self.task_id] if self.task_id else []
        words += ["retry"] if self.retry else []
        return " ".join(words)

    @classmethod
    def parse(cls, line: str) -> Step:
        """Inverse of ``str(step)``; raises ``ValueError`` on a malformed line."""
        words = line.split()
        if len(words) < 2:
            raise ValueError(f"step {line!r}: expected 'ACTOR ACTION [TASK] [retry]'")
        retry = words[-1] == "retry"
        rest = words[2:-1] if retry else words[2:]
        if len(rest) > 1:
            raise ValueError(f"step {line!r}: too many words")
        return cls(
            actor=words[0], action=Action(words[1]), task_id=rest[0] if rest else None, retry=retry
        )


@dataclass(slots=True, kw_only=True)
class InFlight:
    """An operation between two round trips."""

    op: Op
    steps: Steps[Any]
    invoke_seq: int
    task_id: str | None = None
    token: str | None = None
    claim: Claim | None = None  # the held claim a complete/fail reports on
    retry: bool = False
    points: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Actor:
    """A worker, janitor or producer: one op at a time, claims held between ops."""

    name: str
    role: Role
    incarnation: int = 0
    in_flight: InFlight | None = None
    held: list[Claim] = field(default_factory=list)

    @property
    def worker_id(self) -> str:
        """Unique per incarnation: a restarted worker is a new worker to the queue."""
        return self.name if self.incarnation == 0 else f"{self.name}.{self.incarnation}"

    @property
    def process(self) -> str:
        return f"{self.role}-{self.worker_id}"

    @property
    def idle(self) -> bool:
        return self.in_flight is None

    def holding(self, task_id: str | None) -> Claim | None:
        return next((c for c in self.held if c.task_id == task_id), None)

    def restart(self) -> None:
        """After a crash: a fresh incarnation that holds nothing."""
        self.incarnation += 1
        self.in_flight = None
        self.held = []
