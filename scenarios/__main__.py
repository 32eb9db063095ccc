"""``python -m scenarios``: the scenarios' own options, with their env vars and defaults.

Locust prints ``--help`` before it loads any locustfile, so options registered by
``init_command_line_parser`` (ours) never appear there; this shows them instead. They
also appear in Locust's web UI, under "Custom parameters".
"""

from __future__ import annotations

import argparse

from locust.argument_parser import LocustArgumentParser

from harness.locust.options import add_options


def main() -> None:
    parser = LocustArgumentParser(
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


if __name__ == "__main__":
    main()
