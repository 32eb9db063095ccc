"""The harness's exception tree. A misbehaving queue is a finding, never an exception.

HarnessError
 ├── ConfigError          bad option, flag or environment value (CLI exit 2)
 ├── HistoryError         unreadable or malformed history (CLI exit 2)
 │    └── MalformedEventError   one bad line: file, line number, what is wrong
 ├── ServerError          a server the harness owns failed to start or stop
 │    └── RedisStartError
 └── InternalError        an unexpected exception contained at a process boundary
                          (harness.crash): its traceback is in a file (CLI exit 2)
"""

from __future__ import annotations


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""


class ConfigError(HarnessError):
    """A setting, flag or environment variable is wrong; the message says how to fix it."""


class HistoryError(HarnessError):
    """A run folder's history cannot be read."""


class MalformedEventError(HistoryError):
    """One line of one shard is not a valid event."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


class ServerError(HarnessError):
    """A process the harness starts (Redis, API, janitor) misbehaved at start or stop."""


class RedisStartError(ServerError):
    """The embedded redis-server did not come up."""


class InternalError(HarnessError):
    """A bug, not bad input: an unexpected exception, its traceback written to a file.

    The message is one line naming what failed and the file (``harness.crash``)."""
