"""The server's final view of every task (``audit.json``), as the checks read it.

Shape (contract, DESIGN.md section 4): ``{"tasks": {id: {"status", "attempts", ...}},
"stats": {...}}``. Extra per-task fields (``record_status``, ``pending_copies``,
``in_processing``) are kept: ``audit_mismatch`` uses them when present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from harness.errors import HistoryError

STATUSES = frozenset(
    {"pending", "processing", "completed", "failed", "missing", "unknown_to_server"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Audit:
    tasks: dict[str, dict[str, Any]]
    stats: dict[str, Any] = field(default_factory=dict)
    taken_at: float | None = None  # epoch seconds, when the audit was read

    def status(self, task_id: str) -> str | None:
        entry = self.tasks.get(task_id)
        return None if entry is None else str(entry.get("status"))

    def to_json(self) -> dict[str, Any]:
        return {"tasks": self.tasks, "stats": self.stats, "taken_at": self.taken_at}


def audit_from_json(data: Any, source: str = "audit") -> Audit:
    """Validate the audit's shape; raises :class:`HistoryError` naming what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), dict):
        raise HistoryError(f"{source}: expected an object with a 'tasks' object")
    for task_id, entry in data["tasks"].items():
        if not isinstance(entry, dict) or entry.get("status") not in STATUSES:
            raise HistoryError(
                f"{source}: task {task_id!r}: 'status' must be one of {sorted(STATUSES)}"
            )
    stats = data.get("stats") or {}
    taken_at = data.get("taken_at")
    return Audit(
        tasks=data["tasks"],
        stats=stats if isinstance(stats, dict) else {},
        taken_at=float(taken_at) if isinstance(taken_at, int | float) else None,
    )


def load_audit(path: Path) -> Audit:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise HistoryError(f"{path}: unreadable audit: {exc}") from exc
    return audit_from_json(data, str(path))
