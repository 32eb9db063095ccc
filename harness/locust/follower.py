"""A Locust worker's part of a run: record locally, ship to the master, draw ids.

The worker records into a spool shard exactly as a single process would, ships its
complete lines to the master every ``POLL_SECONDS`` (``shipping``), draws task ids
from the master's ledger (``budget``), and at its ``test_stop`` — or when the master
asks with ``qharness:flush`` — sends the rest and ``done`` with its final sizes.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import gevent
import gevent.lock
from locust.env import Environment
from locust.runners import WorkerRunner

from harness.errors import ConfigError
from harness.locust.budget import Grant, IdPool
from harness.locust.client import History, NullHistory
from harness.locust.context import (
    MSG_DONE,
    MSG_FLUSH,
    MSG_GRANT,
    MSG_GRANT_REQUEST,
    MSG_HISTORY,
    POLL_SECONDS,
    SHARD_ROLE,
    ProcessContext,
    listen,
    scenario_settings,
    set_context,
)
from harness.locust.shipping import ShardTail
from harness.recorder import Recorder, shard_name

logger = logging.getLogger(__name__)


class Follower:
    """A Locust worker's part (see the module docstring)."""

    def __init__(self, environment: Environment, runner: WorkerRunner) -> None:
        self.environment = environment
        self.runner = runner
        self.ids: IdPool | None = None
        self.recorder: Recorder | None = None
        self.tail: ShardTail | None = None
        self.spool: Path | None = None
        self.shipper: gevent.Greenlet | None = None
        self.ship_lock = gevent.lock.RLock()
        self.active = False

    def install(self) -> None:
        ev = self.environment.events
        listen(ev.test_start, self.on_test_start)
        listen(ev.test_stop, self.on_test_stop)
        listen(ev.quitting, self.on_quitting)
        self.runner.register_message(MSG_GRANT, self.on_grant)
        self.runner.register_message(MSG_FLUSH, self.on_flush)

    def on_test_start(self, environment: Environment, **_kw: Any) -> None:
        try:
            settings = scenario_settings(environment)
        except ConfigError as exc:
            logger.error("qharness: error: %s", exc)
            return
        self.cleanup()
        self.ids = IdPool(lambda want: self.runner.send_message(MSG_GRANT_REQUEST, {"want": want}))
        history: History = NullHistory()
        if settings.record:
            self.spool = Path(tempfile.mkdtemp(prefix="qharness-spool-"))
            self.recorder = Recorder(self.spool, shard_name(SHARD_ROLE))
            self.tail = ShardTail(self.recorder.path)
            history = self.recorder
        set_context(environment, ProcessContext(settings=settings, history=history, ids=self.ids))
        self.active = True
        self.shipper = gevent.spawn(self.ship_forever)

    def on_grant(self, environment: Environment, msg: Any) -> None:
        if self.ids is not None:
            self.ids.add(
                Grant(tag=msg.data["tag"], start=msg.data["start"], count=msg.data["count"])
            )

    def ship_forever(self) -> None:
        while True:
            gevent.sleep(POLL_SECONDS)
            self.ship(MSG_HISTORY)

    def ship(self, msg_type: str) -> None:
        """Send the lines written since the last send; on a failed send, keep them."""
        with self.ship_lock:  # one send at a time: offsets must reach the master in order
            start = self.tail.offset if self.tail is not None else 0
            batches = self.tail.read_all() if self.tail is not None else []
            data: dict[str, Any] = {
                "batches": [
                    {"shard": b.shard, "offset": b.offset, "data": b.data} for b in batches
                ],
                "settled": self.ids.settled if self.ids is not None else 0,
            }
            if msg_type == MSG_DONE:
                data["sizes"] = {self.tail.path.name: self.tail.offset} if self.tail else {}
            try:
                self.runner.send_message(msg_type, data)
            except Exception:  # the connection to the master: retry these lines next time
                if self.tail is not None:
                    self.tail.offset = start
                logger.exception("qharness: could not ship history lines to the master")

    def on_test_stop(self, environment: Environment, **_kw: Any) -> None:
        self.finish()

    def on_flush(self, environment: Environment, msg: Any) -> None:
        self.runner.stop()  # no-op when already stopped; else stops users, then test_stop
        self.finish()

    def finish(self) -> None:
        """Send every line not yet shipped, then ``done`` (idempotent: sizes only grow)."""
        with self.ship_lock:  # never kill the shipper half-way through a send
            if self.shipper is not None and self.shipper is not gevent.getcurrent():
                self.shipper.kill(block=True)
            self.shipper = None
        if self.active or self.tail is not None:
            self.ship(MSG_DONE)
        self.active = False
        set_context(self.environment, None)

    def on_quitting(self, environment: Environment, **_kw: Any) -> None:
        self.finish()
        self.cleanup()

    def cleanup(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        if self.spool is not None:
            shutil.rmtree(self.spool, ignore_errors=True)
            self.spool = None
        self.tail = None
