"""Hypothesis strategies for the loader's property tests: valid histories, how real JSONL
writers might lay them out, and how files get damaged.

A history is a list of shards, each a list of event dicts in the order their
processes wrote them (one process writes to one shard, as in a real run).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

T0 = 1_700_000_000_000_000_000
Shards = list[list[dict[str, Any]]]

_TASKS = st.sampled_from(["t0", "t1", "t2", "tâche-3"])  # one non-ASCII id
_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)
_OPS = ("submit", "claim", "complete", "fail", "heartbeat", "rescue")


_BUSY_OPS = ("claim", "claim", "complete", "complete", "fail", "rescue", "submit")


@st.composite
def _op(
    draw: st.DrawFn, process: str, worker: str, start: int, busy: bool = False
) -> list[dict[str, Any]]:
    """One op of ``process``: its invoke and (unless it never finished) its completion.

    ``busy``: two tasks, mostly claims and completions, leases that expire within the
    run: contention, so the races the checks look for are common.
    """
    f = draw(st.sampled_from(_BUSY_OPS if busy else _OPS))
    task = draw(st.sampled_from(["t0", "t1"]) if busy else _TASKS)
    t_inv = start + draw(st.integers(1, 5_000))
    invoke: dict[str, Any] = {"process": process, "type": "invoke", "f": f, "time_ns": t_inv}
    if f != "claim":
        invoke["task_id"] = task
    if f in ("claim", "complete", "fail", "heartbeat"):
        invoke["worker_id"] = worker
    if f == "fail":
        invoke["value"] = {"retry": draw(st.booleans())}
        invoke["error"] = draw(_TEXT)
    outcomes = ["ok", "ok", "ok", "fail", "info", None] if busy else ["ok", "fail", "info", None]
    outcome = draw(st.sampled_from(outcomes))
    if outcome is None:
        return [invoke]
    done = {**invoke, "type": outcome, "time_ns": t_inv + draw(st.integers(0, 5_000))}
    done["status"] = draw(st.sampled_from([200, 201, 409, 500, 0]))
    done["request_id"] = f"{t_inv:x}"
    if f == "claim" and outcome == "ok":
        done["task_id"] = task
        done["token"] = draw(st.sampled_from(["k1", "k2"]))
        lease_ns = draw(st.integers(0, 10_000)) if busy else draw(st.integers(0, 10**17))
        done["expires_at"] = (t_inv + lease_ns) / 1e9
    done.pop("value", None)
    return [invoke, done]


@st.composite
def histories(draw: st.DrawFn, busy: bool = False) -> Shards:
    """1-3 shards, 1-4 processes, each a few ops in its own time order; maybe a marker."""
    shards: Shards = [[] for _ in range(draw(st.integers(1, 3)))]
    for p in range(draw(st.integers(2 if busy else 1, 4))):
        process, worker = f"worker-{p}@host:{100 + p}", f"w{p}"
        shard = shards[draw(st.integers(0, len(shards) - 1))]
        now = T0 + draw(st.integers(0, 20_000))
        for _ in range(draw(st.integers(1, 6 if busy else 4))):
            events = draw(_op(process, worker, now, busy))
            shard.extend(events)
            now = events[-1]["time_ns"]
            if events[-1]["type"] == "invoke":  # an op never finished ends the process
                break
    if draw(st.booleans()):
        marker = {"process": "nemesis", "type": "info", "f": "nemesis", "time_ns": T0 + 7}
        shards[0].append({**marker, "value": {"fault": "kill", "phase": "start"}})
    return shards


def canonical(events: list[dict[str, Any]]) -> bytes:
    """What the recorder writes: compact JSON, one object per line, ``\\n`` endings."""
    return b"".join(
        json.dumps(e, separators=(",", ":"), ensure_ascii=False).encode() + b"\n" for e in events
    )


_BLANK = st.sampled_from(["", " ", "\t", "  \t"])
_EXTRA = st.one_of(st.none(), st.integers(), _TEXT, st.lists(st.integers(), max_size=2))


@st.composite
def _line(draw: st.DrawFn, event: dict[str, Any], newline: str) -> str:
    keys = draw(st.permutations(list(event)))
    reordered = {k: event[k] for k in keys}
    if draw(st.booleans()):
        reordered[draw(st.sampled_from(["x_extra", "host", "attempt"]))] = draw(_EXTRA)
    spaced = draw(st.booleans())
    text = json.dumps(
        reordered,
        separators=(", ", ": ") if spaced else (",", ":"),
        ensure_ascii=draw(st.booleans()),  # \\u escapes read as the same text
    )
    blanks = "".join(draw(_BLANK) + newline for _ in range(draw(st.integers(0, 2))))
    return blanks + text + draw(_BLANK) + newline


@st.composite
def benign_layout(draw: st.DrawFn, events: list[dict[str, Any]]) -> bytes:
    """The same events as a different writer might lay them out (see history_shard)."""
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = "".join(draw(_line(e, newline)) for e in events)
    text += "".join(draw(_BLANK) + newline for _ in range(draw(st.integers(0, 2))))
    if events and draw(st.booleans()):
        text = text.rstrip("\r\n\t ")  # a complete last line without its newline
    data = text.encode()
    return b"\xef\xbb\xbf" + data if draw(st.booleans()) else data


_WRONG_VALUES = st.sampled_from(
    ['"soon"', "1.5", "true", "null", "[1]", '{"a":1}', "-1", "99999999999999999999", "1e999"]
)


@st.composite
def corrupted(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` damaged: cut short, a byte changed, a field's value swapped, a stray line."""
    how = draw(st.sampled_from(["truncate", "flip", "swap", "stray"]))
    if how == "truncate":
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    if how == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        byte = draw(st.one_of(st.integers(0, 255), st.just(data[at] ^ 0x80)))
        return data[:at] + bytes([byte]) + data[at + 1 :]
    lines = data.split(b"\n")
    at = draw(st.integers(0, len(lines) - 1))
    event = _object_or_none(lines[at])
    if how == "swap" and event is not None:
        field = draw(st.sampled_from(_SWAPPABLE))
        event[field] = None  # a placeholder replaced by raw JSON text of another type
        wrong = f'"{field}": ' + draw(_WRONG_VALUES)
        lines[at] = json.dumps(event).replace(f'"{field}": null', wrong).encode()
    else:
        lines.insert(at, draw(st.sampled_from([b"[1, 2]", b"42", b'"text"', b"null", b"{}"])))
    return b"\n".join(lines)


_SWAPPABLE = ("process", "type", "f", "time_ns", "task_id", "status", "expires_at", "token")


def _object_or_none(line: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except ValueError:  # already damaged (several corruptions in a row)
        return None
    return event if isinstance(event, dict) else None
