"""The janitor: re-queue tasks whose lease (safe) or age limit (naive) ran out, on a loop.

Runs as its own process (``python -m reference_queue.janitor``; several may run at
once, which is exactly the note's F7 on naive) or as a thread inside an API process
(``ServeSettings.janitor_interval``). Each sweep is the queue's ``rescue_expired``
driven through the configured fault points, so a ``--faults`` spec can widen the
scan-then-rescue window (F6) or kill a sweep half-way.

The janitor records no history (a system under test never writes its own history): it
*reports* each sweep's rescues to an ``on_rescue(task_ids, sweep_start_ns)`` hook and
in its log. The harness passes a hook that records them (``python -m harness.rescues``
runs this janitor that way). A sweep killed by an injected abort reports nothing, so
rescues it made before dying go unreported, like those of a janitor that crashed.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType

import redis

from harness.contract import TaskId, TaskQueue, drive
from reference_queue.client import bounded_client
from reference_queue.errors import FaultAbort, QueueError
from reference_queue.factory import make_queue
from reference_queue.faults import Faults

logger = logging.getLogger(__name__)

RescueHook = Callable[[Sequence[TaskId], int], None]
"""Told each sweep's re-queued task ids and the sweep's start (``time.time_ns()``)."""


class Janitor:
    """Sweeps a queue every ``interval`` seconds until ``stop`` is set."""

    def __init__(
        self,
        queue: TaskQueue,
        *,
        interval: float,
        faults: Faults | None = None,
        on_rescue: RescueHook | None = None,
    ) -> None:
        self.queue = queue
        self.interval = interval
        self.faults = faults
        self.on_rescue = on_rescue
        self.stop = threading.Event()
        self.rescued_total = 0

    def sweep(self) -> list[TaskId]:
        """One ``rescue_expired``; Redis outages and injected aborts are logged, not raised."""
        start_ns = time.time_ns()
        try:
            rescued = drive(self.queue.rescue_expired(), self.faults, op="rescue_expired")
        except FaultAbort as exc:
            logger.warning("janitor sweep aborted at fault point %s", exc.point)
            return []
        except redis.RedisError as exc:  # down, paused, restarting: try again next sweep
            logger.warning("janitor sweep skipped, Redis error: %s", exc)
            return []
        if rescued:
            logger.info("janitor re-queued %d task(s): %s", len(rescued), rescued)
            self.rescued_total += len(rescued)
            if self.on_rescue is not None:
                self.on_rescue(rescued, start_ns)
        return rescued

    def run(self) -> None:
        """Sweep, wait ``interval`` (or until stopped), repeat."""
        while not self.stop.is_set():
            self.sweep()
            self.stop.wait(self.interval)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="janitor", daemon=True)
        thread.start()
        return thread


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m reference_queue.janitor",
        description="Re-queue expired tasks of a reference queue on a loop; SIGTERM stops it.",
    )
    p.add_argument("--redis-url", required=True)
    p.add_argument("--impl", choices=("naive", "safe"), required=True)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between sweeps")
    p.add_argument("--lease-timeout", type=float, default=30.0, help="safe: lease; naive: age")
    p.add_argument("--max-attempts", type=int, default=5, help="safe: dead-letter after N")
    p.add_argument("--faults", default="", help="fault spec, e.g. janitor_between_rescues=abort")
    p.add_argument(
        "--number", default="1", help="this janitor's number (its name in the harness's history)"
    )
    p.add_argument("--log-level", default="warning")
    return p


def main(argv: Sequence[str] | None = None, on_rescue: RescueHook | None = None) -> int:
    """Run janitor sweeps until SIGTERM/SIGINT, reporting rescues to ``on_rescue``."""
    cli = parser()
    args = cli.parse_args(argv)
    if args.interval <= 0 or args.lease_timeout <= 0:
        cli.error("--interval and --lease-timeout must be > 0")
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        faults = Faults.parse(args.faults)
    except QueueError as exc:
        cli.error(str(exc))
    client = bounded_client(args.redis_url)
    queue = make_queue(
        args.impl, client, lease_timeout=args.lease_timeout, max_attempts=args.max_attempts
    )
    janitor = Janitor(queue, interval=args.interval, faults=faults, on_rescue=on_rescue)

    def _stop(signum: int, frame: FrameType | None) -> None:
        janitor.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        janitor.run()
    finally:
        client.close()
    logger.info("janitor stopped after re-queuing %d task(s)", janitor.rescued_total)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
