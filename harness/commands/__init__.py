"""One module per ``harness`` subcommand; each exposes ``register(subparsers)``."""
