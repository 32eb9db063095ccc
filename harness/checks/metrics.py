"""Run metrics reported beside the checks (not violations): counts and throughput."""

from __future__ import annotations

import numpy as np

from harness.checks.ops import INFO, NEVER, Views

_OUTCOMES = ("ok", "fail", "info")


def metrics(views: Views) -> dict[str, int | float]:
    frame, ops = views.frame, views.ops
    time = frame["time_ns"].to_numpy()
    duration = max((int(time[-1]) - int(time[0])) / 1e9, 1e-9)
    outcome = ops["outcome"].to_numpy()
    out: dict[str, int | float] = {
        "events": len(frame),
        "ops": len(ops),
        "duration_s": round(duration, 3),
        "indeterminate": int((outcome == INFO).sum()),
        "unfinished": int((ops["t_done"].to_numpy() == NEVER).sum()),
        "tasks": len(frame["task_id"].cat.categories),
        "processes": len(frame["process"].cat.categories),
        "workers": int(views.claims["actor"].nunique()),
        "rescues": len(views.rescues),
        "claims_granted": len(views.claims),  # claims that returned a task (not 204s)
    }
    f_names = frame["f"].cat.categories
    counts = np.bincount(ops["f"].to_numpy() * 3 + outcome, minlength=len(f_names) * 3)
    for code, name in enumerate(f_names):
        for k, result in enumerate(_OUTCOMES):
            if counts[code * 3 + k]:
                out[f"ops_{name}_{result}"] = int(counts[code * 3 + k])
    out["throughput_ops_per_s"] = round(len(ops) / duration, 1)
    out["claims_per_s"] = round(len(views.claims) / duration, 1)
    out["completions_per_s"] = round(out.get("ops_complete_ok", 0) / duration, 1)
    return out
