"""A violation's interleaving, in the note's own table style.

``Time | Worker A | Worker B | Janitor | Queue state``: one row per event of the ops
that touched the task, times relative to the first row, actors lettered in order of
appearance, every janitor in the Janitor column, and the queue state as the events
imply it (shown where it changes). Events that prove the violation are marked.
"""

from __future__ import annotations

import html
import string
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.checks.ops import to_int

MAX_ROWS = 40
JANITOR = "Janitor"


@dataclass(frozen=True, slots=True, kw_only=True)
class Interleaving:
    header: list[str]
    rows: list[list[str]]
    marked: list[bool] = field(default_factory=list)  # the row proves the violation

    def markdown(self) -> str:
        def cells(values: Iterable[str]) -> str:
            return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"

        lines = [cells(self.header), "|" + "|".join("---" for _ in self.header) + "|"]
        for row, marked in zip(self.rows, self.marked, strict=True):
            lines.append(cells([f"**{c}**" if marked and c else c for c in row]))
        return "\n".join(lines)

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join(
            f'<tr class="{"proof" if marked else ""}">'
            + "".join(f"<td>{html.escape(c)}</td>" for c in row)
            + "</tr>"
            for row, marked in zip(self.rows, self.marked, strict=True)
        )
        return f'<table class="interleaving"><tr>{head}</tr>{body}</table>'


def interleaving_table(
    frame: pd.DataFrame, task_id: str, event_indices: list[int], *, alias: str | None = None
) -> str:
    """The markdown table of one task's interleaving around ``event_indices``."""
    return interleaving(frame, task_id, event_indices, alias=alias).markdown()


def shown_rows(frame: pd.DataFrame, task_id: str, event_indices: list[int]) -> list[int]:
    """The frame rows an interleaving of the task shows (the timeline draws the same)."""
    every = _rows_of(frame, task_id, event_indices)
    return sorted(_window(frame, every, event_indices)) if every else []


def interleaving(
    frame: pd.DataFrame, task_id: str, event_indices: list[int], *, alias: str | None = None
) -> Interleaving:
    """The table; the task is written as ``alias`` (e.g. ``t1``) when one is given."""
    every = _rows_of(frame, task_id, event_indices)
    name = alias or task_id
    if not every:  # e.g. an audit entry for an id the history never mentions
        return Interleaving(header=["Time", JANITOR, "Queue state"], rows=[], marked=[])
    shown = set(_window(frame, every, event_indices))
    sub = frame.iloc[every]
    actors = letters(frame.iloc[sorted(shown)])
    producers = any(role(p) == "Producer" for p in sub["process"].astype(str))
    header = ["Time", *(["Producer"] if producers else [])]
    header += [f"{kind} {letter}" for letter, kind in actors.values()]
    header += [JANITOR, "Queue state"]
    columns = {process: i + 1 + producers for i, process in enumerate(actors)}
    state = _QueueState(name)
    t0 = int(frame["time_ns"].to_numpy()[min(shown)])
    out: list[list[str]] = []
    marked: list[bool] = []
    indices = sub["index"].to_numpy()
    for index, event in zip(indices, sub.itertuples(index=False), strict=True):
        process = str(event.process)
        who = actors[process][0] if process in actors else process.split("@")[0]
        text = state.apply(event, who)
        if int(index) not in shown:
            continue
        line = [""] * len(header)
        line[0] = f"+{(to_int(event.time_ns) - t0) / 1e6:.1f} ms"
        shared = 1 if role(process) == "Producer" else len(header) - 2
        line[columns.get(process, shared)] = _describe(event, name)
        line[-1] = text
        out.append(line)
        marked.append(int(index) in event_indices)
    return Interleaving(header=header, rows=out, marked=marked)


def excerpt(
    frame: pd.DataFrame, task_id: str, event_indices: list[int]
) -> tuple[pd.DataFrame, list[int]]:
    """The few rows of ``frame`` one violation's interleaving and timeline read, as a
    frame of their own with ``event_indices`` renumbered into it: both draw the same
    from it as from ``frame`` (a streamed analysis keeps these, not its partitions).

    Kept: the task's events, their ops' partners and the proof, with the proof's
    partners (where its window starts); positions (``index``, ``invoke_index``,
    ``completion_index``) renumbered in the same order, -1 for a partner left out; the
    categorical columns keep only their own values (an excerpt is a few rows, not a
    partition's million task ids).
    """
    proof = np.asarray(event_indices, dtype=np.int64)
    invokes = frame["invoke_index"].to_numpy()
    rows = np.asarray(_rows_of(frame, task_id, event_indices), dtype=np.int64)
    rows = np.unique(np.concatenate([rows, invokes[proof][invokes[proof] >= 0]]))
    position = np.full(len(frame), -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    out = frame.iloc[rows].reset_index(drop=True)
    for name in out.columns[out.dtypes == "category"]:  # not the whole frame's ids
        out[name] = out[name].cat.remove_unused_categories()
    out["index"] = np.arange(len(rows), dtype=np.int64)
    for name in ("invoke_index", "completion_index"):
        pointers = out[name].to_numpy()
        out[name] = np.where(pointers >= 0, position[np.maximum(pointers, 0)], -1)
    return out, [int(p) for p in position[proof]]


def _rows_of(frame: pd.DataFrame, task_id: str, event_indices: list[int]) -> list[int]:
    """The task's events, their ops' partners (a claim's invoke) and the proof."""
    proof = np.asarray(event_indices, dtype=np.int64)
    if task_id in frame["task_id"].cat.categories:
        code = frame["task_id"].cat.categories.get_loc(task_id)
        own = np.flatnonzero(frame["task_id"].cat.codes.to_numpy() == code)
    else:
        own = proof
    partners = np.concatenate(
        [frame["invoke_index"].to_numpy()[own], frame["completion_index"].to_numpy()[own]]
    )
    return [int(r) for r in np.unique(np.concatenate([own, partners[partners >= 0], proof]))]


def _window(frame: pd.DataFrame, rows: list[int], event_indices: list[int]) -> list[int]:
    """All rows when few; else the proving span, trimmed to the proof plus the earliest."""
    if len(rows) <= MAX_ROWS or not event_indices:
        return rows[:MAX_ROWS] if not event_indices else rows
    invokes = frame["invoke_index"].to_numpy()
    first = min(int(invokes[e]) if invokes[e] >= 0 else e for e in event_indices)
    span = [r for r in rows if first <= r <= max(event_indices)]
    if len(span) > MAX_ROWS:
        keep = set(event_indices) | set(span[: max(MAX_ROWS - len(event_indices), 0)])
        span = [r for r in span if r in keep]
    return span


def letters(sub: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Non-janitor processes, lettered in order of appearance, with their role."""
    actors: dict[str, tuple[str, str]] = {}
    for process in sub["process"].astype(str):
        if process not in actors and role(process) not in ("Janitor", "Producer"):
            actors[process] = (string.ascii_uppercase[len(actors) % 26], role(process))
    return actors


def role(process: str) -> str:
    """``worker-17@host:pid`` -> ``Worker``."""
    return process.split("@")[0].split("-")[0].capitalize() or "Actor"


def _describe(event: object, task_id: str) -> str:
    f, kind = str(event.f), str(event.type)  # type: ignore[attr-defined]
    status = event.status  # type: ignore[attr-defined]
    target = "" if f == "claim" else f"({task_id})"
    if f == "crash":
        return "crashed"
    if f == "nemesis":
        return f"fault: {event.value}"  # type: ignore[attr-defined]
    if kind == "invoke":
        return {"claim": "GET /tasks/next", "rescue": "scan expired"}.get(f, f"{f}{target}")
    if kind == "ok":
        if f == "claim":
            return f"claim → {task_id}"
        if f == "rescue":
            return f"rescue → re-queue {task_id}"
        return f"{f}{target} → ok"
    code = "" if pd.isna(status) else f" {int(status)}"
    return f"{f}{target} → rejected{code}" if kind == "fail" else f"{f}{target} → no answer{code}"


class _QueueState:
    """Where the events say the task is; the text of a row only when it changed."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        self.pending = 0
        self.holders: list[str] = []
        self.finished = ""
        self.last = ""

    def apply(self, event: object, who: str) -> str:
        f, kind = str(event.f), str(event.type)  # type: ignore[attr-defined]
        if kind == "ok":
            self._ok(f, who, event)
        text = self._text()
        if text == self.last:
            return ""
        self.last = text
        return text

    def _ok(self, f: str, who: str, event: object) -> None:
        if f == "submit" and not self.pending and not self.holders and not self.finished:
            self.pending = 1
        elif f == "claim":
            self.pending = max(0, self.pending - 1)
            self.holders.append(who)
            self.finished = ""
        elif f == "rescue":
            self.pending += 1
            self.holders.clear()
        elif f in ("complete", "fail"):
            if who in self.holders:
                self.holders.remove(who)
            retry = f == "fail" and '"retry":true' in str(event.value).replace(" ", "")  # type: ignore[attr-defined]
            if retry:
                self.pending += 1
            else:
                verb = "completed" if f == "complete" else "failed"
                self.finished = (
                    f"{verb} by {who}"
                    if not self.finished
                    else f"{self.finished}, then {verb} by {who}"
                )

    def _text(self) -> str:
        parts = []
        if self.finished:
            parts.append(self.finished)
        if self.pending:
            parts.append("pending: {" + ", ".join([self.task_id] * self.pending) + "}")
        if self.holders:
            parts.append(f"processing: {{{self.task_id}}} ({', '.join(self.holders)})")
        return "; ".join(parts)
