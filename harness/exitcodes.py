"""The exit codes every qharness process ends with (contract), defined once.

Every ``harness`` command (serve, analyze, audit, hunt, run, compare), the Locust
finish step (``locust -f scenarios``) and ``python -m scenarios`` end with one of:

==== =========== ==================================================================
code name        meaning
==== =========== ==================================================================
0    PASS        the checks found nothing (or the command did its job: audit, serve)
1    VIOLATIONS  a check found a violation; nothing else ever exits 1
2    UNKNOWN     no verdict: bad input or options, a crashed check, an internal error
130  INTERRUPTED stopped by Ctrl-C (SIGINT) or SIGTERM before it finished
==== =========== ==================================================================

A crash is never a verdict: an unexpected exception ends in 2, with one line on
stderr naming what failed and the file holding the traceback (see ``harness.crash``).
``harness serve`` runs until it is told to stop, so a signal is its normal end: 0.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """A process's answer to the shell (see the module docstring's table)."""

    PASS = 0
    VIOLATIONS = 1
    UNKNOWN = 2
    INTERRUPTED = 130

    @classmethod
    def of(cls, verdict: str) -> ExitCode:
        """The exit code of a verdict (``harness.checks.Verdict`` or its text): ``pass``
        0, ``fail`` 1, anything else (``unknown``, nothing) 2."""
        return _BY_VERDICT.get(str(verdict), cls.UNKNOWN)


# Verdict's values (harness.checks.model), spelled out so that importing the exit codes
# costs nothing (no pandas): a Locust process or a shell wrapper may need only these.
_BY_VERDICT = {"pass": ExitCode.PASS, "fail": ExitCode.VIOLATIONS, "unknown": ExitCode.UNKNOWN}
