"""The views script riding on the queue's own round trip: one round trip a step, not two.

After each step the explorer reads where every task is (:mod:`harness.explorer.
inspection`). On the search's connections (:func:`riding_pool`), while a step is
``armed``, a single command the queue sends carries the views script behind it in the
same write: Redis runs the two back to back, the queue reads its reply as it always
does, and the views' reply is read right after it and kept. The last command of the
step leaves the views of the state the step ended in; a pipeline (whose replies the
connection cannot count), an error or any command sent unarmed outdates what is kept,
and the views are then read with a round trip of their own, as before. The queue's code
is untouched: it sends the same commands and gets the same replies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.exceptions import ResponseError

Pack = Callable[[tuple[str, ...]], Any]  # the views command for these task ids, packed


class Rides:
    """One search's riding state, shared by its connections."""

    def __init__(self) -> None:
        self.pack: Pack | None = None  # set while a step is armed
        self.watched: Sequence[str] = ()  # the step's task ids, read at each command
        self.task_ids: tuple[str, ...] | None = None  # what the kept reply is about
        self.reply: Any = None

    def ride(self) -> tuple[tuple[str, ...], Any] | None:
        """The task ids known now and their packed views command, while armed."""
        if self.pack is None or not self.watched:
            return None
        known = tuple(self.watched)
        return known, self.pack(known)

    def kept(self, task_ids: tuple[str, ...]) -> Any:
        """The views' reply kept from this step's last command, or ``None``."""
        return self.reply if self.task_ids == task_ids else None

    def outdated(self) -> None:
        self.task_ids, self.reply = None, None


class _Riding:
    """Mixed in before the pool's own connection class (see the module docstring)."""

    rides: Rides
    _riding: tuple[str, ...] | None = None  # the task ids of the views sent behind

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        rides = self.rides
        rides.outdated()
        self._riding = None
        ride = rides.ride()
        if ride is None:
            super().send_command(*args, **kwargs)  # type: ignore[misc]
            return
        task_ids, views = ride
        packed = [*self.pack_command(*args), *views]  # type: ignore[attr-defined]
        super().send_packed_command(packed, check_health=kwargs.get("check_health", True))  # type: ignore[misc]
        self._riding = task_ids

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self.rides.outdated()
        self._riding = None
        super().send_packed_command(command, check_health)  # type: ignore[misc]

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        task_ids, self._riding = self._riding, None
        if task_ids is None:
            return super().read_response(*args, **kwargs)  # type: ignore[misc]
        try:
            reply = super().read_response(*args, **kwargs)  # type: ignore[misc]
        except ResponseError:  # the server answered (an error): the views follow
            self._take(task_ids)
            raise
        except BaseException:
            self.rides.outdated()
            raise
        self._take(task_ids)
        return reply

    def _take(self, task_ids: tuple[str, ...]) -> None:
        rides = self.rides
        try:
            rides.reply = super().read_response()  # type: ignore[misc]
            rides.task_ids = task_ids
        except ResponseError:  # NOSCRIPT: the views' own round trip loads it
            rides.outdated()
        except Exception:  # the queue's command did run: never let it be retried
            rides.outdated()
            self.disconnect()  # type: ignore[attr-defined]


def riding_pool(pool: redis.ConnectionPool) -> redis.ConnectionPool:
    """A new pool with ``pool``'s connection settings whose connections ride (one
    :class:`Rides` per pool, as :func:`rides_of` finds it)."""
    base = pool.connection_class
    riding = type(f"Riding{base.__name__}", (_Riding, base), {"rides": Rides()})
    return redis.ConnectionPool(connection_class=riding, **pool.connection_kwargs)


def rides_of(client: object) -> Rides | None:
    pool = getattr(client, "connection_pool", None)
    rides = getattr(getattr(pool, "connection_class", None), "rides", None)
    return rides if isinstance(rides, Rides) else None


class Armed:
    """While a step runs: the views of ``task_ids`` (as they are at each command; the
    list grows when the step submits) ride on the queue's single commands."""

    __slots__ = ("_rides",)

    def __init__(
        self, rides: Rides | None = None, pack: Pack | None = None, task_ids: Sequence[str] = ()
    ) -> None:
        self._rides = rides
        if rides is not None:
            rides.pack, rides.watched = pack, task_ids

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        if self._rides is not None:
            self._rides.pack, self._rides.watched = None, ()
