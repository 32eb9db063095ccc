"""``harness.verify.replay``: a run's violation back to the program of the task's ops."""

from __future__ import annotations

from pathlib import Path

import orjson
import redis

from harness.analyze import analyze_run
from harness.checks.verdicts import Kind
from harness.explorer.actors import Action, Step
from harness.explorer.machine import queue_factory
from harness.explorer.search import replay
from harness.verify.engine import Bounds, Verifier
from harness.verify.replay import ProgramPolicy, program_of, read_violation

# W0 claims, the janitor re-queues it, W1 claims it, W0's late completion is accepted.
STALE = [
    "W0 claim", "W0 step", "W0 step", "clock advance", "J0 rescue", "J0 step",
    "W1 claim", "W1 step", "W1 step", "W0 complete t0", "W0 step",
]  # fmt: skip


def run_folder(client: redis.Redis, tmp_path: Path) -> Path:
    world = replay(client, queue_factory("naive"), STALE, setup=["P submit", "P step"])
    run_dir = tmp_path / "run"
    (run_dir / "history").mkdir(parents=True)
    lines = b"".join(orjson.dumps(e) + b"\n" for e in world.history.events)
    (run_dir / "history" / "explorer.jsonl").write_bytes(lines)
    (run_dir / "run.json").write_bytes(orjson.dumps({"impl": "naive", "lease_timeout": 30.0}))
    analyze_run(run_dir)
    return run_dir


def test_the_program_is_the_tasks_ops_in_observed_order(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    run_dir = run_folder(redis_client, tmp_path)
    program = program_of(run_dir, read_violation(run_dir, "stale_completion-1"))
    assert program.kind is Kind.STALE_COMPLETION
    assert program.task_id == "t0"
    assert [(op.actor, op.action) for op in program.ops] == [
        ("W0", Action.CLAIM),
        ("J0", Action.RESCUE),
        ("W1", Action.CLAIM),
        ("W0", Action.COMPLETE),
    ]
    # real-time order: each op began after every earlier op had answered (a serial run)
    assert [sorted(op.after) for op in program.ops] == [[], [0], [0, 1], [0, 1, 2]]
    assert program.crashable == frozenset()


def test_the_policy_lets_each_actor_start_only_its_next_op(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    run_dir = run_folder(redis_client, tmp_path)
    policy = ProgramPolicy(program_of(run_dir, read_violation(run_dir, "stale_completion-1")))
    verifier = Verifier(
        redis_client, queue_factory("naive"), Bounds(workers=2, janitors=1, tasks=1)
    )
    verifier.setup()
    offered = policy.allowed(verifier.world, (), verifier.enabled())
    assert [str(s) for s in offered] == ["clock advance", "W0 claim"]
    claimed = (Step(actor="W0", action=Action.CLAIM),)
    assert policy.key(claimed) != policy.key(())
    verifier.close()
