"""History shards travelling from Locust workers to the master's run folder.

Decision (DESIGN.md §9): every Locust worker process records into a local spool shard
exactly as a single process would (one ``os.write`` per event), and ships the shard's
*complete lines* to the master over Locust's messaging in batches; the master appends
them to ``<run>/history/<shard>``. The same path serves ``--processes N`` and
``--master``/``--worker`` across machines, so there is one mechanism to trust.

None lost, none duplicated: a batch carries its byte offset in the shard. The master
writes only bytes past what it already holds (a resent batch is dropped), and records a
gap if a batch skips ahead. At the end each worker sends ``done`` with its final size;
the master knows a shard is whole when it holds exactly that many bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

MAX_BATCH = 512 * 1024  # bytes per message; keeps a zmq frame small under load


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    shard: str
    offset: int  # byte offset of data's first byte in the shard
    data: bytes  # whole lines only


class ShardTail:
    """Reads a growing shard from where the last read stopped, whole lines only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def read(self, limit: int = MAX_BATCH) -> Batch | None:
        """The next batch of complete lines, or ``None`` when nothing new is complete."""
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                chunk = f.read(limit)
        except FileNotFoundError:
            return None
        end = chunk.rfind(b"\n") + 1
        if end == 0:
            return None
        batch = Batch(shard=self.path.name, offset=self.offset, data=chunk[:end])
        self.offset += end
        return batch

    def read_all(self) -> list[Batch]:
        batches = []
        while (batch := self.read()) is not None:
            batches.append(batch)
        return batches


@dataclass(slots=True)
class ShardState:
    size: int = 0  # bytes held
    final_size: int | None = None  # what the worker said at the end
    gaps: list[tuple[int, int]] = field(default_factory=list)

    @property
    def whole(self) -> bool:
        return self.final_size is not None and self.final_size == self.size and not self.gaps


class ShardAssembler:
    """The master's side: appends each shard's batches once, in order."""

    def __init__(self, history_dir: Path) -> None:
        self.history_dir = history_dir
        self.shards: dict[str, ShardState] = {}

    def _state(self, shard: str) -> ShardState:
        if "/" in shard or shard.startswith("."):
            raise ValueError(f"shard name {shard!r} is not a plain file name")
        return self.shards.setdefault(shard, ShardState())

    def accept(self, batch: Batch) -> int:
        """Append the part of ``batch`` not yet held; returns the bytes written."""
        state = self._state(batch.shard)
        end = batch.offset + len(batch.data)
        if end <= state.size:
            return 0  # a resend of what we hold
        if batch.offset > state.size:
            state.gaps.append((state.size, batch.offset))  # lost in transit: say so
            state.size = batch.offset
        new = batch.data[state.size - batch.offset :]
        self.history_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.history_dir / batch.shard, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, new)
        finally:
            os.close(fd)
        state.size = end
        return len(new)

    def finish(self, shard: str, final_size: int) -> None:
        self._state(shard).final_size = final_size

    def incomplete(self) -> dict[str, str]:
        """Shards that are not whole, with why (for run.json)."""
        out = {}
        for name, s in self.shards.items():
            if not s.whole:
                out[name] = f"held {s.size} bytes, worker said {s.final_size}, gaps {s.gaps}"
        return out
