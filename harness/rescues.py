"""The harness side of the reference janitor: run it and record the rescues it reports.

The reference janitor (``reference_queue.janitor``) is part of the system under test and
writes no history; it reports each sweep's re-queued task ids to a hook. This module runs
that janitor as a process (``python -m harness.rescues --history-dir DIR <janitor args>``)
with a hook that records every rescued id as an ``Op.RESCUE`` invoke/ok pair (process
``janitor-N@host:pid``; the invoke carries the sweep's start time), so the checks see
the rescues. Without ``--history-dir`` it is the plain janitor.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from harness.contract import TaskId
from harness.events import Op
from harness.recorder import Recorder, process_name, shard_name
from reference_queue import janitor


class RescueRecorder:
    """A janitor's ``on_rescue`` hook: each rescued id becomes an invoke/ok pair."""

    def __init__(self, recorder: Recorder, process: str) -> None:
        self.recorder = recorder
        self.process = process

    def __call__(self, rescued: Sequence[TaskId], start_ns: int) -> None:
        for task_id in rescued:
            self.recorder.op(self.process, Op.RESCUE, task_id=task_id, time_ns=start_ns).ok()


def _own_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--history-dir", type=Path)
    p.add_argument("--number", default="1")
    own, rest = p.parse_known_args(argv)
    return own, [*rest, "--number", str(own.number)]


def main(argv: Sequence[str] | None = None) -> int:
    own, janitor_argv = _own_args(argv)
    if own.history_dir is None:
        return janitor.main(janitor_argv)
    recorder = Recorder(own.history_dir, shard_name(f"janitor-{own.number}"))
    try:
        hook = RescueRecorder(recorder, process_name("janitor", own.number))
        return janitor.main(janitor_argv, on_rescue=hook)
    finally:
        recorder.close()


if __name__ == "__main__":
    raise SystemExit(main())
