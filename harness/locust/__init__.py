"""Locust building blocks: compose your own locustfile from the harness's run machinery.

The public surface (``from harness.locust import ...``)::

    QueueUser           base user: an actor with a process identity and a recording client
    WorkerBase          claim, work (heartbeating), complete or fail; crashes on demand
    SlowWorkerBase      a worker that stalls past its lease, then completes anyway
    ProducerBase        submits the run's task budget with client-chosen ids
    JanitorTriggerBase  runs the deployment's janitor through ``POST /admin/janitor/run``
    QueueClient         the recording client: Locust's request event + the history
    Lease, Answer       what a claim and any other call answered
    ScenarioSettings    the run's options (``--task-budget``, ``--run-dir``, ...)
    add_options         registers those options on a Locust argument parser

Importing any user base registers the run coordinator with Locust (``lifecycle``): on
the local runner or master a :class:`~harness.locust.coordinator.Coordinator` makes the
run folder, shares the task budget, stops the run once it drained, merges the history,
audits, analyzes and sets the exit code; on each Locust worker a
:class:`~harness.locust.follower.Follower` ships its history shard to the master.

The modules, one concept each: ``options`` (the options and settings), ``client`` (the
recording client), ``actors`` (the base users), ``budget`` (the shared task budget),
``drain`` (when a run may stop), ``shipping`` (history shards travelling to the master),
``coordinator`` / ``follower`` (each process's role), ``finish`` (run folder, run.json,
audit, analysis), ``context`` (per-process state), ``lifecycle`` (the Locust hooks).

Names load lazily: importing Locust monkey-patches the standard library through gevent,
so ``import harness.locust.budget`` (or this package) must not pull it in by itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.locust.actors import (
        JanitorTriggerBase,
        ProducerBase,
        QueueUser,
        SlowWorkerBase,
        WorkerBase,
    )
    from harness.locust.client import Answer, Lease, QueueClient
    from harness.locust.options import ScenarioSettings, add_options

_HOMES = {
    "QueueUser": "actors",
    "WorkerBase": "actors",
    "SlowWorkerBase": "actors",
    "ProducerBase": "actors",
    "JanitorTriggerBase": "actors",
    "QueueClient": "client",
    "Lease": "client",
    "Answer": "client",
    "ScenarioSettings": "options",
    "add_options": "options",
}

__all__ = [
    "Answer",
    "JanitorTriggerBase",
    "Lease",
    "ProducerBase",
    "QueueClient",
    "QueueUser",
    "ScenarioSettings",
    "SlowWorkerBase",
    "WorkerBase",
    "add_options",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'harness.locust' has no attribute {name!r}")
    return getattr(importlib.import_module(f"harness.locust.{home}"), name)
