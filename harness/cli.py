"""``harness``: the command line. Each subcommand lives in ``harness.commands.<name>``
and exposes ``register(subparsers)``; this module dispatches and is the process
boundary of every command: it turns any outcome into one exit code of
``harness.exitcodes`` and errors into one line on stderr — never a traceback. Only the
chosen command's module is imported (its imports — Redis, Hypothesis, matplotlib... — cost
up to a second of CPU each start-up); ``harness`` alone, ``--help`` or an unknown command
registers them all, for the full usage.

- bad options (argparse), a :class:`HarnessError`: ``harness CMD: error: ...``, exit 2;
- an unexpected exception: one line naming the file that holds its traceback (the run
  folder's ``crash.log`` when the command has one, else a temp file), exit 2;
- Ctrl-C: ``harness CMD: interrupted``, exit 130.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from harness import crash
from harness.errors import HarnessError
from harness.exitcodes import ExitCode

COMMANDS = ("serve", "analyze", "audit", "hunt", "verify", "replay", "run", "compare", "zoo")

Handler = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.UNKNOWN, f"{self.prog}: error: {crash.one_line(message)}\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the command it names is registered (when it names one)."""
    parser = Parser(
        prog="harness",
        description=(
            "Load-test and verify Redis-backed task queues behind a worker HTTP API: "
            "serve a reference deployment, hunt for races, analyze a run's history."
        ),
        epilog="Run `harness COMMAND --help` for a command's options. Exit codes: "
        "0 pass, 1 violations found, 2 unknown (bad input, internal error), 130 interrupted.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _commands_needed(argv):
        module = importlib.import_module(f"harness.commands.{name}")
        module.register(sub)
    return parser


def _commands_needed(argv: Sequence[str] | None) -> tuple[str, ...]:
    """The command ``argv`` names (its first word that is not an option), else all of them."""
    if argv is None:
        return COMMANDS
    word = next((a for a in argv if not a.startswith("-")), None)
    return (word,) if word in COMMANDS else COMMANDS


def _run_folder(args: argparse.Namespace) -> Path | None:
    """The existing run folder a command works in (analyze, audit), for its crash.log."""
    folder = getattr(args, "run_dir", None)
    return folder if isinstance(folder, Path) and folder.is_dir() else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    crash.keep_tracebacks_off_terminal()
    handler: Handler = args.handler
    name = f"harness {args.command}"
    try:
        with crash.contained(name, folder=_run_folder(args)):
            return int(handler(args))
    except HarnessError as exc:
        print(f"{name}: error: {_message(name, exc)}", file=sys.stderr)
        return ExitCode.UNKNOWN
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def _message(name: str, exc: HarnessError) -> str:
    """The error's first line; a longer message (e.g. a server's log tail) goes to a file."""
    text = str(exc).strip()
    if "\n" not in text:
        return text
    path = crash.write_text(f"{name}: {type(exc).__name__}", text)
    first = crash.one_line(text.splitlines()[0])
    return f"{first} (full message in {path})" if path else crash.one_line(text)


if __name__ == "__main__":
    sys.exit(main())
