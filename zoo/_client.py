"""The library's own Redis connection, built from the client the harness hands over.

Libraries that open their own connections (Celery, kombu) need a URL; ones that take a
client (rq) need it in the mode they store data in. Both come from the same server and
database as the harness's client, so the harness inspects what the library wrote.
"""

from __future__ import annotations

from typing import Any

import redis


def url_of(client: redis.Redis) -> str:
    """``redis://host:port/db`` of a client's connection pool."""
    kwargs: dict[str, Any] = client.connection_pool.connection_kwargs
    host = kwargs.get("host", "127.0.0.1")
    port = kwargs.get("port", 6379)
    db = kwargs.get("db", 0)
    password = kwargs.get("password")
    auth = f":{password}@" if password else ""
    return f"redis://{auth}{host}:{port}/{db}"


def binary_client(client: redis.Redis) -> redis.Redis:
    """A client on the same server that returns ``bytes`` (what pickling libraries need)."""
    kwargs: dict[str, Any] = dict(client.connection_pool.connection_kwargs)
    if not kwargs.get("decode_responses", False):
        return client
    kwargs["decode_responses"] = False
    pool = redis.ConnectionPool(connection_class=client.connection_pool.connection_class, **kwargs)
    return redis.Redis(connection_pool=pool)
