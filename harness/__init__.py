"""qharness: load and concurrency verification for Redis-backed task queues.

Roles follow Jepsen: generators (``scenarios/``, Hypothesis rules) drive clients that
record a history (``harness.events``, ``harness.recorder``); pure checkers
(``harness.checks``) judge it; ``harness.report`` explains it to an engineer.
"""

__version__ = "0.1.0"
