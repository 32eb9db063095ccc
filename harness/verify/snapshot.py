"""A state saved and restored: Redis's own DUMP/RESTORE plus the explorer's Python side.

An operation in flight is a paused generator, which Python cannot copy; so a snapshot
is taken only of a *quiet* state (no actor has an operation in flight), and any other
state is restored as its nearest quiet ancestor's snapshot plus a replay of the steps
since (the engine keeps that suffix short: an operation spans a few round trips).

Restoring writes every key back in one pipeline (``FLUSHDB`` then ``RESTORE ... REPLACE``
with the key's remaining TTL) and puts back copies of the model, the actors, the clock
and the last views (:class:`~harness.verify.stepping.Light`). History and trace start
empty: a search never reads them, and a counterexample is replayed from the start to
tell its story.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from harness.verify.fingerprint import Dumped
from harness.verify.stepping import Light, VerifyWorld


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    keys: Dumped
    light: Light


def quiet(world: VerifyWorld) -> bool:
    return all(a.idle for a in world.actors.values())


def take(world: VerifyWorld) -> Snapshot:
    """Save a quiet state, with the keys the world read after its last step."""
    assert quiet(world), "a state with an operation in flight cannot be copied"
    return Snapshot(keys=world.state.dumped, light=Light.of(world))


def restore(raw: redis.Redis, world: VerifyWorld, snap: Snapshot) -> None:
    """Put the database and the world back as they were when ``snap`` was taken.
    ``raw``: a client on the same database that does not decode replies."""
    pipe = raw.pipeline(transaction=True)
    pipe.flushdb()
    for name, ttl, payload in snap.keys:
        pipe.restore(name, ttl, payload, replace=True)
    pipe.execute()
    snap.light.put_back(world)
