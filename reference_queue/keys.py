"""Every Redis key name either queue uses, in one place (the note's names)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = ""

    @property
    def pending(self) -> str:  # LIST: LPUSH to enqueue, RPOP to dequeue
        return f"{self.prefix}queue:pending"

    @property
    def processing(self) -> str:  # ZSET: naive score = start time; safe score = lease deadline
        return f"{self.prefix}queue:processing"

    @property
    def failed(self) -> str:  # ZSET: score = failure time
        return f"{self.prefix}queue:failed"

    @property
    def token_seq(self) -> str:  # STRING counter: fencing tokens (safe)
        return f"{self.prefix}queue:token_seq"

    @property
    def completed_count(self) -> str:  # STRING counter: accepted completions
        return f"{self.prefix}stats:completed"

    def task(self, task_id: str) -> str:  # HASH: status, payload, worker_id, attempts, ...
        return f"{self.prefix}task:{task_id}"

    def worker(self, worker_id: str) -> str:  # HASH: last_active (the note's heartbeat)
        return f"{self.prefix}worker:{worker_id}"

    def worker_tasks(self, worker_id: str) -> str:  # SET: task ids leased to a worker (safe)
        return f"{self.prefix}worker:{worker_id}:tasks"
