"""What the users of one Locust process share during a test, and the messages' names.

The run's lifecycle (``coordinator`` on the master or local runner, ``follower`` on a
Locust worker) puts a :class:`ProcessContext` here at ``test_start``; the users
(``actors``) find it through their environment.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from locust.env import Environment

from harness.locust.budget import IdPool
from harness.locust.client import History
from harness.locust.options import ScenarioSettings, settings_from
from harness.settings import from_env

# Custom Locust messages (``register_message``) between the master and its workers.
MSG_GRANT_REQUEST = "qharness:grant_request"  # worker -> master: {"want": n} task ids
MSG_GRANT = "qharness:grant"  # master -> worker: {"tag", "start", "count"}
MSG_HISTORY = "qharness:history"  # worker -> master: {"batches": [...], "settled": n}
MSG_DONE = "qharness:done"  # worker -> master: the last batches + {"sizes": {shard: bytes}}
MSG_FLUSH = "qharness:flush"  # master -> workers: stop your users and send everything

POLL_SECONDS = 0.5  # the conductor's /stats period and the shipper's batch period
SHARD_ROLE = "locust"  # shard files are locust-<host>-<pid>.jsonl


@dataclass(slots=True)
class ProcessContext:
    """What the users of one Locust process share during one test."""

    settings: ScenarioSettings
    history: History
    ids: IdPool
    numbers: dict[str, Iterator[int]] = field(default_factory=dict)

    def next_number(self, actor: str) -> int:
        return next(self.numbers.setdefault(actor, itertools.count(1)))


_CONTEXTS: weakref.WeakKeyDictionary[Environment, ProcessContext] = weakref.WeakKeyDictionary()


def context_for(environment: Environment) -> ProcessContext | None:
    return _CONTEXTS.get(environment)


def set_context(environment: Environment, context: ProcessContext | None) -> None:
    if context is None:
        _CONTEXTS.pop(environment, None)
    else:
        _CONTEXTS[environment] = context


def scenario_settings(environment: Environment) -> ScenarioSettings:
    """This test's settings from Locust's parsed options (raises ConfigError)."""
    return settings_from(environment.parsed_options, from_env())


def listen(hook: Any, listener: Callable[..., None]) -> None:
    """``EventHook.add_listener`` (untyped in Locust) in one typed place."""
    hook.add_listener(listener)
