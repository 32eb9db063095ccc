"""``harness verify`` and ``harness replay`` from the command line: verdicts, exit codes,
the counterexample's table and test, one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import redis

from harness.analyze import analyze_run
from harness.cli import main
from harness.explorer.machine import queue_factory
from harness.explorer.search import replay

# F4/F5 in the naive queue: W0's claim is re-queued by the janitor, W1 claims it, and
# W0's late completion is still accepted (stale), then W1's too (duplicate).
STALE = [
    "W0 claim", "W0 step", "W0 step", "clock advance", "J0 rescue", "J0 step",
    "W1 claim", "W1 step", "W1 step", "W0 complete t0", "W0 step",
]  # fmt: skip


def test_verify_prints_the_shortest_counterexample_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["verify", "--impl", "naive", "--tasks", "1", "--depth", "3"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("violation found: lost at depth 2")
    assert "| T2 | CRASH during claim (at after_pop) |" in out.replace("**", "")
    assert "STEPS = [\n    'W0 claim',\n    'W0 crash',\n]" in out


def test_verify_exact_tells_more_states_apart_with_the_same_verdicts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stories, counts = [], []
    for extra in ([], ["--exact"]):
        assert main(["verify", "--impl", "naive", "--tasks", "1", "--depth", "3", *extra]) == 1
        stories.append(capsys.readouterr().out.split("\n", 1)[1])  # after the verdict line
        assert main(["verify", "--impl", "safe", "--tasks", "2", "--depth", "3", *extra]) == 0
        counts.append(int(capsys.readouterr().out.split()[4]))  # "no violation in all K ..."
    assert stories[0] == stories[1]  # the same shortest counterexample, told the same
    assert counts[0] < counts[1]  # workers renamed, times aged: fewer distinct states


def test_verify_says_no_violation_in_all_states(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--impl", "safe", "--workers", "1", "--janitors", "1",
                 "--tasks", "1", "--depth", "3"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("no violation in all ")
    assert "distinct states up to depth 3 (1 workers, 1 janitors, 1 tasks)" in out


def test_verify_bad_kind_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--impl", "naive", "--kind", "nonsense"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "--kind 'nonsense'" in err


def _run_folder(client: redis.Redis, tmp_path: Path) -> Path:
    """A run folder whose history the naive queue really made (through the explorer)."""
    world = replay(client, queue_factory("naive"), STALE, setup=["P submit", "P step"])
    run_dir = tmp_path / "run"
    (run_dir / "history").mkdir(parents=True)
    lines = b"".join(orjson.dumps(e) + b"\n" for e in world.history.events)
    (run_dir / "history" / "explorer.jsonl").write_bytes(lines)
    info = {"impl": "naive", "lease_timeout": 30.0, "drained": True}
    (run_dir / "run.json").write_bytes(orjson.dumps(info))
    analyze_run(run_dir)
    return run_dir


def test_replay_reproduces_a_stale_completion_step_by_step(
    redis_client: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _run_folder(redis_client, tmp_path)
    code = main(["replay", str(run_dir), "--violation", "stale_completion-1"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("reproduced stale_completion-1 in ")
    assert "⚠ stale_completion" in out
    assert (run_dir / "replay-stale_completion-1.md").read_text().startswith("reproduced")


def test_replay_says_when_the_queue_code_cannot_reproduce_it(
    redis_client: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _run_folder(redis_client, tmp_path)
    code = main(["replay", str(run_dir), "--violation", "stale_completion-1", "--impl", "safe"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("not reproduced: no step-level schedule of safe consistent")


def test_replay_unknown_violation_is_exit_2(
    redis_client: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _run_folder(redis_client, tmp_path)
    code = main(["replay", str(run_dir), "--violation", "stale_completion-9"])
    assert code == 2
    assert "has 1 stale_completion violation(s)" in capsys.readouterr().err


def test_the_printed_regression_test_fails_while_the_race_is_there(
    redis_client: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["verify", "--impl", "naive", "--tasks", "1", "--depth", "3"])
    out = capsys.readouterr().out
    source = out.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(source, "<regression test>", "exec"), namespace)  # the text verify printed
    test = namespace["test_no_lost_naive"]
    assert callable(test)
    with pytest.raises(AssertionError):
        test(redis_client, queue_factory)  # the naive queue still loses the task
