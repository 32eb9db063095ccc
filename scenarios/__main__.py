"""``python -m scenarios``: the scenarios' own options, with their env vars and defaults.

Locust prints ``--help`` before it loads any locustfile, so options registered by
``init_command_line_parser`` (ours) never appear there; this shows them instead. They
also appear in Locust's web UI, under "Custom parameters".
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from locust.argument_parser import LocustArgumentParser

from harness.crash import one_line
from harness.exitcodes import ExitCode
from harness.locust.options import add_options


class _Parser(LocustArgumentParser):
    """A usage error is one line and exit 2 (``harness.exitcodes``)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {one_line(message)}\n")
        sys.exit(ExitCode.UNKNOWN)


def main() -> None:
    parser = _Parser(
        prog="locust -f scenarios",
        description="qharness scenario options (besides Locust's own: locust --help). "
        "Each can also come from its LOCUST_* environment variable or a --config file.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        add_env_var_help=True,
        add_config_file_help=False,
    )
    add_options(parser)
    parser.parse_args()
    parser.print_help()
    sys.exit(ExitCode.PASS)


if __name__ == "__main__":
    main()
