"""The recorder writes the contract's JSON lines, one per event, and keeps ops well formed."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import pytest

from harness.events import Event, EventType, Op
from harness.recorder import Recorder, classify_http


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_an_op_is_an_invoke_then_exactly_one_completion(tmp_path: Path) -> None:
    with Recorder(tmp_path, "w.jsonl") as rec:
        op = rec.op("worker-1@h:1", Op.CLAIM, worker_id="w1")
        op.ok(task_id="t1", token="7", expires_at=12.5, status=200)
        with pytest.raises(RuntimeError, match="already has a completion"):
            op.fail()
    events = lines(tmp_path / "w.jsonl")
    assert [(e["type"], e["f"]) for e in events] == [("invoke", "claim"), ("ok", "claim")]
    assert events[0].keys() == {"process", "type", "f", "time_ns", "worker_id"}
    assert events[1]["task_id"] == "t1"
    assert events[1]["expires_at"] == 12.5


def test_leaving_without_a_completion_records_info(tmp_path: Path) -> None:
    with Recorder(tmp_path, "w.jsonl") as rec:
        with pytest.raises(TimeoutError), rec.op("p", Op.COMPLETE, task_id="t1"):
            raise TimeoutError("read timed out")
        with rec.op("p", Op.HEARTBEAT):
            pass
    events = lines(tmp_path / "w.jsonl")
    assert [e["type"] for e in events] == ["invoke", "info", "invoke", "info"]
    assert events[1]["error"] == "TimeoutError: read timed out"
    assert events[1]["task_id"] == "t1"


def test_threads_never_interleave_inside_a_line(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, "w.jsonl")

    def hammer(n: int) -> None:
        for i in range(500):
            rec.op(f"p{n}", Op.SUBMIT, task_id=f"{n}-{i}", value="x" * 300).ok(status=201)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rec.close()
    events = lines(tmp_path / "w.jsonl")
    assert len(events) == 8 * 500 * 2
    assert rec.count == len(events)


def test_event_round_trips_through_json() -> None:
    event = Event(process="p", type=EventType.OK, f=Op.CLAIM, time_ns=1, task_id=None, value=[1])
    assert Event.from_dict(orjson.loads(orjson.dumps(event.to_dict()))) == event


@pytest.mark.parametrize(
    ("status", "expected"),
    [(200, "ok"), (201, "ok"), (204, "ok"), (409, "fail"), (404, "fail"), (429, "fail"),
     (500, "info"), (503, "info"), (None, "info")],
)  # fmt: skip
def test_http_status_classification(status: int | None, expected: str) -> None:
    assert classify_http(status) == expected
