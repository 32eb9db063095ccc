"""``harness.processes``: stopping a process stops its whole tree and group, escalating
SIGTERM -> SIGKILL, and returns only once every one of them has exited. Judged by the
signal each process died of and by psutil at the moment of return, never by timing."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import psutil

from harness.processes import stop_process

# A parent (its own session) with a child; both print their pid, then wait forever.
# IGNORE_TERM makes both deaf to SIGTERM, so only the escalation can stop them.
TREE = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    if sys.argv[1] == "deaf":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", sys.argv[2], sys.argv[1]])
    print(child.pid, flush=True)
    if sys.argv[3] == "leave":
        sys.exit(0)  # the child is orphaned, still in this process group
    while True:
        time.sleep(1)
    """
)
CHILD = textwrap.dedent(
    """
    import signal, sys, time
    if sys.argv[1] == "deaf":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        time.sleep(1)
    """
)


def start_tree(mode: str, parent: str = "stay") -> tuple[subprocess.Popen[bytes], psutil.Process]:
    proc = subprocess.Popen(
        [sys.executable, "-c", TREE, mode, CHILD, parent],
        stdout=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    child = psutil.Process(int(proc.stdout.readline()))
    proc.stdout.close()
    return proc, child


def gone(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_cooperative_tree_stops_on_sigterm() -> None:
    proc, child = start_tree("polite")
    assert stop_process(proc, grace=60) == []
    assert proc.returncode == -signal.SIGTERM  # no escalation was needed
    assert gone(child)


def test_a_tree_that_ignores_sigterm_is_killed() -> None:
    proc, child = start_tree("deaf")
    assert stop_process(proc, grace=0.5) == []
    assert proc.returncode == -signal.SIGKILL  # escalated
    assert gone(child)


def test_a_paused_process_is_continued_so_that_it_can_exit() -> None:
    proc, child = start_tree("polite")
    proc.send_signal(signal.SIGSTOP)
    child.suspend()
    assert stop_process(proc, grace=60) == []
    assert proc.returncode == -signal.SIGTERM
    assert gone(child)


def test_an_orphan_left_in_the_group_is_stopped_too() -> None:
    proc, child = start_tree("deaf", parent="leave")
    proc.wait(timeout=60)  # the parent is gone; its child lives on in its group
    assert not gone(child)
    assert stop_process(proc, grace=0.5) == []
    assert gone(child)
