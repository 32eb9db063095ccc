"""The explorer's oracle, fed tiny literal observations; plus steps' literal form."""

from __future__ import annotations

import pytest

from harness.checks.verdicts import Kind
from harness.contract import Claim, Outcome, TaskId, TaskStatus, TaskView
from harness.explorer.actors import Action, Step
from harness.explorer.oracle import Finding, Model, Phase, Target

LEASE = 30.0


def claim(task_id: str, token: str | None = None, expires_at: float | None = None) -> Claim:
    return Claim(
        task_id=TaskId(task_id), payload="{}", attempt=1, token=token, expires_at=expires_at
    )


def view(task_id: str, status: TaskStatus, *, record: str = "", copies: int = 0) -> TaskView:
    return TaskView(
        task_id=TaskId(task_id),
        status=status,
        record_status=record or str(status),
        attempts=1,
        worker_id=None,
        pending_copies=copies,
        in_processing=status is TaskStatus.PROCESSING,
    )


def kinds(findings: list[Finding]) -> list[Kind]:
    return [f.kind for f in findings]


@pytest.fixture
def model() -> Model:
    m = Model(LEASE)
    m.submitted("t0", created=True)
    return m


def test_a_clean_claim_and_completion_find_nothing(model: Model) -> None:
    assert model.claimed(claim("t0"), worker="W0", invoke_seq=1, seq=2, now=0.0) == []
    done = model.finished(
        "t0", worker="W0", op="complete", outcome=Outcome.COMPLETED, invoke_seq=3, seq=4
    )
    assert done == []
    assert model.check_state({"t0": view("t0", TaskStatus.COMPLETED)}, carried=0, op="x") == []
    assert model.check_drained({"t0": view("t0", TaskStatus.COMPLETED)}) == []


def test_claim_during_a_live_lease_is_a_double_claim(model: Model) -> None:
    model.claimed(claim("t0"), worker="W0", invoke_seq=1, seq=2, now=0.0)
    found = model.claimed(claim("t0"), worker="W1", invoke_seq=3, seq=4, now=10.0)
    assert kinds(found) == [Kind.DOUBLE_CLAIM]
    assert found[0].op == "claim"
    assert found[0].prior is Phase.PROCESSING


def test_claim_after_the_lease_expired_is_not_a_double_claim(model: Model) -> None:
    model.claimed(claim("t0"), worker="W0", invoke_seq=1, seq=2, now=0.0)
    assert model.claimed(claim("t0"), worker="W1", invoke_seq=3, seq=4, now=LEASE) == []


def test_a_heartbeat_that_extended_leases_keeps_them_live(model: Model) -> None:
    model.claimed(claim("t0"), worker="W0", invoke_seq=1, seq=2, now=0.0)
    model.heartbeat("W0", extended=1, now=25.0)
    found = model.claimed(claim("t0"), worker="W1", invoke_seq=3, seq=4, now=40.0)
    assert kinds(found) == [Kind.DOUBLE_CLAIM]


def test_claim_after_an_accepted_completion_is_a_resurrection(model: Model) -> None:
    model.claimed(claim("t0"), worker="W0", invoke_seq=1, seq=2, now=0.0)
    model.finished("t0", worker="W0", op="complete", outcome=Outcome.COMPLETED, invoke_seq=3, seq=4)
    found = model.claimed(claim("t0"), worker="W1", invoke_seq=5, seq=6, now=1.0)
    assert kinds(found) == [Kind.RESURRECTION]


def test_completion_after_a_rescue_is_stale_then_a_second_one_is_duplicate(model: Model) -> None:
    model.claimed(claim("t0"), worker="W0", invoke_seq=1, seq=2, now=0.0)
    model.rescued([TaskId("t0")], seq=3)
    model.claimed(claim("t0"), worker="W1", invoke_seq=4, seq=5, now=31.0)
    mine = model.finished(
        "t0", worker="W1", op="complete", outcome=Outcome.COMPLETED, invoke_seq=6, seq=7
    )
    late = model.finished(
        "t0", worker="W0", op="complete", outcome=Outcome.COMPLETED, invoke_seq=8, seq=9
    )
    assert mine == []
    assert sorted(kinds(late)) == [Kind.DUPLICATE_COMPLETION, Kind.STALE_COMPLETION]
    assert {f.prior for f in late} == {Phase.COMPLETED}


def test_a_rejected_stale_completion_is_fine(model: Model) -> None:
    model.claimed(claim("t0", "1"), worker="W0", invoke_seq=1, seq=2, now=0.0)
    model.rescued([TaskId("t0")], seq=3)
    found = model.finished(
        "t0", worker="W0", op="complete", outcome=Outcome.LEASE_LOST, invoke_seq=4, seq=5
    )
    assert found == []


def test_a_stale_failure_of_a_completed_task_is_found(model: Model) -> None:
    model.claimed(claim("t0"), worker="W0", invoke_seq=1, seq=2, now=0.0)
    model.rescued([TaskId("t0")], seq=3)
    model.claimed(claim("t0"), worker="W1", invoke_seq=4, seq=5, now=31.0)
    model.finished("t0", worker="W1", op="complete", outcome=Outcome.COMPLETED, invoke_seq=6, seq=7)
    found = model.finished(
        "t0", worker="W0", op="fail", outcome=Outcome.FAILED, invoke_seq=8, seq=9
    )
    assert kinds(found) == [Kind.STALE_COMPLETION]
    assert Target(kind=Kind.STALE_COMPLETION, op="fail", prior=Phase.COMPLETED).matches(found[0])
    flipped = model.check_state({"t0": view("t0", TaskStatus.FAILED)}, carried=0, op="fail")
    assert kinds(flipped) == [Kind.AUDIT_MISMATCH]


def test_a_missing_task_is_lost_unless_an_op_in_flight_may_carry_it(model: Model) -> None:
    gone = {"t0": view("t0", TaskStatus.MISSING, record="pending")}
    assert model.check_state(gone, carried=1, op="claim") == []
    found = model.check_state(gone, carried=0, op="crash")
    assert kinds(found) == [Kind.LOST]
    assert found[0].op == "crash"


def test_completed_task_back_in_the_queue_is_a_resurrection(model: Model) -> None:
    model.claimed(claim("t0"), worker="W0", invoke_seq=1, seq=2, now=0.0)
    model.finished("t0", worker="W0", op="complete", outcome=Outcome.COMPLETED, invoke_seq=3, seq=4)
    pending = {"t0": view("t0", TaskStatus.PENDING, record="pending", copies=1)}
    assert kinds(model.check_state(pending, carried=0, op="rescue")) == [Kind.RESURRECTION]


def test_a_task_queued_twice_can_be_claimed_twice(model: Model) -> None:
    twice = {"t0": view("t0", TaskStatus.PENDING, copies=2)}
    assert kinds(model.check_state(twice, carried=0, op="rescue")) == [Kind.DOUBLE_CLAIM]


def test_drain_judges_exactly_once(model: Model) -> None:
    model.submitted("t1", created=True)
    model.submitted("t2", created=True)
    views = {
        "t0": view("t0", TaskStatus.MISSING, record="processing"),
        "t1": view("t1", TaskStatus.PENDING, copies=1),
        "t2": view("t2", TaskStatus.FAILED),
    }
    found = model.check_drained(views)
    assert [(f.kind, f.task_id) for f in found] == [(Kind.LOST, "t0"), (Kind.STUCK, "t1")]


def test_target_filters_by_kind_op_and_prior() -> None:
    f = Finding(kind=Kind.LOST, task_id="t0", op="crash", prior=Phase.PENDING, explanation="")
    assert Target().matches(f)
    assert Target(kind=Kind.LOST, op="crash").matches(f)
    assert not Target(kind=Kind.RESURRECTION).matches(f)
    assert not Target(kind=Kind.LOST, prior=Phase.COMPLETED).matches(f)


@pytest.mark.parametrize(
    "line", ["W0 claim", "W1 fail t0 retry", "W2 complete t3", "clock advance", "J0 step"]
)
def test_steps_print_and_parse_as_literal_lines(line: str) -> None:
    assert str(Step.parse(line)) == line


def test_a_malformed_step_is_rejected() -> None:
    with pytest.raises(ValueError, match="expected"):
        Step.parse("W0")
    assert Step.parse("P submit t1") == Step(actor="P", action=Action.SUBMIT, task_id="t1")


def test_profiles_are_registered_and_ci_selects_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.errors import ConfigError
    from harness.explorer.hypothesis_profiles import default_profile_name, profile

    assert profile("ci").derandomize is True
    assert profile("thorough").max_examples > profile("dev").max_examples
    monkeypatch.setenv("CI", "true")
    assert default_profile_name() == "ci"
    monkeypatch.setenv("CI", "0")
    assert default_profile_name() == "dev"
    with pytest.raises(ConfigError, match="unknown Hypothesis profile"):
        profile("nightly")


def test_a_copy_judges_like_the_original_and_is_independent() -> None:
    original = Model(LEASE)
    original.submitted("t0", created=True)
    original.claimed(claim("t0", "1", 30.0), worker="W0", invoke_seq=1, seq=2, now=0.0)
    twin = original.copy()
    [task] = twin.tasks.values()
    assert task.owner is twin.leases["W0"][0]  # one lease, as in the original
    assert task.owner is not original.tasks["t0"].owner
    # A heartbeat on the copy extends the owner's lease there only.
    twin.heartbeat("W0", 1, now=20.0)
    assert twin.tasks["t0"].owner is not None
    assert twin.tasks["t0"].owner.expires_at == 50.0
    assert original.tasks["t0"].owner is not None
    assert original.tasks["t0"].owner.expires_at == 30.0
    # W1 takes it over after a rescue; W0's late completion is stale in both.
    for m in (original, twin):
        m.rescued([TaskId("t0")], seq=3)
        m.claimed(claim("t0", "2", 90.0), worker="W1", invoke_seq=4, seq=5, now=60.0)
        late = m.finished("t0", worker="W0", op="complete", outcome=Outcome.COMPLETED,
                          invoke_seq=6, seq=7)  # fmt: skip
        assert kinds(late) == [Kind.STALE_COMPLETION]
