"""The report's PNG plots (matplotlib, Agg): throughput, latency, backlog, faults.

Everything is binned with numpy first, so a 10-million-event run plots in about the
time of a small one. latency.png shows every op's latency as a point coloured by its
outcome (ok / fail / info) beside the per-operation p50 and p99 lines; both use at
most ``SAMPLE`` ops (a seeded sample).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import orjson
import pandas as pd

logger = logging.getLogger(__name__)

SAMPLE = 400_000
BINS = 120
LATENCY_OPS = ("submit", "claim", "complete", "fail", "heartbeat")


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    t0: int  # ns
    width_s: float  # seconds per bin
    bins: int
    seconds: np.ndarray  # per event, from t0

    def of(self, mask: np.ndarray) -> np.ndarray:
        """Events per second in each bin, for the events selected by ``mask``."""
        index = np.minimum((self.seconds[mask] / self.width_s).astype(np.int64), self.bins - 1)
        return np.bincount(index, minlength=self.bins) / self.width_s

    @property
    def x(self) -> np.ndarray:
        return (np.arange(self.bins) + 0.5) * self.width_s


def timeline(frame: pd.DataFrame) -> Timeline:
    time = frame["time_ns"].to_numpy()
    seconds = (time - time[0]) / 1e9
    duration = max(float(seconds[-1]), 1e-3)
    width = max(duration / BINS, 1.0) if duration > 10 else duration / 20
    bins = int(np.ceil(duration / width)) + 1
    return Timeline(t0=int(time[0]), width_s=width, bins=bins, seconds=seconds)


def fault_windows(frame: pd.DataFrame, line: Timeline) -> list[tuple[float, float, str]]:
    """(start s, stop s, fault) from nemesis events; an unclosed window runs to the end."""
    rows = frame[rows_where(frame, "f", "nemesis") & frame["value"].notna().to_numpy()]
    open_: dict[str, float] = {}
    windows = []
    for value, t in zip(rows["value"], rows["time_ns"], strict=True):
        data = orjson.loads(value)
        if not isinstance(data, dict):
            continue
        fault, at = str(data.get("fault", "fault")), (int(t) - line.t0) / 1e9
        if data.get("phase") == "start":
            open_.setdefault(fault, at)
        elif data.get("phase") == "stop" and fault in open_:
            windows.append((open_.pop(fault), at, fault))
    end = float(line.seconds[-1])
    windows += [(start, end, fault) for fault, start in open_.items()]
    return windows


def _shade(ax: Any, windows: list[tuple[float, float, str]]) -> None:
    for i, (start, stop, fault) in enumerate(windows):
        ax.axvspan(
            start,
            max(stop, start + 1e-3),
            color="tab:red",
            alpha=0.15,
            label="fault: " + fault if i == 0 else None,
        )


def rows_where(frame: pd.DataFrame, column: str, name: str) -> np.ndarray:
    """Rows whose categorical ``column`` equals ``name`` (compares integer codes)."""
    categories = frame[column].cat.categories
    if name not in categories:
        return np.zeros(len(frame), dtype=bool)
    return np.asarray(frame[column].cat.codes.to_numpy() == categories.get_loc(name))


def _masks(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    ok = rows_where(frame, "type", "ok")
    has_task = frame["task_id"].cat.codes.to_numpy() >= 0
    return {
        "submit": rows_where(frame, "f", "submit") & ok,
        "claim": rows_where(frame, "f", "claim") & ok & has_task,
        "complete": rows_where(frame, "f", "complete") & ok,
        "fail": rows_where(frame, "f", "fail") & ok,
        "rescue": rows_where(frame, "f", "rescue") & ok & has_task,
    }


def plot_all(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write throughput.png, latency.png and backlog.png; returns their paths."""
    line = timeline(frame)
    windows = fault_windows(frame, line)
    masks = _masks(frame)
    return [
        _plot(
            out_dir / "throughput.png",
            "Claims and completions per second",
            "per second",
            line,
            windows,
            {"claims": line.of(masks["claim"]), "completions": line.of(masks["complete"])},
        ),
        _latency_plot(out_dir / "latency.png", frame, line, windows),
        _plot(
            out_dir / "backlog.png",
            "Backlog: pending and processing",
            "tasks",
            line,
            windows,
            _backlog(line, masks),
        ),
    ]


def _plot(
    path: Path,
    title: str,
    unit: str,
    line: Timeline,
    windows: list[tuple[float, float, str]],
    series: dict[str, np.ndarray],
) -> Path:
    fig, ax = plt.subplots(figsize=(9, 3.2), dpi=100)
    try:
        for label, values in series.items():
            ax.plot(line.x, values, label=label, linewidth=1.2)
        _shade(ax, windows)
        ax.set_title(title)
        ax.set_xlabel("seconds since the first event")
        ax.set_ylabel(unit)
        if series or windows:
            ax.legend(loc="upper right", fontsize="small")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


OUTCOME_COLOURS = {"ok": "tab:green", "fail": "tab:orange", "info": "tab:red"}


def _latency_rows(frame: pd.DataFrame) -> np.ndarray:
    """Paired ops' invoke rows (at most ``SAMPLE``, a seeded sample)."""
    invokes = rows_where(frame, "type", "invoke") & (frame["latency_ns"].to_numpy() >= 0)
    rows = np.flatnonzero(invokes)
    if len(rows) > SAMPLE:
        rows = np.sort(np.random.default_rng(0).choice(rows, SAMPLE, replace=False))
    return rows


def _latency_plot(
    path: Path, frame: pd.DataFrame, line: Timeline, windows: list[tuple[float, float, str]]
) -> Path:
    """Every op's latency as a point coloured by outcome, beside the quantile lines."""
    fig, (points, lines) = plt.subplots(
        1, 2, figsize=(12, 3.4), dpi=100, sharey=True, gridspec_kw={"width_ratios": [1, 1]}
    )
    try:
        rows = _latency_rows(frame)
        ms = frame["latency_ns"].to_numpy()[rows] / 1e6
        outcome = frame["outcome"].cat.categories.to_numpy()[
            frame["outcome"].cat.codes.to_numpy()[rows]
        ]
        for name, colour in OUTCOME_COLOURS.items():
            chosen = outcome == name
            if chosen.any():
                rare = name != "ok"  # failures and unknowns drawn larger, on top
                points.scatter(line.seconds[rows][chosen], ms[chosen], s=12 if rare else 3,
                               alpha=0.85 if rare else 0.4, color=colour, zorder=3 if rare else 2,
                               label=f"{name} ({int(chosen.sum()):,})",
                               rasterized=True, linewidths=0)  # fmt: skip
        for n, (label, values) in enumerate(_latency_series(frame, line, rows).items()):
            lines.plot(line.x, values, label=label, linewidth=1.2, color=f"C{n // 2}",
                       linestyle="-" if label.endswith("p50") else "--")  # fmt: skip
        for ax, title in ((points, "Every operation's latency, by outcome"),
                          (lines, "Latency quantiles per operation")):  # fmt: skip
            _shade(ax, windows)
            ax.set_title(title)
            ax.set_xlabel("seconds since the first event")
        if points.has_data():
            points.legend(loc="upper right", fontsize="small", markerscale=2)
        if lines.has_data():
            lines.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        points.set_ylabel("ms")
        if len(ms) and (ms > 0).all():
            points.set_yscale("log")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def _latency_series(frame: pd.DataFrame, line: Timeline, rows: np.ndarray) -> dict[str, np.ndarray]:
    ops = pd.DataFrame(
        {
            "f": frame["f"].cat.codes.to_numpy()[rows],
            "bin": np.minimum((line.seconds[rows] / line.width_s).astype(np.int64), line.bins - 1),
            "ms": frame["latency_ns"].to_numpy()[rows] / 1e6,
        }
    )
    out: dict[str, np.ndarray] = {}
    categories = list(frame["f"].cat.categories)
    for f in LATENCY_OPS:
        sub = ops[ops["f"] == categories.index(f)]
        if not len(sub):
            continue
        q = sub.groupby("bin")["ms"].quantile(np.array([0.5, 0.99])).unstack()
        for col, name in ((0.5, "p50"), (0.99, "p99")):
            series = np.full(line.bins, np.nan)
            series[q.index.to_numpy()] = q[col].to_numpy()
            out[f"{f} {name}"] = series
    return out


def _backlog(line: Timeline, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Submitted-not-claimed and claimed-not-finished, from the history alone."""

    def count(name: str) -> np.ndarray:
        return np.cumsum(line.of(masks[name]) * line.width_s)

    claimed, rescued = count("claim"), count("rescue")
    pending = count("submit") - claimed + rescued
    processing = claimed - count("complete") - count("fail") - rescued
    return {"pending": np.maximum(pending, 0), "processing": np.maximum(processing, 0)}
