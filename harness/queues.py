"""The harness side of the plug-in contract: which queue ``--impl`` names, how to build
it as its declarations ask, and the facts about it that reports state.

``--impl`` is ``naive``, ``safe`` (the reference queues) or ``module:Class`` (any queue
implementing :class:`harness.contract.TaskQueue`, importable from the current directory
or ``PYTHONPATH``). :func:`build_queue` hands the
constructor a Redis client in the mode the class declares (``decode_responses``; a
``bytes`` client on the same connection settings when it is ``False``) and only the
keyword arguments it accepts. :func:`facts_of` reads what an *instance* runs with: its
own lease (a library may round ``--lease-timeout`` up), its status mapping and time
sources, so reports and regression tests state those and not the command line's.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

from harness.contract import Promise, TaskQueue, TaskStatus, TimeSource, declared
from harness.errors import ConfigError

REFERENCE = ("naive", "safe")

_bytes_clients: weakref.WeakKeyDictionary[redis.Redis, redis.Redis] = weakref.WeakKeyDictionary()


def queue_class(impl: str) -> type[Any]:
    """The class ``impl`` names; :class:`ConfigError` (one line) when it names none."""
    if impl in REFERENCE:
        from reference_queue.factory import queue_class as reference_class

        return reference_class(impl)
    module_name, sep, class_name = impl.partition(":")
    if not sep or not module_name or not class_name:
        raise ConfigError(f"--impl {impl!r}: expected naive, safe or module:Class")
    if os.getcwd() not in sys.path:  # like uvicorn: modules in the current directory
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"--impl {impl!r}: cannot import {module_name}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ConfigError(f"--impl {impl!r}: {module_name} has no class {class_name}")
    return cls


def client_for(cls: type[Any], client: redis.Redis) -> redis.Redis:
    """``client`` itself, or (``decode_responses = False``) a bytes client built from the
    same connection settings, made once per client."""
    decodes = bool(client.get_connection_kwargs().get("decode_responses", False))
    if bool(declared(cls, "decode_responses")) == decodes:
        return client
    other = _bytes_clients.get(client)
    if other is None or bool(other.get_connection_kwargs().get("decode_responses")) == decodes:
        pool = client.connection_pool
        kwargs = {**pool.connection_kwargs, "decode_responses": not decodes}
        other = redis.Redis(
            connection_pool=redis.ConnectionPool(
                connection_class=pool.connection_class,
                max_connections=pool.max_connections,
                **kwargs,
            )
        )
        _bytes_clients[client] = other
    return other


def build_queue(cls: type[Any], client: redis.Redis, **kwargs: Any) -> TaskQueue:
    """An instance of ``cls`` on a client in its declared mode; keyword arguments the
    class does not take (``max_attempts`` for the naive queue) are dropped."""
    accepted = inspect.signature(cls).parameters
    queue: TaskQueue = cls(
        client_for(cls, client), **{k: v for k, v in kwargs.items() if k in accepted}
    )
    return queue


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueFacts:
    """What a queue instance declares and runs with, as reports state it."""

    name: str
    lease_timeout: float
    decode_responses: bool = True
    status_map: Mapping[str, TaskStatus] = field(default_factory=dict)
    time_sources: Mapping[str, TimeSource] = field(default_factory=dict)
    promise: Promise = field(default_factory=Promise)

    @property
    def real_time_sources(self) -> list[str]:
        return [n for n, s in self.time_sources.items() if s is TimeSource.REAL]


def facts_of(queue: TaskQueue) -> QueueFacts:
    return QueueFacts(
        name=str(getattr(queue, "name", type(queue).__name__)),
        lease_timeout=float(queue.lease_timeout),
        decode_responses=bool(declared(queue, "decode_responses")),
        status_map=dict(declared(queue, "status_map")),
        time_sources={n: TimeSource(s) for n, s in declared(queue, "time_sources").items()},
        promise=declared(queue, "promise"),
    )
