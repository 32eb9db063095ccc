"""The comparison's plots: throughput and latency of each implementation, overlaid.

One row (throughput) or column (latency) per profile; the frames are each run's history
(``None`` when a run left none). Pure matplotlib on frames, like :mod:`.plots`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

COLORS = {"naive": "#c0392b", "safe": "#2471a3"}
Frames = dict[tuple[str, str], pd.DataFrame | None]  # (profile, impl) -> history frame


def throughput_plot(
    frames: Frames, profiles: Sequence[str], impls: Sequence[str], out: Path
) -> None:
    """Accepted completions per second, one panel per profile."""
    n = max(1, len(profiles))
    fig, axes = plt.subplots(n, 1, figsize=(9, 2.6 * n), squeeze=False)
    for ax, profile in zip(axes[:, 0], profiles, strict=False):
        for impl in impls:
            frame = frames.get((profile, impl))
            if frame is None or frame.empty:
                continue
            done = frame[(frame["f"] == "complete") & (frame["type"] == "ok")]
            if done.empty:
                continue
            t = (done["time_ns"].to_numpy() - frame["time_ns"].min()) / 1e9
            bins = np.arange(0, max(1.0, float(t.max())) + 1.0, 1.0)
            counts, edges = np.histogram(t, bins=bins)
            ax.plot(edges[:-1], counts, label=impl, color=COLORS.get(impl))
        ax.set_title(f"{profile}: accepted completions per second")
        ax.set_xlabel("seconds since the first event")
        ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def latency_plot(frames: Frames, profiles: Sequence[str], impls: Sequence[str], out: Path) -> None:
    """p50 and p99 latency of claim, complete and submit, one panel per profile."""
    ops = ("claim", "complete", "submit")
    n = max(1, len(profiles))
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.2), squeeze=False)
    for ax, profile in zip(axes[0], profiles, strict=False):
        width = 0.38
        for k, impl in enumerate(impls):
            frame = frames.get((profile, impl))
            p50, p99 = [], []
            for op in ops:
                lat = (
                    frame.loc[(frame["f"] == op) & (frame["latency_ns"] >= 0), "latency_ns"]
                    if frame is not None
                    else pd.Series(dtype="int64")
                )
                p50.append(float(lat.quantile(0.5)) / 1e6 if len(lat) else 0.0)
                p99.append(float(lat.quantile(0.99)) / 1e6 if len(lat) else 0.0)
            x = np.arange(len(ops)) + (k - 0.5) * width
            ax.bar(x, p99, width, color=COLORS.get(impl), alpha=0.35, label=f"{impl} p99")
            ax.bar(x, p50, width, color=COLORS.get(impl), label=f"{impl} p50")
        ax.set_xticks(np.arange(len(ops)), ops)
        ax.set_ylabel("ms")
        ax.set_title(profile)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
