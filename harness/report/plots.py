"""The report's PNG plots (matplotlib, Agg): throughput, latency, backlog, faults.

Everything is binned with numpy first, so a 10-million-event run plots in about the
time of a small one. latency.png shows every op's latency as a point coloured by its
outcome (ok / fail / info) beside the per-operation p50 and p99 lines; both use at
most ``SAMPLE`` ops (a seeded sample).

What is drawn is gathered first (:func:`plot_data`: per-bin event counts, fault
windows, the latency sample) and drawn after (:func:`draw`), so a streamed analysis
gathers it per partition on the whole history's bins and adds the parts up
(:func:`merged`): the counts exactly, the latency sample in proportion to each part.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
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
    end_s: float  # the history's last event, from t0

    def count(self, mask: np.ndarray) -> np.ndarray:
        """Events in each bin, for the events selected by ``mask``."""
        index = np.minimum((self.seconds[mask] / self.width_s).astype(np.int64), self.bins - 1)
        return np.bincount(index, minlength=self.bins)

    @property
    def x(self) -> np.ndarray:
        return (np.arange(self.bins) + 0.5) * self.width_s


def timeline(frame: pd.DataFrame) -> Timeline:
    time = frame["time_ns"].to_numpy()
    return span_timeline(frame, int(time[0]), int(time[-1]))


def span_timeline(frame: pd.DataFrame, first_ns: int, last_ns: int) -> Timeline:
    """The bins of a history from ``first_ns`` to ``last_ns``, with ``frame``'s events
    placed on them (the whole history's frame, or one part of it)."""
    seconds = (frame["time_ns"].to_numpy() - first_ns) / 1e9
    duration = max((last_ns - first_ns) / 1e9, 1e-3)
    width = max(duration / BINS, 1.0) if duration > 10 else duration / 20
    bins = int(np.ceil(duration / width)) + 1
    end = (last_ns - first_ns) / 1e9
    return Timeline(t0=first_ns, width_s=width, bins=bins, seconds=seconds, end_s=end)


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
    windows += [(start, line.end_s, fault) for fault, start in open_.items()]
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


@dataclass(frozen=True, slots=True, kw_only=True)
class LatencySample:
    """Paired ops: invoke time (s from t0), latency (ms), outcome and op names."""

    seconds: np.ndarray
    ms: np.ndarray
    outcome: np.ndarray
    op: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class PlotData:
    """What the plots draw: on ``line``'s bins (its per-event ``seconds`` unused), the
    events counted per bin for each of :func:`_masks`, the fault windows, and the
    latency sample."""

    line: Timeline
    counts: dict[str, np.ndarray]
    windows: list[tuple[float, float, str]]
    latency: LatencySample


def plot_all(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write throughput.png, latency.png and backlog.png; returns their paths."""
    return draw(whole_plot_data(frame), out_dir)


def whole_plot_data(frame: pd.DataFrame) -> PlotData:
    """The plots' data of a whole history's frame, on its own time bins."""
    return plot_data(frame, timeline(frame))


def plot_data(frame: pd.DataFrame, line: Timeline, sample: int = SAMPLE) -> PlotData:
    """The plots' data from ``frame`` on ``line`` (at most ``sample`` latency points)."""
    counts = {name: line.count(mask) for name, mask in _masks(frame).items()}
    rows = _latency_rows(frame, sample)

    def names(column: str) -> np.ndarray:
        values = frame[column]
        chosen: np.ndarray = values.cat.categories.to_numpy()[values.cat.codes.to_numpy()[rows]]
        return chosen.astype(str)

    latency = LatencySample(
        seconds=line.seconds[rows],
        ms=frame["latency_ns"].to_numpy()[rows] / 1e6,
        outcome=names("outcome"),
        op=names("f"),
    )
    empty = replace(line, seconds=np.empty(0))
    return PlotData(line=empty, counts=counts, windows=fault_windows(frame, line), latency=latency)


def merged(parts: list[PlotData]) -> PlotData:
    """The plots' data of a history from its parts' (all on the same bins)."""
    first = parts[0]
    counts = {name: np.sum([p.counts[name] for p in parts], axis=0) for name in first.counts}
    windows = sorted(w for p in parts for w in p.windows)
    latency = LatencySample(
        **{
            name: np.concatenate([getattr(p.latency, name) for p in parts])
            for name in ("seconds", "ms", "outcome", "op")
        }
    )
    return PlotData(line=first.line, counts=counts, windows=windows, latency=latency)


def draw(data: PlotData, out_dir: Path) -> list[Path]:
    """Write throughput.png, latency.png and backlog.png from ``data``."""
    line, windows, counts = data.line, data.windows, data.counts
    rates = {name: n / line.width_s for name, n in counts.items()}
    return [
        _plot(
            out_dir / "throughput.png",
            "Claims and completions per second",
            "per second",
            line,
            windows,
            {"claims": rates["claim"], "completions": rates["complete"]},
        ),
        _latency_plot(out_dir / "latency.png", data.latency, line, windows),
        _plot(
            out_dir / "backlog.png",
            "Backlog: pending and processing",
            "tasks",
            line,
            windows,
            _backlog(counts),
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


def _latency_rows(frame: pd.DataFrame, sample: int = SAMPLE) -> np.ndarray:
    """Paired ops' invoke rows (at most ``sample``, a seeded sample)."""
    invokes = rows_where(frame, "type", "invoke") & (frame["latency_ns"].to_numpy() >= 0)
    rows = np.flatnonzero(invokes)
    if len(rows) > sample:
        rows = np.sort(np.random.default_rng(0).choice(rows, sample, replace=False))
    return rows


def _latency_plot(
    path: Path, sample: LatencySample, line: Timeline, windows: list[tuple[float, float, str]]
) -> Path:
    """Every op's latency as a point coloured by outcome, beside the quantile lines."""
    fig, (points, lines) = plt.subplots(
        1, 2, figsize=(12, 3.4), dpi=100, sharey=True, gridspec_kw={"width_ratios": [1, 1]}
    )
    try:
        ms, outcome = sample.ms, sample.outcome
        for name, colour in OUTCOME_COLOURS.items():
            chosen = outcome == name
            if chosen.any():
                rare = name != "ok"  # failures and unknowns drawn larger, on top
                points.scatter(sample.seconds[chosen], ms[chosen], s=12 if rare else 3,
                               alpha=0.85 if rare else 0.4, color=colour, zorder=3 if rare else 2,
                               label=f"{name} ({int(chosen.sum()):,})",
                               rasterized=True, linewidths=0)  # fmt: skip
        for n, (label, values) in enumerate(_latency_series(sample, line).items()):
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


def _latency_series(sample: LatencySample, line: Timeline) -> dict[str, np.ndarray]:
    ops = pd.DataFrame(
        {
            "f": sample.op,
            "bin": np.minimum((sample.seconds / line.width_s).astype(np.int64), line.bins - 1),
            "ms": sample.ms,
        }
    )
    out: dict[str, np.ndarray] = {}
    for f in LATENCY_OPS:
        sub = ops[ops["f"].to_numpy() == f]
        if not len(sub):
            continue
        q = sub.groupby("bin")["ms"].quantile(np.array([0.5, 0.99])).unstack()
        for col, name in ((0.5, "p50"), (0.99, "p99")):
            series = np.full(line.bins, np.nan)
            series[q.index.to_numpy()] = q[col].to_numpy()
            out[f"{f} {name}"] = series
    return out


def _backlog(counts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Submitted-not-claimed and claimed-not-finished, from the history alone."""

    def count(name: str) -> np.ndarray:
        return np.cumsum(counts[name])

    claimed, rescued = count("claim"), count("rescue")
    pending = count("submit") - claimed + rescued
    processing = claimed - count("complete") - count("fail") - rescued
    return {"pending": np.maximum(pending, 0), "processing": np.maximum(processing, 0)}
