"""A canonical hash of one explorer state: what decides every future step and finding.

Two states with the same fingerprint behave the same from there on, so the search
explores each fingerprint once. What goes in:

- **Redis**: every key with its type and logical contents (lists in order; hashes and
  sets sorted; sorted sets with scores), read in one server-side script. Types without
  a logical reading here (streams, ...) are hashed by their ``DUMP`` bytes.
- **actors**: per actor its incarnation (worker ids carry it), the claims it holds,
  and the operation in flight: op, task, token, round trips done, and the generator's
  own frame — code position and local variables (following ``yield from``), because a
  claim paused after its RPOP carries the popped id only in a local variable.
- **the model**: every task's phase, owner lease, completions and failures, and every
  worker's leases. The model compares sequence numbers only with ``<`` against later
  ones, so they are replaced by their rank among the numbers present (in-flight ops'
  invoke numbers included): two runs that differ only in how many steps led here
  hash alike, and every comparison the model can still make comes out the same.
- **the clock** and the submitted task ids.

Janitors are interchangeable: the queue's API gives a janitor no identity
(``rescue_expired()`` takes no argument) and the model never hears which janitor
re-queued a task, so janitors enter the fingerprint as a sorted list of their
operations in flight, without names or incarnations (a janitor's incarnation names
only its history process). States that differ only by which janitor is where hash
alike — a symmetry reduction, sound because renaming janitors maps every run to a run
with the same findings.

History events and the trace are not state (nothing judges them during a search).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from enum import Enum
from types import GeneratorType
from typing import Any

import redis
from redis.commands.core import Script

from harness.explorer.actors import Actor, InFlight, Role
from harness.explorer.oracle import Lease, Model
from harness.explorer.world import World

# Every key, sorted, as {name, type, contents...}; contents as Redis returns them.
_REDIS_STATE_LUA = """
local names = redis.call('KEYS', '*')
table.sort(names)
local out = {}
for _, name in ipairs(names) do
  local kind = redis.call('TYPE', name)['ok']
  local body
  if kind == 'string' then body = {redis.call('GET', name)}
  elseif kind == 'list' then body = redis.call('LRANGE', name, 0, -1)
  elseif kind == 'hash' then body = redis.call('HGETALL', name)
  elseif kind == 'set' then body = redis.call('SMEMBERS', name)
  elseif kind == 'zset' then body = redis.call('ZRANGE', name, 0, -1, 'WITHSCORES')
  else body = {redis.call('DUMP', name)} end
  out[#out + 1] = {name, kind, body, redis.call('PTTL', name), redis.call('DUMP', name)}
end
return out
"""

_SKIPPED_LOCALS = frozenset({"self", "cls"})


Dumped = tuple[tuple[bytes, int, bytes], ...]  # name, TTL in ms (0: none), DUMP payload


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisState:
    canonical: bytes  # the logical contents, for the fingerprint
    dumped: Dumped  # the same keys as DUMP payloads, for a snapshot
    contents: dict[bytes, list[bytes]]  # name -> items as read (hashes as flat pairs)


class RedisReader:
    """Reads the whole database in one round trip: logical contents and DUMP payloads.

    ``raw`` must not decode replies (DUMP payloads are binary)."""

    def __init__(self, raw: redis.Redis) -> None:
        self._raw = raw
        self._script: Script = raw.register_script(_REDIS_STATE_LUA)

    def read(self, then_restore: Dumped | None = None) -> RedisState:
        """The database now; with ``then_restore``, the same round trip then puts these
        keys back (one MULTI: the read, ``FLUSHDB``, a ``RESTORE`` per key)."""
        if then_restore is None:
            return self._parse(self._script())
        pipe = self._raw.pipeline(transaction=True)
        self._script(client=pipe)
        pipe.flushdb()
        for name, ttl, payload in then_restore:
            pipe.restore(name, ttl, payload, replace=True)
        return self._parse(pipe.execute()[0])

    def _parse(self, rows: Any) -> RedisState:
        parts: list[bytes] = []
        dumped: list[tuple[bytes, int, bytes]] = []
        contents: dict[bytes, list[bytes]] = {}
        for name, kind, body, ttl, payload in rows:
            items: list[bytes] = [x if isinstance(x, bytes) else str(x).encode() for x in body]
            contents[name] = items
            if kind == b"hash":
                items = sorted(k + b"=" + v for k, v in zip(items[::2], items[1::2], strict=True))
            elif kind == b"set":
                items = sorted(items)
            parts.append(name + b"\x1f" + kind + b"\x1f" + b"\x1e".join(items))
            dumped.append((name, max(int(ttl), 0), payload))
        return RedisState(canonical=b"\x1d".join(parts), dumped=tuple(dumped), contents=contents)


def fingerprint(
    world: World, redis_state: bytes, extra: bytes = b"", *, symmetric: bool = True
) -> bytes:
    """16 bytes that equal exactly when the two states are the same (see module doc);
    ``extra``: anything else the search's future depends on (a replay's progress);
    ``symmetric=False`` when the search tells janitors apart (a replay's programs)."""
    digest = hashlib.blake2b(redis_state + b"\x00" + extra, digest_size=16)
    digest.update(repr(python_state(world, symmetric=symmetric)).encode())
    return digest.digest()


def python_state(world: World, *, symmetric: bool = True) -> tuple[Any, ...]:
    """The explorer's side of a state, canonical and printable."""
    ranks = _seq_ranks(world)
    actors = tuple(
        _actor(a, ranks)
        for _, a in sorted(world.actors.items())
        if a.role is not Role.JANITOR or not symmetric
    )
    janitors = sorted(
        repr(_flight(a.in_flight, ranks) if a.in_flight else None)
        for a in world.actors.values()
        if a.role is Role.JANITOR and symmetric
    )
    model = _model(world.model, ranks)
    return (world.clock.now(), tuple(world.submitted), actors, tuple(janitors), model)


def _seq_ranks(world: World) -> dict[int, int]:
    seqs: set[int] = set()
    for task in world.model.tasks.values():
        seqs.update(task.completions)
        seqs.update(s for s in (task.superseded_seq,) if s is not None)
    for leases in world.model.leases.values():
        seqs.update(lease.ok_seq for lease in leases)
    seqs.update(a.in_flight.invoke_seq for a in world.actors.values() if a.in_flight)
    return {s: rank for rank, s in enumerate(sorted(seqs))}


def _actor(actor: Actor, ranks: dict[int, int]) -> tuple[Any, ...]:
    held = tuple(canonical(c) for c in actor.held)
    flight = _flight(actor.in_flight, ranks) if actor.in_flight else None
    return (actor.name, actor.incarnation, held, flight)


def _flight(flight: InFlight, ranks: dict[int, int]) -> tuple[Any, ...]:
    return (
        str(flight.op),
        flight.task_id,
        flight.token,
        canonical(flight.claim),
        flight.retry,
        tuple(flight.points),
        ranks[flight.invoke_seq],
        tuple(generator_frames(flight.steps)),
    )


def generator_frames(gen: Any) -> list[tuple[Any, ...]]:
    """Code position and locals of a paused generator and those it delegates to.

    A list, not a generator: the caller's reference keeps the chain alive while it is
    read (a dropped outer generator would be closed, and its delegate with it)."""
    frames: list[tuple[Any, ...]] = []
    step = gen
    while isinstance(step, GeneratorType) and step.gi_frame is not None:
        frame = step.gi_frame
        local = sorted(
            (k, canonical(v)) for k, v in frame.f_locals.items() if k not in _SKIPPED_LOCALS
        )
        frames.append((frame.f_code.co_qualname, frame.f_lasti, tuple(local)))
        step = step.gi_yieldfrom
    return frames


def canonical(value: Any) -> Any:
    """Plain data as itself; containers element-wise; other objects by type name (a
    client, a pipeline between round trips: not state of the operation)."""
    if value is None or isinstance(value, str | int | float | bool | bytes | Enum):
        return value
    if isinstance(value, list | tuple):
        return tuple(canonical(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), canonical(v)) for k, v in value.items()))
    if isinstance(value, set | frozenset):
        return tuple(sorted(repr(canonical(v)) for v in value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value).__name__, *(canonical(getattr(value, f.name)) for f in fields))
    return f"<{type(value).__qualname__}>"


def _model(model: Model, ranks: dict[int, int]) -> tuple[Any, ...]:
    tasks = tuple(
        (
            task_id,
            str(task.phase),
            _lease(task.owner, ranks),
            None if task.superseded_seq is None else ranks[task.superseded_seq],
            tuple(ranks[s] for s in task.completions),
            task.failures,
        )
        for task_id, task in sorted(model.tasks.items())
    )
    leases = tuple(
        (worker, tuple(_lease(lease, ranks) for lease in held))
        for worker, held in sorted(model.leases.items())
    )
    return (tasks, leases)


def _lease(lease: Lease | None, ranks: dict[int, int]) -> tuple[Any, ...] | None:
    if lease is None:
        return None
    return (
        lease.task_id,
        lease.worker,
        lease.token,
        ranks[lease.ok_seq],
        lease.expires_at,
        lease.released,
    )
