"""A violation's timeline: who held the task when, at a glance (after Jepsen's timeline).

One lane per actor of the interleaving (workers lettered as in its table, each janitor,
the producer); a bar from each claim to its holder's completion or failure (open to the
right edge when it never ended); each op as a thin line from invoke to answer; a mark
where a claim's lease ran out; janitor re-queues as triangles; the events that prove the
violation in red. Drawn once with matplotlib and saved twice: a PNG for report.md and
SVG text that index.html inlines (plain SVG elements, no script, nothing external).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from harness.report.interleaving import letters, role, shown_rows

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


def draw(pic: Picture) -> Any:
    """The matplotlib figure (the caller closes it)."""
    height = 1.3 + 0.6 * max(len(pic.lanes), 1)
    fig, ax = plt.subplots(figsize=(9, height), dpi=100)
    for y, lane in enumerate(reversed(pic.lanes)):
        _lane(ax, y, lane, pic.end_ms)
    ax.set_yticks(range(len(pic.lanes)), [lane.label for lane in reversed(pic.lanes)])
    ax.set_ylim(-0.7, len(pic.lanes) - 0.2)
    ax.set_xlim(-pic.end_ms * 0.02, pic.end_ms)
    ax.set_xlabel("ms since the first event shown")
    ax.set_title(pic.title, fontsize=10, loc="left")
    ax.grid(axis="x", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.legend(handles=_key(), loc="lower center", ncol=5, fontsize=7, frameon=False)
    # Fixed margins in inches (tight_layout would cost as much as drawing the picture).
    fig.subplots_adjust(left=1.2 / 9, right=0.98, top=1 - 0.35 / height, bottom=0.85 / height)
    return fig


def _lane(ax: Any, y: int, lane: Lane, end_ms: float) -> None:
    for start, stop, is_open in lane.holds:
        ax.barh(
            y, stop - start, left=start, height=0.45, color=HOLD, alpha=0.3 if is_open else 0.55
        )
    for start, stop in lane.ops:
        ax.plot([start, stop], [y - 0.32, y - 0.32], color=OP, linewidth=2.5)
    for at in lane.leases:
        if at <= end_ms:
            ax.plot([at, at], [y - 0.38, y + 0.38], color=LEASE, linewidth=2, linestyle=":")
    for at in lane.rescues:
        ax.plot(at, y, marker="v", markersize=11, color=RESCUE, linestyle="none")
    for n, (at, text, is_proof) in enumerate(lane.points):
        colour = PROOF if is_proof else "#333333"
        size = 8 if is_proof else 4
        ax.plot(at, y, marker="o", markersize=size, color=colour, linestyle="none")
        if text:
            lift = 0.14 + 0.14 * (n % 2)  # neighbouring labels alternate heights
            ax.annotate(text, (at, y + lift), fontsize=7, color=colour, ha="center",
                        fontweight="bold" if is_proof else "normal")  # fmt: skip


def _key() -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    return [
        Patch(color=HOLD, alpha=0.55, label="holds the task (claim to its end)"),
        Line2D([], [], color=OP, linewidth=2.5, label="request in flight"),
        Line2D([], [], color=LEASE, linewidth=2, linestyle=":", label="lease runs out"),
        Line2D([], [], color=RESCUE, marker="v", linestyle="none", label="janitor re-queues"),
        Line2D([], [], color=PROOF, marker="o", linestyle="none", label="proves the violation"),
    ]


def save(pic: Picture, png: Path) -> str:
    """Write the PNG; return the same figure as inline SVG text."""
    fig = draw(pic)
    try:
        fig.savefig(png)
        buffer = io.StringIO()
        with plt.rc_context({"svg.fonttype": "none"}):
            fig.savefig(buffer, format="svg")
    finally:
        plt.close(fig)
    svg = buffer.getvalue()
    return (svg[svg.index("<svg") :] if "<svg" in svg else svg).strip()


def svg_is_self_contained(svg: str) -> bool:
    """No script and no reference to anything outside the page."""
    return "<script" not in svg and not re.search(r"(href|src)=\"(https?:|//)", svg)
