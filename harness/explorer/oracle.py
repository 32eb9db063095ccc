"""The oracle: a pure in-memory model of what a task queue is *meant* to do.

The explorer tells the model what each actor observed (a claim returned task t with
token k, a completion was accepted, the janitor re-queued t, ...) and what the queue's
state looks like after each step; the model answers with :class:`Finding` values, one
per broken promise. The promises are generic — none names a particular bug:

- a claim never returns a task that is completed (``resurrection``), still leased to a
  live owner (``double_claim``), or never submitted (``unexpected``);
- a completion is accepted at most once per task (``duplicate_completion``), and a
  completion or failure only from the task's current owner (``stale_completion``);
- an acknowledged task that is not finished is always somewhere it can be served from,
  unless an operation in flight is carrying it (``lost``);
- a completed task is never queued again (``resurrection``), never queued twice
  (``double_claim``: two workers could hold it at once), never flipped to failed
  (``audit_mismatch``); after a drain every acknowledged task finished exactly once.

Time is the explorer's logical sequence (``seq``) for "happened before", and the
injected clock (``now``) for leases. Pure: no redis, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from harness.checks.verdicts import Kind
from harness.contract import Claim, Outcome, TaskId, TaskStatus, TaskView


class Phase(StrEnum):
    """Where the model believes a task is."""

    SUBMITTING = "submitting"  # a submit is in flight, not yet acknowledged
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One broken promise, as the model saw it."""

    kind: Kind
    task_id: str
    op: str  # the op that exposed it: claim, complete, fail, rescue, crash, drain, ...
    prior: Phase  # the model's phase of the task just before that op
    explanation: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Which findings fail the search (a checker parameter; ``None`` matches anything)."""

    kind: Kind | None = None
    op: str | None = None
    prior: Phase | None = None

    def matches(self, finding: Finding) -> bool:
        return (
            (self.kind is None or finding.kind is self.kind)
            and (self.op is None or finding.op == self.op)
            and (self.prior is None or finding.prior is self.prior)
        )

    def label(self) -> str:
        parts = [str(self.kind or "any")]
        parts += [f"op={self.op}"] if self.op else []
        parts += [f"prior={self.prior}"] if self.prior else []
        return " ".join(parts)


@dataclass(slots=True, kw_only=True)
class Lease:
    """One accepted claim of a task (mutable: released or extended as the run goes on)."""

    task_id: str
    worker: str
    token: str | None
    ok_seq: int
    expires_at: float
    released: bool = False


@dataclass(slots=True, kw_only=True)
class TaskModel:
    phase: Phase
    owner: Lease | None = None
    superseded_seq: int | None = None  # when the current owner lost it (rescue / other claim)
    completions: list[int] = field(default_factory=list)  # seq of accepted completions
    failures: int = 0  # accepted terminal failures


class Model:
    """The intended semantics, fed with observations; returns findings, never raises."""

    def __init__(self, lease_timeout: float) -> None:
        self.lease_timeout = lease_timeout
        self.tasks: dict[str, TaskModel] = {}
        self.leases: dict[str, list[Lease]] = {}  # worker id -> its leases, oldest first

    def copy(self) -> Model:
        """A deep copy (a task's owner stays the same object as the worker's lease), without
        ``copy.deepcopy``'s generic walk: the verifier copies the model for every state."""
        twin = Model(self.lease_timeout)
        leases: dict[int, Lease] = {}

        def lease(old: Lease) -> Lease:
            new = leases.get(id(old))
            if new is None:
                new = leases[id(old)] = replace(old)
            return new

        twin.leases = {worker: [lease(x) for x in held] for worker, held in self.leases.items()}
        twin.tasks = {
            task_id: TaskModel(
                phase=task.phase,
                owner=None if task.owner is None else lease(task.owner),
                superseded_seq=task.superseded_seq,
                completions=list(task.completions),
                failures=task.failures,
            )
            for task_id, task in self.tasks.items()
        }
        return twin

    # ---- observations of ops ---------------------------------------------------------

    def submitted(self, task_id: str, created: bool) -> None:
        if task_id not in self.tasks:
            self.tasks[task_id] = TaskModel(phase=Phase.PENDING)
        elif self.tasks[task_id].phase is Phase.SUBMITTING:
            self.tasks[task_id].phase = Phase.PENDING

    def claimed(
        self, claim: Claim, *, worker: str, invoke_seq: int, seq: int, now: float
    ) -> list[Finding]:
        task = self.tasks.get(claim.task_id)
        if task is None:
            return [
                self._finding(
                    Kind.UNEXPECTED,
                    claim.task_id,
                    "claim",
                    Phase.PENDING,
                    f"{worker} claimed {claim.task_id}, which was never submitted",
                )
            ]
        out = self._judge_claim(task, claim, worker=worker, invoke_seq=invoke_seq, now=now)
        if task.owner is not None:
            task.owner.released = True
            task.superseded_seq = seq
        expires = claim.expires_at if claim.expires_at is not None else now + self.lease_timeout
        lease = Lease(
            task_id=claim.task_id, worker=worker, token=claim.token, ok_seq=seq, expires_at=expires
        )
        task.owner, task.phase = lease, Phase.PROCESSING
        self.leases.setdefault(worker, []).append(lease)
        return out

    def _judge_claim(
        self, task: TaskModel, claim: Claim, *, worker: str, invoke_seq: int, now: float
    ) -> list[Finding]:
        out: list[Finding] = []
        prior = task.phase
        if task.completions and task.completions[0] < invoke_seq:
            out.append(
                self._finding(
                    Kind.RESURRECTION,
                    claim.task_id,
                    "claim",
                    prior,
                    f"{worker} claimed {claim.task_id} after its completion was accepted",
                )
            )
        owner = task.owner
        if owner is not None and not owner.released and now < owner.expires_at:
            out.append(
                self._finding(
                    Kind.DOUBLE_CLAIM,
                    claim.task_id,
                    "claim",
                    prior,
                    f"{worker} claimed {claim.task_id} while {owner.worker}'s lease on it "
                    f"was live (expires in {owner.expires_at - now:g}s)",
                )
            )
        return out

    def finished(
        self, task_id: str, *, worker: str, op: str, outcome: Outcome, invoke_seq: int, seq: int
    ) -> list[Finding]:
        """An answer to complete (``op="complete"``) or fail (``op="fail"``)."""
        task = self.tasks.get(task_id)
        if not outcome.accepted or task is None:
            return []
        prior = task.phase
        out = self._judge_owner(task, task_id, worker=worker, op=op, invoke_seq=invoke_seq)
        if outcome is Outcome.COMPLETED and task.completions:
            out.append(
                self._finding(
                    Kind.DUPLICATE_COMPLETION,
                    task_id,
                    op,
                    prior,
                    f"a second completion of {task_id} was accepted (from {worker})",
                )
            )
        if task.owner is not None:
            task.owner.released = True
        task.owner, task.superseded_seq = None, seq
        if outcome is Outcome.COMPLETED:
            task.completions.append(seq)
            task.phase = Phase.COMPLETED
        elif outcome is Outcome.FAILED:
            task.failures += 1
            task.phase = Phase.COMPLETED if task.completions else Phase.FAILED
        elif not task.completions:
            task.phase = Phase.PENDING
        return out

    def _judge_owner(
        self, task: TaskModel, task_id: str, *, worker: str, op: str, invoke_seq: int
    ) -> list[Finding]:
        mine = [lease for lease in self.leases.get(worker, []) if lease.task_id == task_id]
        lease = mine[-1] if mine else None
        if lease is None:
            why = "which never claimed it"
        elif lease is task.owner:
            return []
        elif task.superseded_seq is not None and task.superseded_seq < invoke_seq:
            since = (
                f"{task.owner.worker} had claimed it since"
                if task.owner is not None
                else "it had been finished or re-queued since"
            )
            why = f"whose claim was superseded: {since}"
        else:
            return []
        explanation = f"{op} of {task_id} accepted from {worker}, {why}"
        return [self._finding(Kind.STALE_COMPLETION, task_id, op, task.phase, explanation)]

    def heartbeat(self, worker: str, extended: int, now: float) -> None:
        """A heartbeat that extended leases: the worker's live leases run from now."""
        if extended <= 0:
            return
        for lease in self.leases.get(worker, []):
            if not lease.released:
                lease.expires_at = max(lease.expires_at, now + self.lease_timeout)

    def rescued(self, task_ids: list[TaskId], *, seq: int) -> None:
        """The janitor re-queued these tasks: their owners' claims are superseded."""
        for task_id in task_ids:
            task = self.tasks.get(task_id)
            if task is None:
                continue
            if task.owner is not None:
                task.owner.released = True
            task.owner = None
            task.superseded_seq = seq
            if not task.completions:
                task.phase = Phase.PENDING

    # ---- observations of state --------------------------------------------------------

    def check_state(
        self, views: Mapping[str, TaskView | None], *, carried: int, op: str
    ) -> list[Finding]:
        """Judge the queue's state after a step. ``carried``: ops in flight that may hold
        one task each between two round trips (a popped, not yet started claim)."""
        out: list[Finding] = []
        missing: list[str] = []
        for task_id, task in self.tasks.items():
            view = views.get(task_id)
            if task.phase is Phase.SUBMITTING:
                continue
            if task.completions:
                out += self._check_completed(task_id, task, view, op)
            elif view is not None and view.status is TaskStatus.FAILED:
                task.phase = Phase.FAILED  # dead-lettered by the queue itself
            elif task.phase is not Phase.FAILED:
                if view is None or view.status is TaskStatus.MISSING:
                    missing.append(task_id)
                elif view.pending_copies > 1:
                    out.append(
                        self._finding(
                            Kind.DOUBLE_CLAIM,
                            task_id,
                            op,
                            task.phase,
                            f"{task_id} is in the pending list {view.pending_copies} times: "
                            "as many workers can claim it at once",
                        )
                    )
        return out + self._lost(missing, carried=carried, op=op)

    def _lost(self, missing: list[str], *, carried: int, op: str) -> list[Finding]:
        """Missing tasks beyond what the ops in flight may be carrying are lost."""
        if len(missing) <= carried:
            return []
        return [
            self._finding(
                Kind.LOST,
                t,
                op,
                self.tasks[t].phase,
                f"{t} was acknowledged and is neither finished, pending nor "
                "processing: nothing will ever serve it",
            )
            for t in missing
        ]

    def _check_completed(
        self, task_id: str, task: TaskModel, view: TaskView | None, op: str
    ) -> list[Finding]:
        if view is None:
            return []
        if view.status in (TaskStatus.PENDING, TaskStatus.PROCESSING):
            return [
                self._finding(
                    Kind.RESURRECTION,
                    task_id,
                    op,
                    task.phase,
                    f"{task_id} was completed, yet it is {view.status} again: "
                    "it will be served a second time",
                )
            ]
        if view.status is TaskStatus.FAILED:
            return [
                self._finding(
                    Kind.AUDIT_MISMATCH,
                    task_id,
                    op,
                    task.phase,
                    f"{task_id} was completed, yet the queue now says it failed",
                )
            ]
        return []

    def check_drained(self, views: Mapping[str, TaskView | None]) -> list[Finding]:
        """After the drain: every acknowledged task finished exactly once."""
        out: list[Finding] = []
        for task_id, task in self.tasks.items():
            view = views.get(task_id)
            if task.phase is Phase.SUBMITTING or task.completions or task.failures:
                continue
            if view is not None and view.status is TaskStatus.FAILED:
                continue
            if view is not None and view.status in (TaskStatus.PENDING, TaskStatus.PROCESSING):
                out.append(
                    self._finding(
                        Kind.STUCK,
                        task_id,
                        "drain",
                        task.phase,
                        f"{task_id} is still {view.status} after the drain",
                    )
                )
            else:
                out.append(
                    self._finding(
                        Kind.LOST,
                        task_id,
                        "drain",
                        task.phase,
                        f"{task_id} was acknowledged but never completed nor failed",
                    )
                )
        return out

    @staticmethod
    def _finding(kind: Kind, task_id: str, op: str, prior: Phase, text: str) -> Finding:
        return Finding(kind=kind, task_id=task_id, op=op, prior=prior, explanation=text)
