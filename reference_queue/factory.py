"""Build a reference queue by name: ``naive`` or ``safe``.

(Third-party queues, ``--impl module:Class``, are the harness's business:
``harness.queues`` loads them and builds them as their contract declarations ask.)
"""

from __future__ import annotations

from typing import Any

import redis

from harness.contract import TaskQueue
from reference_queue.errors import UnknownImplError

IMPLS = ("naive", "safe")


def connect(url: str, *, timeout: float = 2.0, max_connections: int = 64) -> redis.Redis:
    """A client as the queues expect it: decoded strings, bounded timeouts, no retries.

    The same client the deployment uses (:mod:`reference_queue.client`): a hidden retry
    would silently re-send a naive ``RPOP``, which is the catalogue's F2, not a default.
    """
    from reference_queue.client import bounded_client

    return bounded_client(url, timeout=timeout, max_connections=max_connections)


def queue_class(impl: str) -> type[Any]:
    if impl == "naive":
        from reference_queue.naive import NaiveQueue

        return NaiveQueue
    if impl == "safe":
        from reference_queue.safe import SafeQueue

        return SafeQueue
    raise UnknownImplError(f"unknown impl {impl!r}: use naive or safe")


def make_queue(impl: str, client: redis.Redis, **kwargs: Any) -> TaskQueue:
    """Instantiate a queue; keyword arguments the class does not take are dropped.

    (``max_attempts`` means nothing to the naive queue, for instance.)
    """
    cls = queue_class(impl)
    import inspect

    accepted = inspect.signature(cls).parameters
    queue: TaskQueue = cls(client, **{k: v for k, v in kwargs.items() if k in accepted})
    return queue
