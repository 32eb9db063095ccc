"""The note's standalone worker: ``python -m reference_queue.worker --host URL``.

Polls ``GET /tasks/next``; with a task, "works" for ``--task-duration`` seconds while
sending heartbeats, then completes it with the claim's token. Sleeps
``--poll-interval`` (or ``POLL_INTERVAL``, as in the note) when nothing is pending or
the API is unavailable. Light on purpose (one sync httpx client, no threads) so a
hundred run at once, as in the note's "for i in {1..100}; do python worker.py &".

Stops cleanly on SIGTERM/SIGINT: it finishes (and reports) the task in hand, then
exits 0. ``--max-tasks`` (tasks worked on, whether the API accepted the completion or
refused it) and ``--exit-when-idle`` end it earlier, for scripted runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

import httpx

from reference_queue.settings import env_value

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerConfig:
    host: str
    worker_id: str
    poll_interval: float = 1.0
    task_duration: float = 0.0
    heartbeat_interval: float = 5.0
    api_key: str | None = None
    max_tasks: int | None = None
    exit_when_idle: float | None = None
    timeout: float = 10.0


class Worker:
    """One worker's loop; :attr:`stop` ends it after the task in hand."""

    def __init__(self, config: WorkerConfig, client: httpx.Client | None = None) -> None:
        self.config = config
        headers = {"X-Worker-Id": config.worker_id}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        self.client = client or httpx.Client(
            base_url=config.host, headers=headers, timeout=config.timeout
        )
        self.stop = threading.Event()
        self.completed = 0
        self.lost = 0  # completions the API refused (409: the lease was lost)

    def run(self) -> int:
        """Work until stopped, ``max_tasks`` done, or idle for ``exit_when_idle``."""
        idle_since = time.monotonic()
        while not self.stop.is_set():
            handled = self.completed + self.lost
            if self.config.max_tasks is not None and handled >= self.config.max_tasks:
                break
            task = self._claim()
            if task is not None:
                self._work_on(task)
                idle_since = time.monotonic()
                continue
            idle_for = time.monotonic() - idle_since
            if self.config.exit_when_idle is not None and idle_for >= self.config.exit_when_idle:
                break
            self.stop.wait(self.config.poll_interval)
        logger.info(
            "worker %s done: %d completed, %d refused",
            self.config.worker_id,
            self.completed,
            self.lost,
        )
        return 0

    def _claim(self) -> dict[str, Any] | None:
        try:
            r = self.client.get("/tasks/next")
        except httpx.HTTPError as exc:
            logger.warning("claim failed: %s", exc)
            return None
        if r.status_code == 200:
            task: dict[str, Any] = r.json()
            return task
        if r.status_code != 204:
            logger.warning("claim answered %s: %s", r.status_code, r.text[:200])
        return None

    def _work_on(self, task: dict[str, Any]) -> None:
        """Simulate the work, heartbeating, then report it done with the claim's token."""
        deadline = time.monotonic() + self.config.task_duration
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, self.config.heartbeat_interval))
            if deadline - time.monotonic() > 0:
                self._heartbeat()
        lease = task.get("lease") or {}
        body = {"token": lease.get("token"), "result": {"worker": self.config.worker_id}}
        task_id = task["task_id"]
        try:
            r = self.client.post(f"/tasks/{task_id}/complete", json=body)
        except httpx.HTTPError as exc:  # unknown outcome: the lease decides what happens next
            logger.warning("complete %s failed: %s", task_id, exc)
            return
        if r.status_code == 200:
            self.completed += 1
        else:
            self.lost += 1
            logger.warning("complete %s answered %s: %s", task_id, r.status_code, r.text[:200])

    def _heartbeat(self) -> None:
        try:
            self.client.post(f"/workers/{self.config.worker_id}/heartbeat")
        except httpx.HTTPError as exc:
            logger.warning("heartbeat failed: %s", exc)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m reference_queue.worker",
        description="The note's standalone worker: poll, work, heartbeat, complete.",
    )
    p.add_argument("--host", required=True, help="the API's base URL")
    p.add_argument("--worker-id", help="default: worker-<host>-<pid>")
    p.add_argument("--poll-interval", type=float, help="seconds (default: POLL_INTERVAL or 1)")
    p.add_argument("--task-duration", type=float, default=0.0, help="simulated work, seconds")
    p.add_argument("--heartbeat-interval", type=float, default=5.0)
    p.add_argument("--api-key", help="Bearer key (default: QHARNESS_API_KEY)")
    p.add_argument("--max-tasks", type=int, help="exit after working on N tasks")
    p.add_argument("--exit-when-idle", type=float, help="exit after S seconds with no task")
    p.add_argument("--log-level", default="warning")
    return p


def config_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> WorkerConfig:
    poll = args.poll_interval
    if poll is None:
        env_poll = env_value("POLL_INTERVAL")
        try:
            poll = float(env_poll) if env_poll else 1.0
        except ValueError:
            parser.error(f"POLL_INTERVAL={env_poll!r} is not a number")
    if poll < 0 or args.task_duration < 0 or args.heartbeat_interval <= 0:
        parser.error("intervals and durations must be >= 0 (heartbeat > 0)")
    return WorkerConfig(
        host=args.host,
        worker_id=args.worker_id or f"worker-{socket.gethostname()}-{os.getpid()}",
        poll_interval=poll,
        task_duration=args.task_duration,
        heartbeat_interval=args.heartbeat_interval,
        api_key=args.api_key or env_value("QHARNESS_API_KEY"),
        max_tasks=args.max_tasks,
        exit_when_idle=args.exit_when_idle,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    config = config_from(args, parser)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    worker = Worker(config)

    def _stop(signum: int, frame: FrameType | None) -> None:
        worker.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        return worker.run()
    finally:
        worker.client.close()


if __name__ == "__main__":
    raise SystemExit(main())
