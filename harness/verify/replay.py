"""A violation found under load, back to a step-level schedule of the same queue code.

From a run folder (``harness analyze`` wrote ``violations.json``; the history is in
``history/``) and one violation (``KIND-N``: the N-th violation of that kind), this
takes the task's operations — every claim that returned it, every complete / fail of
it and every janitor re-queue of it — by the processes that touched it, in observed
order. Each process becomes one actor (workers ``W0..``, janitors ``J0..``) whose
*program* is its ops on that task, in its own order; and the run's real-time order
is kept: an op may not start before every op whose answer came before its invoke has
finished. Then the verify engine searches, breadth-first, the step-level schedules of
that program (every interleaving of the ops' round trips, the clock jumping past the
lease, crashes of processes that crashed or left an op unanswered) for one whose
findings have the violation's kind (the clock jumps at most once per re-queue in the
program, at least once). Breadth-first, the first one found is the
shortest: the reproduction is already shrunk.

A violation no schedule reproduces is reported as such: it may come from outside the
queue code (the API layer, a client's retry, clock skew between hosts) or from ops on
other tasks, which the program leaves out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.checks.verdicts import Kind
from harness.errors import HistoryError
from harness.explorer.actors import Action, Step
from harness.explorer.world import World
from harness.history import load_history

_ACTIONS = {"claim": Action.CLAIM, "complete": Action.COMPLETE, "fail": Action.FAIL,
            "rescue": Action.RESCUE}  # fmt: skip
_STARTS = frozenset(_ACTIONS.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgramOp:
    """One op of the task's program: who, what, and which ops must have finished first."""

    index: int  # position in the whole program, in order of invocation
    actor: str
    action: Action
    retry: bool | None  # a fail's retry flag; None: not recorded (both are tried)
    after: frozenset[int]  # ops whose answer the run saw before this op's invoke


@dataclass(frozen=True, slots=True, kw_only=True)
class Program:
    kind: Kind
    task_id: str  # the run's id; the schedule calls it t0
    ops: tuple[ProgramOp, ...]
    workers: tuple[str, ...]  # process names, in the order W0, W1, ...
    janitors: tuple[str, ...]
    crashable: frozenset[str]  # actors allowed to crash: they crashed or left an op open


def read_violation(run_dir: Path, ref: str) -> dict[str, Any]:
    """``KIND-N`` (1-based) from ``run_dir/violations.json``; HistoryError otherwise."""
    kind, _, number = ref.rpartition("-")
    path = run_dir / "violations.json"
    if not kind or not number.isdigit() or int(number) < 1:
        raise HistoryError(f"--violation {ref!r}: expected KIND-N, e.g. stale_completion-1")
    try:
        listed = json.loads(path.read_text())["violations"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HistoryError(f"{path}: unreadable (run `harness analyze` first): {exc}") from exc
    mine = [v for v in listed if v.get("kind") == kind]
    if int(number) > len(mine):
        raise HistoryError(f"--violation {ref}: the run has {len(mine)} {kind} violation(s)")
    return dict(mine[int(number) - 1])


def program_of(run_dir: Path, violation: dict[str, Any]) -> Program:
    """The task's ops by the processes that touched it, in observed order."""
    frame = load_history(run_dir)
    task_id = str(violation["task_id"])
    ops = _task_ops(frame, task_id)
    workers = tuple(dict.fromkeys(o["process"] for o in ops if o["f"] != "rescue"))
    janitors = tuple(dict.fromkeys(o["process"] for o in ops if o["f"] == "rescue"))
    names = {p: f"W{i}" for i, p in enumerate(workers)}
    names |= {p: f"J{i}" for i, p in enumerate(janitors)}
    program = tuple(
        ProgramOp(
            index=i,
            actor=names[o["process"]],
            action=_ACTIONS[o["f"]],
            retry=o["retry"],
            after=frozenset(j for j, p in enumerate(ops[:i]) if p["answered_ns"] < o["invoked_ns"]),
        )
        for i, o in enumerate(ops)
    )
    crashed = _crashed(frame, set(names))
    return Program(
        kind=Kind(violation["kind"]),
        task_id=task_id,
        ops=program,
        workers=workers,
        janitors=janitors,
        crashable=frozenset(names[p] for p in crashed),
    )


def _task_ops(frame: pd.DataFrame, task_id: str) -> list[dict[str, Any]]:
    """One dict per op on the task: its process, f, invoke / answer times, retry flag."""
    rows = frame[(frame["task_id"] == task_id) & frame["f"].isin(list(_ACTIONS))]
    times = frame["time_ns"].to_numpy(dtype="int64")  # by event index (the frame's order)
    values: list[Any] = frame["value"].tolist()
    ops: dict[int, dict[str, Any]] = {}
    columns = ("invoke_index", "completion_index", "f", "outcome", "process")
    for invoke, answer, f, outcome, process in zip(
        *(rows[c].tolist() for c in columns), strict=True
    ):
        if invoke < 0 or invoke in ops or (f == "claim" and outcome != "ok"):
            continue  # a claim that did not return this task is not about it
        ops[invoke] = {
            "process": str(process),
            "f": str(f),
            "invoked_ns": int(times[invoke]),
            "answered_ns": int(times[answer]) if answer >= 0 else 2**62,
            "retry": _retry(values[invoke]),
        }
    return [ops[i] for i in sorted(ops)]


def _retry(value: Any) -> bool | None:
    if not isinstance(value, str):
        return None
    try:
        retry = json.loads(value).get("retry")
    except (ValueError, AttributeError):
        return None
    return retry if isinstance(retry, bool) else None


def _crashed(frame: pd.DataFrame, processes: set[str]) -> set[str]:
    mine = frame[frame["process"].isin(list(processes))]
    died = mine[(mine["f"] == "crash") | (mine["outcome"] == "info")]
    return {str(p) for p in died["process"].unique()}


class ProgramPolicy:
    """Lets each actor start only its next op, once the ops before it have finished."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.by_actor: dict[str, list[ProgramOp]] = {}
        for op in program.ops:
            self.by_actor.setdefault(op.actor, []).append(op)
        rescues = sum(1 for op in program.ops if op.action is Action.RESCUE)
        self.max_advances = max(1, rescues)

    def started(self, path: tuple[Step, ...]) -> dict[str, int]:
        counts = dict.fromkeys(self.by_actor, 0)
        for step in path:
            if step.action in _STARTS and step.actor in counts:
                counts[step.actor] += 1
        return counts

    def allowed(self, world: World, path: tuple[Step, ...], steps: list[Step]) -> list[Step]:
        started = self.started(path)
        done = self._finished(world, started)
        if not self._claims_returned_the_task(world, done):
            return []  # a claim came back empty or with another task: not the observed run
        # The clock matters to the janitors: no more jumps than rescues (at least one).
        clock_ok = sum(1 for s in path if s.action is Action.ADVANCE) < self.max_advances
        return [
            s
            for s in steps
            if self._fits(s, started, done) and (clock_ok or s.action is not Action.ADVANCE)
        ]

    def _finished(self, world: World, started: dict[str, int]) -> set[int]:
        done: set[int] = set()
        for actor, ops in self.by_actor.items():
            count = started[actor]
            finished = count if world.actors[actor].idle else count - 1
            done.update(op.index for op in ops[:finished])
        return done

    def _claims_returned_the_task(self, world: World, done: set[int]) -> bool:
        """Every finished claim of the program returned the task, as it did in the run
        (the model keeps one lease per claim that returned a task, per worker id)."""
        for actor, ops in self.by_actor.items():
            claims = sum(1 for op in ops if op.action is Action.CLAIM and op.index in done)
            if not claims:
                continue
            leases = sum(
                len(held)
                for worker, held in world.model.leases.items()
                if worker == actor or worker.startswith(f"{actor}.")
            )
            if leases < claims:
                return False
        return True

    def _fits(self, step: Step, started: dict[str, int], done: set[int]) -> bool:
        if step.action in (Action.STEP, Action.ADVANCE):
            return True
        if step.action is Action.CRASH:
            return step.actor in self.program.crashable
        ops = self.by_actor.get(step.actor, [])
        if step.action not in _STARTS or started.get(step.actor, 0) >= len(ops):
            return False
        op = ops[started[step.actor]]
        retry_ok = op.retry is None or step.action is not Action.FAIL or op.retry == step.retry
        return op.action is step.action and retry_ok and op.after <= done

    def key(self, path: tuple[Step, ...]) -> bytes:
        advances = sum(1 for s in path if s.action is Action.ADVANCE)
        return repr((sorted(self.started(path).items()), advances)).encode()
