"""Where an unexpected exception goes: its traceback into a file, one line on the terminal.

A crash is never a verdict (``harness.exitcodes``): a process boundary that meets an
exception it did not expect ends with exit 2 and one line saying what failed and
where the full traceback was written — never a traceback on the terminal.

- :func:`write_traceback` appends a traceback to ``crash.log`` in the current run
  folder (set with :func:`traceback_folder` or :func:`set_folder`), else to one temp
  file per process (``$TMPDIR/qharness-crash-*.log``).
- :func:`contained` turns an exception escaping a block into :class:`InternalError`
  (a :class:`HarnessError`, so the boundary prints its one line and exits 2).
- :class:`OneLineTracebacks`, a logging filter put on the terminal's handlers by
  :func:`keep_tracebacks_off_terminal`: a logged traceback (``logger.exception``, or
  text holding ``Traceback (most recent call last):``) goes to the file, the line
  on the terminal says where.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import HarnessError, InternalError

CRASH_LOG = "crash.log"  # in the run folder
MAX_LINE = 300  # characters of an exception's text on the terminal line
_TRACEBACK_HEAD = "Traceback (most recent call last):"

_lock = threading.Lock()
_folder: Path | None = None
_temp: Path | None = None


def set_folder(folder: Path | None) -> Path | None:
    """Tracebacks go to ``folder/crash.log`` from now on (``None``: a temp file).
    Returns the previous folder."""
    global _folder
    with _lock:
        previous, _folder = _folder, folder
    return previous


@contextlib.contextmanager
def traceback_folder(folder: Path | None) -> Iterator[None]:
    """Within the block, tracebacks go to ``folder/crash.log`` (``None``: unchanged)."""
    previous = set_folder(folder) if folder is not None else None
    try:
        yield
    finally:
        if folder is not None:
            set_folder(previous)


def one_line(text: str) -> str:
    """``text`` on one line (its lines joined by `` | ``), at most MAX_LINE characters."""
    joined = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return joined if len(joined) <= MAX_LINE else joined[: MAX_LINE - 1] + "…"


def describe(exc: BaseException) -> str:
    """``ValueError: bad thing`` on one line."""
    text = str(exc)
    return type(exc).__name__ + (f": {one_line(text)}" if text.strip() else "")


def write_traceback(exc: BaseException, what: str) -> Path | None:
    """Append ``exc``'s traceback, headed by ``what`` failed, to the crash file; its path.

    Never raises: a folder that cannot be written falls back to the temp file, and
    ``None`` means nothing could be written at all.
    """
    return write_text(what, "".join(traceback.format_exception(exc)))


def write_text(what: str, text: str) -> Path | None:
    """Append a headed block of ``text`` to the crash file (see :func:`write_traceback`)."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
    block = f"--- {stamp} pid {os.getpid()}: {what}\n{text.rstrip()}\n\n"
    with _lock:
        for path in _candidates():
            try:
                with path.open("a", encoding="utf-8") as out:
                    out.write(block)
            except OSError:
                continue
            return path
    return None


def _candidates() -> Iterator[Path]:
    global _temp
    if _folder is not None and _folder.is_dir():
        yield _folder / CRASH_LOG
    if _temp is None:
        with contextlib.suppress(OSError):
            fd, name = tempfile.mkstemp(prefix="qharness-crash-", suffix=".log")
            os.close(fd)
            _temp = Path(name)
    if _temp is not None:
        yield _temp


def where(path: Path | None) -> str:
    return f"traceback in {path}" if path is not None else "the traceback could not be written"


@contextlib.contextmanager
def contained(what: str, folder: Path | None = None) -> Iterator[None]:
    """An unexpected exception escaping the block becomes :class:`InternalError`.

    Its traceback, headed by ``what`` (e.g. ``harness analyze``), is written first
    (into ``folder`` if given, else the current crash file). Harness errors (already
    one clear line), ``KeyboardInterrupt`` and ``SystemExit`` pass through unchanged.
    """
    with traceback_folder(folder):
        try:
            yield
        except HarnessError:
            raise
        except Exception as exc:
            path = write_traceback(exc, what)
            raise InternalError(f"internal error: {describe(exc)} ({where(path)})") from exc


class OneLineTracebacks(logging.Filter):
    """Moves a record's traceback into the crash file; the record keeps one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        message = record.getMessage()
        if exc is not None:
            path = write_traceback(exc, message)
            record.msg = f"{one_line(message)}: {describe(exc)} ({where(path)})"
        elif _TRACEBACK_HEAD in message:
            head, _, tail = message.partition(_TRACEBACK_HEAD)
            path = write_text(one_line(head), _TRACEBACK_HEAD + tail)
            last = tail.strip().splitlines()[-1] if tail.strip() else ""
            record.msg = f"{one_line(head)} {one_line(last)} ({where(path)})".strip()
        else:
            return True
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


def keep_tracebacks_off_terminal(logger: logging.Logger | None = None) -> None:
    """Put :class:`OneLineTracebacks` on every handler of ``logger`` (default: root)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, OneLineTracebacks) for f in handler.filters):
            handler.addFilter(OneLineTracebacks())
