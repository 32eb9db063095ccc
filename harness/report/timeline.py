"""A violation's timeline: who held the task when, at a glance (after Jepsen's timeline).

One lane per actor of the interleaving (workers lettered as in its table, each janitor,
the producer); a bar from each claim to its holder's completion or failure (open to the
right edge when it never ended); each op as a thin line from invoke to answer; a mark
where a claim's lease ran out; janitor re-queues as triangles; the events that prove the
violation in red. Laid out once as shapes (:mod:`harness.report.shapes`) and written
twice: a PNG for report.md and SVG text that index.html inlines (plain SVG elements, no
script, nothing external).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.report.interleaving import letters, role, shown_rows
from harness.report.shapes import Canvas, Line, Mark, Rect, Text, nice_ticks, text_width

HOLD = "#4c78a8"  # a claim held
OP = "#9a9a9a"  # an op in flight
PROOF = "#d62728"  # the events that prove the violation
LEASE = "#e45756"
RESCUE = "#f58518"


@dataclass(slots=True, kw_only=True)
class Lane:
    label: str
    ops: list[tuple[float, float]] = field(default_factory=list)  # (invoke ms, answer ms)
    holds: list[tuple[float, float, bool]] = field(default_factory=list)  # (from, to, open)
    leases: list[float] = field(default_factory=list)  # ms where a held lease ran out
    rescues: list[float] = field(default_factory=list)
    points: list[tuple[float, str, bool]] = field(default_factory=list)  # (ms, text, proof)


@dataclass(frozen=True, slots=True, kw_only=True)
class Picture:
    lanes: list[Lane]
    end_ms: float
    title: str


def picture(
    frame: pd.DataFrame,
    task_id: str,
    event_indices: list[int],
    *,
    alias: str,
    lease_timeout: float | None = None,
) -> Picture:
    """The lanes of one violation, times in ms from its first shown event."""
    rows = shown_rows(frame, task_id, event_indices)
    sub = frame.iloc[rows]
    named = letters(sub)
    lanes: dict[str, Lane] = {}
    t0 = int(sub["time_ns"].iloc[0]) if rows else 0
    proof = set(event_indices)
    held: dict[str, float] = {}
    columns = (sub["index"].to_numpy(), sub["time_ns"].to_numpy(), sub.itertuples(index=False))
    for index, time_ns, row in zip(*columns, strict=True):
        process = str(row.process)
        if process not in lanes:
            lanes[process] = Lane(label=_label(process, named))
        lane, at = lanes[process], (int(time_ns) - t0) / 1e6
        _place(lane, row, at, int(index) in proof, held, t0, lease_timeout)
    end = max([0.0, *(x for lane in lanes.values() for x in _times(lane))]) * 1.04 + 1e-3
    for process, start in held.items():
        lanes[process].holds.append((start, end, True))
    title = f"{alias}: who held it when (ms since the first event shown)"
    return Picture(lanes=list(lanes.values()), end_ms=end, title=title)


def _label(process: str, named: dict[str, tuple[str, str]]) -> str:
    if process in named:
        letter, kind = named[process]
        return f"{kind} {letter}"
    return process.split("@")[0] if role(process) in ("Janitor", "Producer") else process


def _place(
    lane: Lane,
    row: Any,
    at: float,
    is_proof: bool,
    held: dict[str, float],
    t0: int,
    lease_timeout: float | None,
) -> None:
    f, kind, process = str(row.f), str(row.type), str(row.process)
    if kind == "invoke":
        done = int(row.latency_ns)
        lane.ops.append((at, at + done / 1e6 if done >= 0 else at))
        if is_proof:
            lane.points.append((at, "", True))
        return
    if kind == "ok" and f == "claim":
        held[process] = at
        deadline = row.expires_at
        if pd.notna(deadline):
            lane.leases.append((float(deadline) * 1e9 - t0) / 1e6)
        elif lease_timeout is not None:
            lane.leases.append(at + lease_timeout * 1e3)
    elif f in ("complete", "fail") and process in held:
        lane.holds.append((held.pop(process), at, False))
    elif kind == "ok" and f == "rescue":
        lane.rescues.append(at)
    lane.points.append((at, _answer(f, kind), is_proof))


def _answer(f: str, kind: str) -> str:
    if f == "rescue" and kind == "ok":
        return "re-queue"
    word = {"ok": "ok", "fail": "rejected", "info": "no answer"}.get(kind, kind)
    return f if f in ("claim", "submit") and kind == "ok" else f"{f} {word}"


def _times(lane: Lane) -> list[float]:
    return [b for _, b in lane.ops] + [t for t, _, _ in lane.points] + lane.rescues


WIDTH = 900  # px
LEFT, RIGHT, TOP, BOTTOM = 120, 18, 35, 85  # margins, px
PT = 100 / 72  # px per point (the pictures are 100 dpi)
GRID = "#b0b0b0"
KEY = (
    ("bar", HOLD, "holds the task (claim to its end)"),
    ("line", OP, "request in flight"),
    ("lease", LEASE, "lease runs out"),
    ("v", RESCUE, "janitor re-queues"),
    ("o", PROOF, "proves the violation"),
)


def draw(pic: Picture) -> Canvas:
    """The picture's shapes: one lane per actor (the first on top), time across."""
    lanes = max(len(pic.lanes), 1)
    canvas = Canvas(width=WIDTH, height=round((1.3 + 0.6 * lanes) * 100))
    right, bottom = WIDTH - RIGHT, canvas.height - BOTTOM
    x0, x1 = -pic.end_ms * 0.02, pic.end_ms
    y0, y1 = -0.7, len(pic.lanes) - 0.2

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * (right - LEFT)

    def py(y: float) -> float:
        return bottom - (y - y0) / (y1 - y0) * (bottom - TOP)

    ticks = [t for t in nice_ticks(x0, x1) if x0 <= t <= x1]
    for t in ticks:
        canvas.add(Line(px(t), TOP, px(t), bottom, GRID, width=0.8 * PT, alpha=0.3))
    for y, lane in enumerate(reversed(pic.lanes)):
        _lane(canvas, y, lane, pic.end_ms, px, py)
        canvas.add(Line(LEFT - 3.5 * PT, py(y), LEFT, py(y), "#000000", width=0.8 * PT))
        canvas.add(Text(LEFT - 6 * PT, py(y) + 4.5, lane.label, anchor="end"))
    canvas.add(Line(LEFT, TOP, LEFT, bottom, "#000000", width=0.8 * PT))
    canvas.add(Line(LEFT, bottom, right, bottom, "#000000", width=0.8 * PT))
    for t in ticks:
        canvas.add(Line(px(t), bottom, px(t), bottom + 3.5 * PT, "#000000", width=0.8 * PT))
        canvas.add(Text(px(t), bottom + 20, f"{t:g}", anchor="middle"))
    middle = (LEFT + right) / 2
    canvas.add(Text(middle, bottom + 40, "ms since the first event shown", anchor="middle"))
    canvas.add(Text(LEFT, TOP - 10, pic.title, size="title"))
    _key(canvas)
    return canvas


def _lane(
    canvas: Canvas,
    y: int,
    lane: Lane,
    end_ms: float,
    px: Callable[[float], float],
    py: Callable[[float], float],
) -> None:
    for start, stop, is_open in lane.holds:
        top, height = py(y + 0.225), py(y - 0.225) - py(y + 0.225)
        alpha = 0.3 if is_open else 0.55
        canvas.add(Rect(px(start), top, px(stop) - px(start), height, HOLD, alpha))
    for start, stop in lane.ops:
        canvas.add(Line(px(start), py(y - 0.32), px(stop), py(y - 0.32), OP, width=2.5 * PT))
    for at in lane.leases:
        if at <= end_ms:
            canvas.add(
                Line(px(at), py(y - 0.38), px(at), py(y + 0.38), LEASE, width=2 * PT, dotted=True)
            )
    for at in lane.rescues:
        canvas.add(Mark(px(at), py(y), 11 * PT, RESCUE, shape="v"))
    for n, (at, text, is_proof) in enumerate(lane.points):
        colour = PROOF if is_proof else "#333333"
        canvas.add(Mark(px(at), py(y), (8 if is_proof else 4) * PT, colour))
        if text:
            lift = 0.14 + 0.14 * (n % 2)  # neighbouring labels alternate heights
            label = Text(
                px(at), py(y + lift), text, colour, size="small", anchor="middle", bold=is_proof
            )
            canvas.add(label)


def _key(canvas: Canvas) -> None:
    """The legend, centred along the bottom edge."""
    widths = [28 + text_width(label, "small") + 14 for _, _, label in KEY]
    x, y = (canvas.width - sum(widths)) / 2, canvas.height - 14
    for (kind, colour, label), width in zip(KEY, widths, strict=True):
        if kind == "bar":
            canvas.add(Rect(x, y - 9, 22, 9, colour, 0.55))
        elif kind in ("line", "lease"):
            style = {"width": 2 * PT, "dotted": True} if kind == "lease" else {"width": 2.5 * PT}
            canvas.add(Line(x, y - 4, x + 22, y - 4, colour, **style))  # type: ignore[arg-type]
        else:
            canvas.add(Mark(x + 11, y - 4, 7 * PT if kind == "v" else 6 * PT, colour, shape=kind))
        canvas.add(Text(x + 28, y, label, size="small"))
        x += width


def save(pic: Picture, png: Path) -> str:
    """Write the PNG; return the same picture as inline SVG text."""
    canvas = draw(pic)
    canvas.png(png)
    return canvas.svg()


def svg_is_self_contained(svg: str) -> bool:
    """No script and no reference to anything outside the page."""
    return "<script" not in svg and not re.search(r"(href|src)=\"(https?:|//)", svg)
