"""The explorer's engine: named actors stepping one queue, judged by the model.

:class:`World` performs one :class:`~harness.explorer.actors.Step` at a time against a
:class:`~harness.contract.TaskQueue` (the same generators the API drives), feeds
every answer to the :class:`~harness.explorer.oracle.Model`, records history events,
then inspects every known task and asks the model to judge the queue's state. The
Hypothesis machine (``machine.py``) chooses the steps; the hunt's replay and the
generated regression tests feed a literal list of steps. Nothing here knows any bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.contract import (
    Claim,
    ManualClock,
    Outcome,
    Steps,
    TaskId,
    TaskQueue,
    TaskView,
    TimeSource,
    WorkerId,
    declared,
    drive,
)
from harness.events import EventType, Op
from harness.explorer.actors import ACTION_OPS, Action, Actor, InFlight, Role, Step
from harness.explorer.inspection import fetch_views, riding
from harness.explorer.oracle import Finding, Model
from harness.explorer.trace import HistoryLog, Stage, StepRecord, Trace

CLOCK = "clock"
PRODUCER = "P"
DRAIN_WORKER = "D"
DRAIN_JANITOR = "DJ"


@dataclass(frozen=True, slots=True, kw_only=True)
class Effect:
    """What one step did, returned by the step itself (no scratch state on the world)."""

    op: str  # the operation the step belongs to ("claim", "advance", "crash", ...)
    did: str  # told for the race report, e.g. "claim -> t0 (token 3)"
    point: str | None = None  # where an operation still in flight stopped
    result: Any = None  # a finished operation's return value (Outcome, Claim, ids...)
    findings: tuple[Finding, ...] = field(default=())


@dataclass(frozen=True, slots=True, kw_only=True)
class WorldConfig:
    workers: int = 3
    janitors: int = 2
    max_tasks: int = 4  # distinct task ids the producer may submit
    drain_rounds: int = 40


class World:
    """One exploration: a queue on a flushed database, its actors, model and history."""

    def __init__(self, queue: TaskQueue, clock: ManualClock, config: WorldConfig) -> None:
        self.queue, self.clock, self.config = queue, clock, config
        self.status_map = dict(declared(queue, "status_map"))
        real = any(
            TimeSource(s) is TimeSource.REAL for s in declared(queue, "time_sources").values()
        )
        # A library timing things on its own clock is told of every jump, to age them.
        self.on_clock_advance = getattr(queue, "on_clock_advance", None) if real else None
        self.model = Model(queue.lease_timeout)
        self.history = HistoryLog()
        self.trace = Trace()
        self.findings: list[Finding] = []
        self.stage = Stage.SETUP
        self.submitted: list[str] = []
        self._seq = 0
        self._views: dict[str, TaskView | None] | None = None
        actors = [Actor(name=w, role=Role.WORKER) for w in worker_names(config)]
        actors += [Actor(name=j, role=Role.JANITOR) for j in janitor_names(config)]
        actors += [
            Actor(name=PRODUCER, role=Role.PRODUCER),
            Actor(name=DRAIN_WORKER, role=Role.WORKER),
            Actor(name=DRAIN_JANITOR, role=Role.JANITOR),
        ]
        self.actors = {a.name: a for a in actors}
        self.names = (*(a.name for a in actors), CLOCK)  # a fixed order, for the machine

    # ---- which steps make sense now (the machine's rules choose among these) ---------

    def options(self, action: Action) -> list[Step]:
        """Every step of this kind some actor could take now, in a stable order."""
        return [step for name in self.names for step in self.steps_for(name, action)]

    def steps_for(self, name: str, action: Action) -> list[Step]:
        """The steps of this kind the named actor could take now (the drain's own
        worker and janitor are not offered to the search)."""
        if name == CLOCK:
            return [Step(actor=CLOCK, action=action)] if action is Action.ADVANCE else []
        a = self.actors[name]
        if action is Action.ADVANCE or name in (DRAIN_WORKER, DRAIN_JANITOR):
            return []
        if action in (Action.SUBMIT, Action.RESUBMIT):
            return self._submit_options(action) if a.role is Role.PRODUCER else []
        match action:
            case Action.STEP:
                offered = not a.idle
            case Action.CRASH:
                offered = a.role is not Role.PRODUCER and (not a.idle or bool(a.held))
            case Action.COMPLETE | Action.FAIL:
                return (
                    [Step(actor=name, action=action, task_id=c.task_id) for c in a.held]
                    if a.idle
                    else []
                )
            case Action.RESCUE:
                offered = a.role is Role.JANITOR and a.idle
            case _:
                offered = a.role is Role.WORKER and a.idle
        return [Step(actor=name, action=action)] if offered else []

    def allows(self, step: Step) -> bool:
        """Whether a literal step (from a replay) can be taken now."""
        if step.action is Action.SUBMIT:
            producer_idle = self.actors[PRODUCER].idle
            return producer_idle and step.task_id not in self.submitted
        same = (o for o in self.options(step.action) if o.actor == step.actor)
        return any(o.task_id == step.task_id for o in same)

    def _submit_options(self, action: Action) -> list[Step]:
        if not self.actors[PRODUCER].idle:
            return []
        if action is Action.SUBMIT:
            room = len(self.submitted) < self.config.max_tasks
            return (
                [Step(actor=PRODUCER, action=action, task_id=self.next_task_id())] if room else []
            )
        if not declared(self.queue, "idempotent_submit"):
            return []  # a second submit of one id is a second task: the caller's duplicate
        return [Step(actor=PRODUCER, action=action, task_id=t) for t in self.submitted]

    def next_task_id(self) -> str:
        return f"t{len(self.submitted)}"

    # ---- performing one step ----------------------------------------------------------

    def perform(self, step: Step) -> list[Finding]:
        """Do one step; return the findings it exposed (also recorded in the trace)."""
        with riding(self.queue, self.submitted):
            effect = self._dispatch(step)
        # A clock jump or a crash sends nothing to Redis: the last views still hold.
        quiet = step.action in (Action.ADVANCE, Action.CRASH) and self._views is not None
        views = self._views if quiet and self._views is not None else self.views()
        self._views = views
        in_flight = sum(1 for a in self.actors.values() if not a.idle)
        state = self.model.check_state(views, carried=in_flight, op=effect.op)
        found = [*effect.findings, *state]
        self.trace.records.append(
            StepRecord(
                step=step,
                stage=self.stage,
                did=effect.did,
                point=effect.point,
                result=effect.result,
                views=views,
                findings=tuple(found),
                status_map=self.status_map,
            )
        )
        self.findings += found
        return found

    def _dispatch(self, step: Step) -> Effect:
        if step.actor == CLOCK:
            jump = self.queue.lease_timeout + 1
            self.clock.advance(jump)
            if self.on_clock_advance is not None:
                self.on_clock_advance(jump)
            return Effect(op="advance", did=f"clock +{jump:g}s")
        actor = self.actors[step.actor]
        if step.action is Action.STEP:
            assert actor.in_flight is not None, f"{step}: nothing in flight"
            return self._advance(actor)
        if step.action is Action.CRASH:
            return Effect(op="crash", did=self._crash(actor))
        return self._start(actor, step)

    def _start(self, actor: Actor, step: Step) -> Effect:
        claim = actor.holding(step.task_id)
        task_id, gen = self._operation(actor, step, claim)
        op = ACTION_OPS[step.action]
        token = claim.token if claim else None
        self._seq += 1
        actor.in_flight = InFlight(
            op=op,
            steps=gen,
            invoke_seq=self._seq,
            task_id=task_id,
            token=token,
            claim=claim,
            retry=step.retry,
        )
        if op is not Op.RESCUE:  # rescues are recorded per re-queued task when known
            self._emit(
                actor,
                EventType.INVOKE,
                task_id=task_id,
                token=token,
                value={"retry": step.retry} if op is Op.FAIL else None,
            )
        return self._advance(actor)

    def _operation(
        self, actor: Actor, step: Step, claim: Claim | None
    ) -> tuple[str | None, Steps[Any]]:
        """The queue's generator for a starting step, and the task it is about."""
        wid = WorkerId(actor.worker_id)
        if step.action in (Action.SUBMIT, Action.RESUBMIT):
            task_id = TaskId(step.task_id or self.next_task_id())
            if task_id not in self.submitted:
                self.submitted.append(task_id)
            return task_id, self.queue.submit(f'"job {task_id}"', task_id)
        if step.action in (Action.COMPLETE, Action.FAIL):
            assert claim is not None, f"{step}: {actor.name} holds no claim of it"
            if step.action is Action.COMPLETE:
                return claim.task_id, self.queue.complete(claim.task_id, wid, claim.token, "done")
            fail = self.queue.fail(claim.task_id, wid, claim.token, "boom", step.retry)
            return claim.task_id, fail
        if step.action is Action.CLAIM:
            return None, self.queue.claim(wid)
        if step.action is Action.HEARTBEAT:
            return None, self.queue.heartbeat(wid)
        if step.action is Action.RESCUE:
            return None, self.queue.rescue_expired()
        raise ValueError(f"{step}: not an operation")

    def _advance(self, actor: Actor) -> Effect:
        flight = actor.in_flight
        assert flight is not None
        op = str(flight.op)
        try:
            point = next(flight.steps)
        except StopIteration as stop:
            self._seq += 1
            did, found = self._finish(actor, flight, stop.value)
            actor.in_flight = None  # after _finish, whose events name the op in flight
            return Effect(op=op, did=did, result=stop.value, findings=tuple(found))
        flight.points.append(point)
        did = f"{flight.op} {flight.task_id or ''} ... {point}".replace("  ", " ")
        return Effect(op=op, did=did, point=point)

    def _finish(self, actor: Actor, flight: InFlight, result: Any) -> tuple[str, list[Finding]]:
        """Record a finished operation; return what it did and what the model found."""
        match flight.op:
            case Op.SUBMIT:
                self._emit(
                    actor, EventType.OK, task_id=result.task_id, value={"created": result.created}
                )
                self.model.submitted(result.task_id, result.created)
                return f"submit {result.task_id}" + ("" if result.created else " (exists)"), []
            case Op.CLAIM:
                return self._finish_claim(actor, flight, result)
            case Op.COMPLETE | Op.FAIL:
                return self._finish_report(actor, flight, result)
            case Op.HEARTBEAT:
                self._emit(actor, EventType.OK, value={"leases_extended": result})
                self.model.heartbeat(actor.worker_id, int(result), self.clock.now())
                return f"heartbeat (+{result} leases)", []
            case _:  # Op.RESCUE
                for task_id in result:  # as the harness records a janitor's reported rescues
                    self._emit(actor, EventType.INVOKE, task_id=task_id)
                    self._emit(actor, EventType.OK, task_id=task_id)
                self.model.rescued(list(result), seq=self._seq)
                return f"rescue -> [{', '.join(result)}]", []

    def _finish_claim(
        self, actor: Actor, flight: InFlight, claim: Claim | None
    ) -> tuple[str, list[Finding]]:
        if claim is None:
            self._emit(actor, EventType.OK)
            return "claim -> nothing pending", []
        self._emit(
            actor,
            EventType.OK,
            task_id=claim.task_id,
            token=claim.token,
            expires_at=claim.expires_at,
            value={"attempt": claim.attempt},
        )
        actor.held.append(claim)
        found = self.model.claimed(
            claim,
            worker=actor.worker_id,
            invoke_seq=flight.invoke_seq,
            seq=self._seq,
            now=self.clock.now(),
        )
        token = f" (token {claim.token})" if claim.token else ""
        return f"claim -> {claim.task_id}{token}", found

    def _finish_report(
        self, actor: Actor, flight: InFlight, outcome: Outcome
    ) -> tuple[str, list[Finding]]:
        task_id = flight.task_id or ""
        type_ = EventType.OK if outcome.accepted else EventType.FAIL
        self._emit(
            actor,
            type_,
            task_id=task_id,
            token=flight.token,
            error=None if outcome.accepted else str(outcome),
            value={"outcome": str(outcome)},
        )
        if flight.claim in actor.held:
            actor.held.remove(flight.claim)
        found = self.model.finished(
            task_id,
            worker=actor.worker_id,
            op=str(flight.op),
            outcome=outcome,
            invoke_seq=flight.invoke_seq,
            seq=self._seq,
        )
        return f"{flight.op} {task_id} -> {outcome}", found

    def _crash(self, actor: Actor) -> str:
        """The actor dies here; returns what that did."""
        flight = actor.in_flight
        lost = ", ".join(c.task_id for c in actor.held)
        if flight is not None and flight.op is Op.RESCUE:
            flight.steps.close()  # its re-queues so far go unrecorded, like a dead janitor's
            did = "CRASH during rescue"
        elif flight is not None:
            flight.steps.close()
            where = flight.points[-1] if flight.points else "start"
            self._emit(
                actor,
                EventType.INFO,
                f=flight.op,
                task_id=flight.task_id,
                token=flight.token,
                error=f"crashed at {where}",
            )
            did = f"CRASH during {flight.op} (at {where})"
        else:
            did = "CRASH"
        self._emit(actor, EventType.INFO, f=Op.CRASH)
        actor.restart()
        return did + (f", forgets {lost}" if lost else "")

    def _emit(self, actor: Actor, type_: EventType, *, f: Op | None = None, **fields: Any) -> None:
        op = f or (actor.in_flight.op if actor.in_flight else Op.CRASH)
        worker_id = actor.worker_id if actor.role is Role.WORKER else None
        self.history.emit(
            actor.process, type_, op, clock_s=self.clock.now(), worker_id=worker_id, **fields
        )

    # ---- the queue's state ----------------------------------------------------------------

    def views(self) -> dict[str, TaskView | None]:
        return fetch_views(self.queue, self.submitted)

    # ---- the final drain -------------------------------------------------------------------

    def drain(self) -> list[Finding]:
        """Healthy worker and janitor, time moving on, until the queue is empty; then
        judge exactly-once. In-flight ops first run to their end (slow, not dead)."""
        self.stage = Stage.DRAIN
        found: list[Finding] = []
        for actor in list(self.actors.values()):
            while not actor.idle:
                found += self.perform(Step(actor=actor.name, action=Action.STEP))
        for _ in range(self.config.drain_rounds):
            found += self.run_to_end(Step(actor=DRAIN_WORKER, action=Action.CLAIM))
            held = self.actors[DRAIN_WORKER].held
            if held:
                found += self.run_to_end(
                    Step(actor=DRAIN_WORKER, action=Action.COMPLETE, task_id=held[-1].task_id)
                )
                continue
            stats = drive(self.queue.stats())
            if stats.pending == 0 and stats.processing == 0:
                break
            found += self.perform(Step(actor=CLOCK, action=Action.ADVANCE))
            found += self.run_to_end(Step(actor=DRAIN_JANITOR, action=Action.RESCUE))
        final = self.model.check_drained(self.views())
        self.findings += final
        return found + final

    def run_to_end(self, step: Step) -> list[Finding]:
        """A step, then its op's remaining round trips."""
        found = self.perform(step)
        while not self.actors[step.actor].idle:
            found += self.perform(Step(actor=step.actor, action=Action.STEP))
        return found


def worker_names(config: WorldConfig) -> list[str]:
    return [f"W{i}" for i in range(config.workers)]


def janitor_names(config: WorldConfig) -> list[str]:
    return [f"J{i}" for i in range(config.janitors)]
