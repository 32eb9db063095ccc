"""The straightforward pure-Python reference: line by line, dicts and loops.

The same semantics as ``harness.checks`` for the six history-only kinds (a drained
run, leases from ``expires_at`` or a lease timeout), written the obvious way. The
benchmark times it against the vectorised analyzer and compares their counts.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

Op = dict[str, Any]


def load_ops(run_dir: Path) -> list[Op]:
    events: list[dict[str, Any]] = []
    for shard in sorted((run_dir / "history").glob("*.jsonl")):
        with shard.open("rb") as lines:
            events.extend(orjson.loads(line) for line in lines if line.strip())
    events.sort(key=lambda e: e["time_ns"])
    open_ops: dict[str, Op] = {}
    ops: list[Op] = []
    for e in events:
        if e["type"] == "invoke":
            op = {
                "f": e["f"],
                "actor": e.get("worker_id") or e["process"],
                "t_inv": e["time_ns"],
                "task": e.get("task_id"),
                "outcome": "info",
                "t_done": None,
                "expires": None,
            }
            open_ops[e["process"]] = op
            ops.append(op)
        elif e["process"] in open_ops:
            op = open_ops.pop(e["process"])
            op["outcome"], op["t_done"] = e["type"], e["time_ns"]
            op["task"] = op["task"] or e.get("task_id")
            op["expires"] = e.get("expires_at")
    return ops


def check(ops: list[Op], lease_timeout: float | None = None) -> dict[str, int]:
    claims: dict[str, list[Op]] = defaultdict(list)
    finishes: dict[str, list[Op]] = defaultdict(list)
    submitted: dict[str, str] = {}
    for op in ops:
        task = op["task"]
        if task is None:
            continue
        if op["f"] == "claim" and op["outcome"] == "ok":
            claims[task].append(op)
        elif op["f"] in ("complete", "fail"):
            finishes[task].append(op)
        elif op["f"] == "submit" and op["outcome"] != "fail":
            submitted.setdefault(task, op["outcome"])
            if op["outcome"] == "ok":
                submitted[task] = "ok"
    found: dict[str, set[str]] = defaultdict(set)
    for task in set(claims) | set(finishes) | set(submitted):
        c = sorted(claims.get(task, []), key=lambda o: o["t_done"])
        fs = finishes.get(task, [])
        ok = sorted((f for f in fs if f["outcome"] == "ok"), key=lambda o: o["t_inv"])
        _completion_checks(task, c, ok, found)
        _double_claims(task, c, fs, lease_timeout, found)
        if task not in submitted and (c or ok):
            found["unexpected"].add(task)
        if submitted.get(task) == "ok" and not any(f["outcome"] != "fail" for f in fs):
            found["lost"].add(task)
    return {kind: len(tasks) for kind, tasks in found.items()}


def _completion_checks(
    task: str, claims: list[Op], ok: list[Op], found: dict[str, set[str]]
) -> None:
    if len(ok) > 1:
        found["duplicate_completion"].add(task)
    for fin in ok:
        before = [c for c in claims if c["t_done"] < fin["t_inv"]]
        mine = [c for c in before if c["actor"] == fin["actor"]]
        if before and (not mine or mine[-1] is not before[-1]):
            found["stale_completion"].add(task)
    if ok:
        first = min(f["t_done"] for f in ok)
        if any(c["t_inv"] > first for c in claims):
            found["resurrection"].add(task)


def _double_claims(
    task: str, claims: list[Op], fs: list[Op], lease: float | None, found: dict[str, set[str]]
) -> None:
    for a, b in itertools.pairwise(claims):
        if a["expires"] is not None:
            deadline = a["expires"] * 1e9
        elif lease is not None:
            deadline = a["t_inv"] + lease * 1e9
        else:
            continue
        released = any(
            f["actor"] == a["actor"]
            and f["outcome"] != "fail"
            and a["t_inv"] < f["t_inv"] < b["t_done"]
            for f in fs
        )
        if b["t_done"] < deadline and not released:
            found["double_claim"].add(task)
