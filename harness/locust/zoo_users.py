"""The Locust side of in-process library load: options, hosting, and the base users.

``--library NAME`` (``zoo.LIBRARIES``), ``--library-redis-url URL`` (default: an embedded
Redis started here) and ``--library-option KEY=VALUE`` (repeatable; an adapter keyword,
e.g. ``visibility_timeout=5`` for Celery, ``job_timeout=10`` for rq) are registered on
Locust's parser. At ``init`` on the local runner the library is hosted
(:mod:`harness.locust.library`) and the run's host becomes ``zoo://NAME``; it stops when
Locust quits. The users are the harness's actors (:mod:`harness.locust.actors`) with
their client swapped for the library's, so crashes, stalls past the lease, retries and
the janitor behave as against an HTTP deployment.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import gevent
from locust import events, tag, task
from locust.env import Environment
from locust.runners import LocalRunner, Runner

from harness.locust import library
from harness.locust.actors import ProducerBase, QueueUser, SlowWorkerBase, WorkerBase
from harness.locust.context import listen
from harness.locust.library import parse_options

logger = logging.getLogger(__name__)


def add_library_options(parser: Any, **_kw: Any) -> None:
    group = parser.add_argument_group("qharness zoo (a real library, in process)")
    group.add_argument("--library", default=None, help="qharness: library to load (zoo)")
    group.add_argument("--library-redis-url", default=None, help="qharness: Redis for the library")
    group.add_argument(
        "--library-option",
        action="append",
        default=[],
        help="qharness: adapter keyword KEY=VALUE (repeatable)",
    )


def on_init(environment: Environment, runner: Runner | None = None, **_kw: Any) -> None:
    options = environment.parsed_options
    name = getattr(options, "library", None) if options is not None else None
    if not name or options is None or not isinstance(runner, LocalRunner):
        if name:
            logger.error("qharness: --library runs on the local runner only")
            sys.exit(2)
        return
    try:
        hosted = library.start(
            name,
            redis_url=options.library_redis_url,
            **parse_options(options.library_option),
        )
    except (KeyError, ImportError, ValueError, TypeError) as exc:
        logger.error("qharness: --library %s: %s", name, exc)
        sys.exit(2)
    environment.host = hosted.host
    logger.info(
        "qharness: hosting %s (%s), lease %gs", name, hosted.impl, hosted.queue.lease_timeout
    )


def on_quitting(environment: Environment, **_kw: Any) -> None:
    library.stop()


listen(events.init_command_line_parser, add_library_options)
listen(events.init, on_init)
listen(events.quitting, on_quitting)


class LibraryUser(QueueUser):
    """Swaps the HTTP client for the hosted library's (and needs no HTTP host)."""

    abstract = True
    host = library.SCHEME + "library"

    def on_start(self) -> None:
        super().on_start()
        hosted = library.current()
        if hosted is None:
            from locust.exception import StopUser

            raise StopUser  # no --library: nothing to load
        self.api = library.LibraryClient(  # type: ignore[assignment]
            hosted.queue, self.ctx.history, self.environment.events.request
        )


class LibraryWorkerBase(LibraryUser, WorkerBase):
    abstract = True


class LibrarySlowWorkerBase(LibraryUser, SlowWorkerBase):
    abstract = True


class LibraryProducerBase(LibraryUser, ProducerBase):
    abstract = True


class LibraryJanitorBase(LibraryUser):
    """Runs the library's own recovery (``rescue_expired``) every --janitor-interval."""

    abstract = True
    actor = "janitor"

    @tag("janitor")
    @task
    def sweep(self) -> None:
        self.api.janitor_run(self.process)
        gevent.sleep(self.settings.janitor_interval)
