"""Synthetic histories for the analyzer benchmark, with a known number of each violation.

Tasks occupy 1 ms time slots; each slot is one of: a clean task (submit, claim,
complete: 6 events) or one planted violation pattern that produces exactly one kind.
Workers are separate processes writing separate shards, like Locust workers do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

T0 = 1_700_000_000_000_000_000
SLOT = 1_000_000  # ns per task slot
US = 1_000
KINDS = (
    "lost",
    "duplicate_completion",
    "stale_completion",
    "resurrection",
    "double_claim",
    "unexpected",
)


@dataclass
class Shards:
    lines: dict[str, list[str]] = field(default_factory=dict)

    def add(self, shard: str, process: str, type_: str, f: str, t: int, rest: str = "") -> None:
        self.lines.setdefault(shard, []).append(
            f'{{"process":"{process}","type":"{type_}","f":"{f}","time_ns":{t}{rest}}}'
        )


def _worker(w: int) -> tuple[str, str]:
    return f"w{w}.jsonl", f"worker-{w}@bench:1"


def _claim(s: Shards, w: int, task: str, t: int, lease_ns: int) -> None:
    shard, proc = _worker(w)
    s.add(shard, proc, "invoke", "claim", t, f',"worker_id":"w{w}","request_id":"{t:x}"')
    expires = (t + lease_ns) / 1e9
    fields = f',"task_id":"{task}","token":"{TOKEN}{w}","worker_id":"w{w}"'
    fields += f',"expires_at":{expires:.6f},"status":200,"value":{{"attempt":1}}'
    s.add(shard, proc, "ok", "claim", t + 40 * US, fields)


def _complete(s: Shards, w: int, task: str, t: int, result: str = "ok") -> None:
    shard, proc = _worker(w)
    fields = f',"task_id":"{task}","token":"{TOKEN}{w}","worker_id":"w{w}"'
    s.add(shard, proc, "invoke", "complete", t, fields + f',"request_id":"{t:x}"')
    answer = ',"status":200,"value":{"status":"completed"}' if result == "ok" else ',"status":409'
    s.add(shard, proc, result, "complete", t + 40 * US, fields + answer)


def _submit(s: Shards, task: str, t: int) -> None:
    proc = "producer-1@bench:1"
    s.add(
        "producer.jsonl", proc, "invoke", "submit", t, f',"task_id":"{task}","request_id":"{t:x}"'
    )
    fields = f',"task_id":"{task}","status":201,"value":{{"created":true}}'
    s.add("producer.jsonl", proc, "ok", "submit", t + 40 * US, fields)


TOKEN = "7f3a9c1e5b2d4f60-"  # a fencing token's length
LONG = 30 * 10**9


def clean(s: Shards, task: str, t: int, a: int, b: int) -> int:
    _submit(s, task, t)
    _claim(s, a, task, t + 100 * US, LONG)
    _complete(s, a, task, t + 200 * US)
    return 6


def lost(s: Shards, task: str, t: int, a: int, b: int) -> int:
    _submit(s, task, t)
    return 2


def duplicate(s: Shards, task: str, t: int, a: int, b: int) -> int:
    _submit(s, task, t)
    _claim(s, a, task, t + 100 * US, LONG)
    _complete(s, a, task, t + 200 * US)
    _complete(s, a, task, t + 300 * US)
    return 8


def stale(s: Shards, task: str, t: int, a: int, b: int) -> int:
    _submit(s, task, t)
    _claim(s, a, task, t + 100 * US, 50 * US)  # a short lease that expires
    _claim(s, b, task, t + 300 * US, LONG)  # genuine redelivery
    _complete(s, a, task, t + 500 * US)  # A's late completion accepted: stale
    _complete(s, b, task, t + 700 * US, "fail")
    return 10


def resurrection(s: Shards, task: str, t: int, a: int, b: int) -> int:
    _submit(s, task, t)
    _claim(s, a, task, t + 100 * US, LONG)
    _complete(s, a, task, t + 200 * US)
    _claim(s, b, task, t + 400 * US, LONG)
    _complete(s, b, task, t + 600 * US, "fail")
    return 10


def double_claim(s: Shards, task: str, t: int, a: int, b: int) -> int:
    _submit(s, task, t)
    _claim(s, a, task, t + 100 * US, LONG)
    _claim(s, b, task, t + 200 * US, LONG)
    _complete(s, a, task, t + 400 * US, "fail")
    _complete(s, b, task, t + 600 * US)
    return 10


def unexpected(s: Shards, task: str, t: int, a: int, b: int) -> int:
    _claim(s, a, task, t + 100 * US, LONG)
    _complete(s, a, task, t + 200 * US)
    return 4


PLANTS: dict[str, Callable[[Shards, str, int, int, int], int]] = {
    "lost": lost,
    "duplicate_completion": duplicate,
    "stale_completion": stale,
    "resurrection": resurrection,
    "double_claim": double_claim,
    "unexpected": unexpected,
}


def synthesize(out: Path, events: int, *, workers: int = 8, planted: int = 100) -> dict[str, int]:
    """Write ``out/history/*.jsonl`` with about ``events`` events; returns planted counts."""
    history = out / "history"
    history.mkdir(parents=True, exist_ok=True)
    s = Shards()
    plan = [kind for kind in KINDS for _ in range(planted)]
    written, slot = 0, 0
    every = max(events // (6 * max(len(plan), 1)), 1)
    while written < events:
        a, b = slot % workers, (slot + 1) % workers
        task, t = f"task-{slot:09d}", T0 + slot * SLOT
        if plan and slot % every == every - 1:
            written += PLANTS[plan.pop()](s, task, t, a, b)
        else:
            written += clean(s, task, t, a, b)
        slot += 1
        if len(s.lines.get("producer.jsonl", ())) > 200_000:
            _flush(history, s)
    _flush(history, s)
    return {kind: planted - plan.count(kind) for kind in KINDS}


def _flush(history: Path, s: Shards) -> None:
    for shard, lines in s.lines.items():
        with (history / shard).open("a") as out:
            out.write("\n".join(lines) + "\n")
    s.lines.clear()
