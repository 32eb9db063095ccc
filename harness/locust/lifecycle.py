"""Wires the scenarios into Locust: options, and each process's role in the run.

Imported (for these registrations) by every user file through ``actors``:

- ``init_command_line_parser``: the options of ``options``;
- ``init``: on the local runner or the master a ``coordinator.Coordinator`` (run
  folder, budget, drain, stop, conclusion — once per run); on each Locust worker a
  ``follower.Follower`` (records, ships its shard to the master, draws task ids).
  Also applies ``--mix`` (user class weights) where users are dispatched from.

Scale out (DESIGN.md section 9): ``--processes N`` and ``--master``/``--worker`` use the
same path: workers send their shards' lines to the master over Locust's messaging
(``shipping`` explains why none is lost or doubled), so the master's run folder holds
the whole history and the analysis runs once, there.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from locust import events
from locust.env import Environment
from locust.runners import LocalRunner, MasterRunner, Runner, WorkerRunner

from harness.errors import ConfigError
from harness.locust.context import listen, scenario_settings
from harness.locust.coordinator import Coordinator
from harness.locust.follower import Follower
from harness.locust.options import add_options

logger = logging.getLogger(__name__)


def apply_mix(environment: Environment, mix: dict[str, int]) -> None:
    """Weights from --mix; weight 0 leaves a class out. Unknown names only warn."""
    by_name = {cls.__name__: cls for cls in environment.user_classes}
    for name, weight in mix.items():
        cls = by_name.get(name)
        if cls is None:
            logger.warning("--mix names %s, which is not a loaded user class", name)
            continue
        cls.weight = weight
        cls.fixed_count = 0
    kept = [c for c in environment.user_classes if c.weight > 0 or c.fixed_count > 0]
    environment.user_classes[:] = kept or environment.user_classes


def on_init(environment: Environment, runner: Runner | None = None, **_kw: Any) -> None:
    """Install this process's role (``events.init``)."""
    if runner is None:
        return
    if isinstance(runner, WorkerRunner):
        Follower(environment, runner).install()
        return
    if isinstance(runner, LocalRunner | MasterRunner):
        Coordinator(environment, runner).install()
        options = environment.parsed_options
        if options is not None and getattr(options, "mix", None):
            try:
                apply_mix(environment, scenario_settings(environment).mix)
            except ConfigError as exc:
                logger.error("qharness: error: %s", exc)
                sys.exit(2)


listen(events.init_command_line_parser, add_options)
listen(events.init, on_init)
