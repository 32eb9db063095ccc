"""A canonical hash of one explorer state: what decides every future step and finding.

Two states with the same fingerprint behave the same from there on, so the search
explores each fingerprint once. What goes in, as a multiset of *facts* (each a
``repr``, so no two different facts print alike), sorted and hashed:

- **Redis**: every key with its type and logical contents (lists and sorted sets in
  order, with scores; one fact per hash field and per set member), read in one
  server-side script. Types without a logical reading here are kept as ``DUMP`` bytes.
- **actors**: per actor the claims it holds and the operation in flight: op, task,
  token, round trips done, and the generator's own frame — code position and local
  variables (following ``yield from``), because a claim paused after its RPOP carries
  the popped id only in a local variable.
- **the model**: every task's phase, owner lease, completions and failures, and the
  workers' leases. The model compares sequence numbers only with ``<`` against later
  ones, so they are replaced by their rank among the numbers present.
- **the clock** and the submitted task ids.

History events and the trace are not state (nothing judges them during a search).

On top of that exact reading, an :class:`Abstraction` names the equivalences applied
(all on by default; a replay, whose programs tell actors apart, uses ``EXACT``). Each
maps a state to a representative of a class of states that have the same futures up
to renaming, so every finding reachable from one is reachable from the other at the
same depth, with the same kind and op:

``janitors`` — the queue's API gives a janitor no identity (``rescue_expired()`` takes
  no argument) and the model never hears which janitor re-queued a task, so janitors
  enter as a sorted list of their operations in flight, without names.

``workers`` — worker ids are opaque names to a queue: it stores them, compares them for
  equality and builds key names from them, and never sorts or parses them. The model
  too only compares them. Renaming the workers consistently everywhere (Redis key
  names and values, the actors, their frames, the model) maps every run to a run with
  the same findings, so the fingerprint is the least of the renamed readings over every
  permutation of the worker actors. A crashed incarnation's id (``W0`` once ``W0.1``
  runs) can never act again; only its equality with what it left behind matters, so
  dead ids are renamed too (by their slot and their rank among that slot's dead ids
  still present), and the live incarnation's number drops out (a new incarnation's id
  is fresh in every state). Checked, not assumed: a state where a worker id is a
  sorted-set member (where Redis would order by it) is read without this renaming.

``clock`` — a queue on the injected clock reads time only as ``now``, adds constants of
  at most the lease to it (a deadline ``now + lease``, an age limit ``now - lease``),
  and compares the times it stored with each other and with those. The model does the
  same (``now < expires_at``, ``max(expires_at, now + lease)``). So a state seen with
  every time shifted by a constant behaves the same (only offsets from ``now``
  matter), and a time older than ``now - lease`` compares below every value computed
  from now on, at this or any later ``now``: only its order among the other old times
  matters. Times enter as their offset from ``now`` when ``>= now - lease``, else as
  their rank among the old ones. A time is recognised as a number equal to a clock
  reading so far, or a reading plus or minus the lease (the injected clock starts at
  1.7e9, so no count or id coincides); a queue's times in any other form (a library
  on real time, milliseconds) are kept exactly, which is sound, only coarser.

``write_only`` — hash fields the queue declares it never reads back (the contract's
  ``write_only``: timestamps kept for people, a result) are left out: a step's effect
  and answer never depend on them, and the model reads of a task's record only where
  it is (status, pending copies, processing membership). Sound exactly when the
  declaration is true; the safe queue declares what its scripts never ``HGET``.

``model`` — the model reads, of a worker's leases, only the last one per task
  (``finished``) and the unreleased ones (``heartbeat``), and of a lease only its task,
  worker, release and expiry (never its token or sequence number); a dead
  incarnation's leases only as some task's owner. The rest is left out.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import hashlib
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import GeneratorType
from typing import Any

import redis

from harness.contract import declared
from harness.explorer.actors import InFlight, Role
from harness.explorer.oracle import Lease, Model
from harness.explorer.world import World, worker_names

# Every key, sorted, as {name, type, contents, PTTL, DUMP}; contents as Redis returns them.
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
Row = tuple[bytes, bytes, tuple[bytes, ...]]  # name, type, items as read


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisState:
    rows: tuple[Row, ...]  # the logical contents, for the fingerprint
    dumped: Dumped  # the same keys as DUMP payloads, for a snapshot
    contents: dict[bytes, tuple[bytes, ...]]  # name -> items as read (hashes as flat pairs)


class RedisReader:
    """Reads the whole database in one round trip: logical contents and DUMP payloads.

    ``raw`` must not decode replies (DUMP payloads are binary)."""

    def __init__(self, raw: redis.Redis) -> None:
        self._raw = raw
        self._sha = str(raw.script_load(_REDIS_STATE_LUA))

    def read(self, then_restore: Dumped | None = None) -> RedisState:
        """The database now; with ``then_restore``, the same round trip then puts these
        keys back (one MULTI: the read, ``FLUSHDB``, a ``RESTORE`` per key). The script
        is loaded once (a FLUSHDB keeps it), so no pipeline asks ``SCRIPT EXISTS``."""
        if then_restore is None:
            return _parse(self._raw.evalsha(self._sha, 0))
        pipe = self._raw.pipeline(transaction=True)
        pipe.evalsha(self._sha, 0)
        pipe.flushdb()
        for name, ttl, payload in then_restore:
            pipe.restore(name, ttl, payload, replace=True)
        return _parse(pipe.execute()[0])


def _parse(rows: Any) -> RedisState:
    read: list[Row] = []
    dumped: list[tuple[bytes, int, bytes]] = []
    contents: dict[bytes, tuple[bytes, ...]] = {}
    for name, kind, body, ttl, payload in rows:
        items = tuple(x if isinstance(x, bytes) else str(x).encode() for x in body)
        contents[name] = items
        read.append((name, kind, items))
        dumped.append((name, max(int(ttl), 0), payload))
    return RedisState(rows=tuple(read), dumped=tuple(dumped), contents=contents)


@dataclass(frozen=True, slots=True, kw_only=True)
class Abstraction:
    """Which equivalences the fingerprint applies (each argued in the module doc)."""

    janitors: bool = True
    workers: bool = True
    clock: bool = True
    model: bool = True
    write_only: bool = True


FULL = Abstraction()
EXACT = Abstraction(janitors=False, workers=False, clock=False, model=False, write_only=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Print:
    """A state's fingerprint, and how the state's actors are named in it."""

    digest: bytes  # 16 bytes, equal exactly when the (abstracted) states are the same
    labels: Mapping[str, str]  # actor -> its name in the representative (sleep sets)
    twins: frozenset[str]  # actors whose every step mirrors an earlier actor's step


# Worker ids are renamed through single control bytes 0x01..0x1c (``repr`` never writes
# a control byte; 0x1d and 0x1e mark the clock's tokens): live workers first, then per
# slot up to _DEAD_PER_SLOT dead ids. Beyond these bounds a state is read as named.
_MAX_PERMUTED = 3
_DEAD_PER_SLOT = 8
_LAST_PLACEHOLDER = 0x1C
_PLACEHOLDERS = _LAST_PLACEHOLDER


def fingerprint(
    world: World, redis_state: RedisState, extra: bytes = b"", *, abstraction: Abstraction = FULL
) -> Print:
    """The fingerprint (see the module doc); ``extra``: anything else the search's
    future depends on (a replay's progress)."""
    facts, janitors = _facts(world, redis_state, abstraction)
    text = b"\n".join(facts)  # repr escapes newlines and control bytes: a safe separator
    mode = b"e"
    if abstraction.clock:
        text = _Times(world, text).apply(text)
        mode += b"c"
    labels = {name: janitors.get(name, name) for name in world.actors}
    twins: frozenset[str] = frozenset()
    if abstraction.workers:
        renamed = _Renaming(world, text)
        if renamed.possible:
            text, worker_labels, twins = renamed.apply()
            labels.update(worker_labels)
            mode += b"w"
    digest = hashlib.blake2b(mode + b"\x00" + extra + b"\x00" + text, digest_size=16)
    return Print(digest=digest.digest(), labels=labels, twins=twins)


# ---- the facts ------------------------------------------------------------------------


def _facts(
    world: World, state: RedisState, abstraction: Abstraction
) -> tuple[list[bytes], dict[str, str]]:
    """Every fact of the state, and the janitors' names in the representative."""
    facts: list[bytes] = []
    unread = _write_only(world) if abstraction.write_only else None
    for name, kind, items in state.rows:
        if kind == b"hash":
            skip = unread(name) if unread else frozenset()
            pairs = zip(items[::2], items[1::2], strict=True)
            facts += [repr((name, k, v)).encode() for k, v in pairs if k not in skip]
        elif kind == b"set":
            facts += [repr((name, b"S", m)).encode() for m in items]
        else:
            facts.append(repr((name, kind, items)).encode())
    ranks = _seq_ranks(world, abstraction.model)
    if not abstraction.clock:
        facts.append(repr(("now", world.clock.now())).encode())
    facts.append(repr(("submitted", tuple(world.submitted))).encode())
    slots = set(worker_names(world.config)) if abstraction.workers else set()
    flights: list[tuple[bytes, str]] = []
    for actor, a in world.actors.items():
        flight = _flight(a.in_flight, ranks) if a.in_flight else None
        if a.role is Role.JANITOR and abstraction.janitors:
            flights.append((repr(flight).encode(), actor))
            continue
        held = tuple(_held(c, abstraction.model) for c in a.held)
        who = (a.worker_id,) if actor in slots else (actor, a.incarnation)
        facts.append(repr(("actor", who, held, flight)).encode())
    flights.sort()
    facts += [b"janitor " + f for f, _ in flights]
    janitors = {actor: f"j{rank}" for rank, (_, actor) in enumerate(flights)}
    facts += _model(world, ranks, abstraction.model)
    return facts, janitors


def _write_only(world: World) -> Callable[[bytes], frozenset[bytes]] | None:
    """Key name -> the hash fields the queue declares it never reads (``write_only``)."""
    listed = declared(world.queue, "write_only")
    if not listed:
        return None
    return _matcher(tuple((k, tuple(v)) for k, v in sorted(listed.items())))


Listed = tuple[tuple[str, tuple[str, ...]], ...]


@functools.cache
def _matcher(listed: Listed) -> Callable[[bytes], frozenset[bytes]]:
    compiled = [
        (re.compile(fnmatch.translate(pattern).encode()), frozenset(f.encode() for f in fields))
        for pattern, fields in listed
    ]

    @functools.cache
    def fields(name: bytes) -> frozenset[bytes]:
        return frozenset().union(*(f for p, f in compiled if p.match(name)))

    return fields


def _held(claim: Any, pruned: bool) -> Any:
    # The world reads of a held claim only its task id and token (the operation's
    # arguments); the rest (payload, attempt, expiry) went to the history at claim time.
    return (claim.task_id, claim.token) if pruned else canonical(claim)


def _seq_ranks(world: World, pruned: bool) -> dict[int, int]:
    seqs: set[int] = set()
    for task in world.model.tasks.values():
        seqs.update(task.completions[:1] if pruned else task.completions)
        seqs.update(s for s in (task.superseded_seq,) if s is not None)
    if not pruned:
        for leases in world.model.leases.values():
            seqs.update(lease.ok_seq for lease in leases)
    seqs.update(a.in_flight.invoke_seq for a in world.actors.values() if a.in_flight)
    return {s: rank for rank, s in enumerate(sorted(seqs))}


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


def _model(world: World, ranks: dict[int, int], pruned: bool) -> list[bytes]:
    model: Model = world.model
    facts = [
        repr(
            (
                "task",
                task_id,
                str(task.phase),
                _lease(task.owner, ranks, pruned),
                None if task.superseded_seq is None else ranks[task.superseded_seq],
                (ranks[task.completions[0]], len(task.completions))
                if pruned and task.completions
                else tuple(ranks[s] for s in task.completions),
                task.failures,
            )
        ).encode()
        for task_id, task in model.tasks.items()
    ]
    live = {a.worker_id for a in world.actors.values() if a.role is Role.WORKER}
    for worker, held in model.leases.items():
        if pruned and worker not in live:
            continue  # a dead incarnation never reports again: only owners matter
        kept = _kept(held) if pruned else held
        leases = tuple(_lease(lease, ranks, pruned) for lease in kept)
        facts.append(repr(("leases", worker, leases)).encode())
    return facts


def _kept(held: list[Lease]) -> list[Lease]:
    """The last lease per task and every unreleased one, oldest first."""
    last = {lease.task_id: lease for lease in held}
    return [x for x in held if not x.released or last[x.task_id] is x]


def _lease(lease: Lease | None, ranks: dict[int, int], pruned: bool) -> tuple[Any, ...] | None:
    if lease is None:
        return None
    if pruned:
        expiry = None if lease.released else lease.expires_at
        return (lease.task_id, lease.worker, lease.released, expiry)
    return (
        lease.task_id,
        lease.worker,
        lease.token,
        ranks[lease.ok_seq],
        lease.expires_at,
        lease.released,
    )


# ---- the clock ------------------------------------------------------------------------


class _Times:
    """Times as offsets from ``now``, old ones by rank (the ``clock`` abstraction)."""

    def __init__(self, world: World, text: bytes) -> None:
        now, lease = world.clock.now(), world.queue.lease_timeout
        jump = lease + 1  # the world's clock step (see World._dispatch)
        start = getattr(world, "clock_start", now)
        readings = [start + k * jump for k in range(round((now - start) / jump) + 1)]
        times = {r + c for r in readings for c in (-lease, 0.0, lease)}
        spelled: dict[bytes, float] = {}
        for t in times:
            for form in (repr(t), f"{t:.17g}", f"{t:.14g}"):
                spelled[form.encode()] = t
        alternatives = b"|".join(re.escape(k) for k in sorted(spelled, key=len, reverse=True))
        self._pattern = re.compile(rb"(?<![\d.])(?:" + alternatives + rb")(?![\d]|\.\d)")
        present = {spelled[m] for m in self._pattern.findall(text)}
        old = sorted(t for t in present if t < now - lease)
        self._tokens = {t: b"\x1d%d" % rank for rank, t in enumerate(old)}
        for t in present:
            if t >= now - lease:
                self._tokens[t] = b"\x1e" + repr(t - now).encode()
        self._spelled = spelled

    def apply(self, text: bytes) -> bytes:
        return self._pattern.sub(lambda m: self._tokens[self._spelled[m.group(0)]], text)


# ---- the workers ----------------------------------------------------------------------


class _Renaming:
    """Worker ids renamed, least reading over permutations (the ``workers`` abstraction)."""

    def __init__(self, world: World, text: bytes) -> None:
        self.slots = [n for n in worker_names(world.config) if n in world.actors]
        ids: list[tuple[int, int, str]] = []  # slot, incarnation, id
        for s, name in enumerate(self.slots):
            actor = world.actors[name]
            for k in range(actor.incarnation + 1):
                ids.append((s, k, name if k == 0 else f"{name}.{k}"))
        self.ids = ids
        self.live = {s: world.actors[n].incarnation for s, n in enumerate(self.slots)}
        self.possible = len(ids) < _PLACEHOLDERS and len(self.slots) <= _MAX_PERMUTED
        if not self.possible:
            return
        by_name = {i[2].encode(): bytes([n + 1]) for n, i in enumerate(ids)}
        alternatives = b"|".join(re.escape(k) for k in sorted(by_name, key=len, reverse=True))
        pattern = re.compile(rb"(?<![\w.])(?:" + alternatives + rb")(?![\w]|\.\d)")
        present: set[int] = set()

        def mark(m: re.Match[bytes]) -> bytes:
            byte = by_name[m.group(0)]
            present.add(byte[0] - 1)
            return byte

        self.text = pattern.sub(mark, text)
        self.present = present
        dead: dict[int, int] = {}
        for index in present:
            s, k, _ = ids[index]
            dead[s] = dead.get(s, 0) + (k != self.live[s])
        # A worker id as a sorted-set member: Redis orders those by name (see the doc).
        self.possible = max(dead.values(), default=0) <= _DEAD_PER_SLOT and not any(
            b"b'zset'" in line and _has_placeholder(line) for line in self.text.split(b"\n")
        )

    def apply(self) -> tuple[bytes, dict[str, str], frozenset[str]]:
        facts = self.text.split(b"\n")
        n = len(self.slots)
        readings: list[tuple[bytes, tuple[int, ...]]] = []
        for perm in itertools.permutations(range(n)):
            table = self._table(perm)
            readings.append((b"\n".join(sorted(f.translate(table) for f in facts)), perm))
        best, perm = min(readings)
        identity = readings[0][0]
        twins = {
            self.slots[j]
            for reading, p in readings
            if reading == identity
            for j in range(n)
            if p[j] < j  # an automorphism maps slot j onto an earlier slot
        }
        labels = {self.slots[s]: f"w{perm[s]}" for s in range(n)}
        return best, labels, frozenset(twins)

    def _table(self, perm: tuple[int, ...]) -> bytes:
        """Placeholder -> label: live ids by the slot's new place, dead ones after them
        by (new slot, rank among that slot's dead ids present)."""
        n = len(self.slots)
        src, dst = bytearray(), bytearray()
        dead_rank: dict[int, int] = {}
        dead_base = n + 1
        for index, (s, k, _) in enumerate(self.ids):
            if index not in self.present:
                continue
            src.append(index + 1)
            if k == self.live[s]:
                dst.append(perm[s] + 1)
            else:
                rank = dead_rank.get(s, 0)
                dead_rank[s] = rank + 1
                dst.append(dead_base + perm[s] * _DEAD_PER_SLOT + rank)
        return bytes.maketrans(bytes(src), bytes(dst))


def _has_placeholder(line: bytes) -> bool:
    return any(1 <= b <= _LAST_PLACEHOLDER for b in line)
