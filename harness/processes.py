"""Stopping what the harness started: each process, its descendants and its process
group, gone within a bounded time.

Every command that starts processes (``harness serve``, ``harness run``, the embedded
Redis, the deployment's API and janitors, the Locust subprocess) stops them here,
so that when it returns nothing it started is still running — a caller may start the
next deployment straight away::

    stop_processes([api, *janitors], grace=5.0)   # SIGTERM, wait, SIGKILL, wait

The escalation: SIGCONT (a paused process cannot exit) and the first signal to every
process of the snapshot and to each started process's group; wait up to ``grace``
seconds; SIGKILL whatever is left (taking a fresh snapshot: a supervisor may have
started a replacement meanwhile); wait up to ``kill_grace``. A zombie counts as gone:
it runs nothing and holds no port, and reaping an orphan is its new parent's job.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence

import psutil

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.02


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _group_of(leader: int) -> list[psutil.Process]:
    """The processes whose process group is ``leader`` (started with its own session)."""
    members = []
    for proc in psutil.process_iter():
        with contextlib.suppress(OSError, psutil.Error):
            if os.getpgid(proc.pid) == leader:
                members.append(proc)
    return members


def snapshot(procs: Iterable[subprocess.Popen[bytes]]) -> dict[int, psutil.Process]:
    """Every live process these started: themselves, descendants, group members."""
    found: dict[int, psutil.Process] = {}
    for popen in procs:
        if popen.poll() is not None:
            # Its descendants were reparented: only its group (if its own) still finds them.
            found.update((p.pid, p) for p in _group_of(popen.pid))
            continue
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(popen.pid)
            found[root.pid] = root
            found.update((c.pid, c) for c in root.children(recursive=True))
        found.update((p.pid, p) for p in _group_of(popen.pid))
    return {pid: p for pid, p in found.items() if _alive(p)}


def _signal_all(
    procs: Sequence[subprocess.Popen[bytes]], members: dict[int, psutil.Process], sig: int
) -> None:
    for popen in procs:
        with contextlib.suppress(OSError):
            if os.getpgid(popen.pid) == popen.pid:
                os.killpg(popen.pid, sig)
    for proc in members.values():
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)


def _wait(
    procs: Sequence[subprocess.Popen[bytes]], members: dict[int, psutil.Process], seconds: float
) -> dict[int, psutil.Process]:
    """Wait until every member is gone (reaping our own children); the survivors."""
    deadline = time.monotonic() + seconds
    while True:
        for popen in procs:
            popen.poll()  # reap our direct children as they exit
        left = {pid: p for pid, p in members.items() if _alive(p)}
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(POLL_SECONDS)


def stop_processes(
    procs: Sequence[subprocess.Popen[bytes]],
    *,
    first: int = signal.SIGTERM,
    grace: float = 5.0,
    kill_grace: float = 5.0,
) -> list[int]:
    """Stop ``procs`` and everything they started; returns the pids still alive after
    ``grace + kill_grace`` seconds at most (empty unless the kernel could not kill)."""
    members = snapshot(procs)
    if first != signal.SIGKILL:
        _signal_all(procs, members, signal.SIGCONT)
        _signal_all(procs, members, first)
        members = _wait(procs, members | snapshot(procs), grace)
    members |= snapshot(procs)
    if members or any(p.poll() is None for p in procs):
        _signal_all(procs, members, signal.SIGKILL)
        members = _wait(procs, members | snapshot(procs), kill_grace)
    for popen in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=0.5 if members else kill_grace)
    if members:
        logger.warning("processes still alive after SIGKILL: %s", sorted(members))
    return sorted(members)


def stop_process(
    proc: subprocess.Popen[bytes],
    *,
    first: int = signal.SIGTERM,
    grace: float = 5.0,
    kill_grace: float = 5.0,
) -> list[int]:
    """:func:`stop_processes` for one process."""
    return stop_processes([proc], first=first, grace=grace, kill_grace=kill_grace)
