"""The master's (or local runner's) part of a run: folder, budget, drain, conclusion.

At ``test_start`` it makes the run folder and the budget ledger; its conductor
greenlet watches ``GET /stats`` and stops the run once the budget is submitted and
the deployment has drained (or ``--drain-timeout`` passed). At ``test_stop`` (or
``quitting``, for Ctrl-C) it gathers every Locust worker's shard (``shipping``), then
concludes: run.json, audit, analyze, the verdict line and
``environment.process_exit_code``. That happens once per run, here only.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import gevent.event
from locust.env import Environment
from locust.runners import MasterRunner, Runner

from harness.errors import ConfigError
from harness.locust import finish
from harness.locust.budget import BudgetLedger, local_pool
from harness.locust.client import History, NullHistory
from harness.locust.context import (
    MSG_DONE,
    MSG_FLUSH,
    MSG_GRANT,
    MSG_GRANT_REQUEST,
    MSG_HISTORY,
    POLL_SECONDS,
    SHARD_ROLE,
    ProcessContext,
    listen,
    scenario_settings,
    set_context,
)
from harness.locust.drain import Decision, DrainTracker
from harness.locust.options import ScenarioSettings
from harness.locust.shipping import Batch, ShardAssembler
from harness.recorder import Recorder, shard_name
from harness.run_folder import new_run_dir, unused_run_dir, write_run_json

logger = logging.getLogger(__name__)

SHARD_WAIT_SECONDS = 20.0  # how long the master waits for workers' last lines


def run_tag() -> str:
    """The prefix of this run's task ids: sortable by time, unique across runs."""
    return time.strftime("r%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


@dataclass(slots=True)
class RunState:
    """The coordinator's view of the run in progress."""

    settings: ScenarioSettings
    run_dir: Path
    ledger: BudgetLedger
    meta: dict[str, Any]
    assembler: ShardAssembler | None = None  # master only
    recorder: Recorder | None = None  # local runner only
    stop_reason: str | None = None
    finished: bool = False
    known_nodes: set[str] = field(default_factory=set)
    done_nodes: set[str] = field(default_factory=set)
    concluded: gevent.event.Event = field(default_factory=gevent.event.Event)


class Coordinator:
    """The local runner's or the master's part (see the module docstring)."""

    def __init__(self, environment: Environment, runner: Runner) -> None:
        self.environment = environment
        self.runner = runner
        self.run: RunState | None = None
        self.conductor: gevent.Greenlet | None = None

    @property
    def distributed(self) -> bool:
        return isinstance(self.runner, MasterRunner)

    def install(self) -> None:
        ev = self.environment.events
        listen(ev.test_start, self.on_test_start)
        listen(ev.test_stop, self.on_test_stop)
        listen(ev.quitting, self.on_quitting)
        if self.distributed:
            self.runner.register_message(MSG_GRANT_REQUEST, self.on_grant_request)
            self.runner.register_message(MSG_HISTORY, self.on_history)
            self.runner.register_message(MSG_DONE, self.on_done)

    def on_test_start(self, environment: Environment, **_kw: Any) -> None:
        try:
            settings = scenario_settings(environment)
        except ConfigError as exc:
            self.abort(f"error: {exc}")
            return
        run_dir = unused_run_dir(settings.run_dir or new_run_dir(Path("reports"), "locust"))
        history_dir = run_dir / "history"
        history_dir.mkdir(parents=True, exist_ok=True)
        ledger = BudgetLedger(settings.task_budget, run_tag())
        run = RunState(
            settings=settings, run_dir=run_dir, ledger=ledger, meta=self.initial_meta(settings)
        )
        # Every id this run submits starts with this: anything else a worker claims was
        # in the deployment before the run (initial_stats says how many were waiting).
        run.meta["task_id_prefix"] = f"{ledger.tag}-"
        if self.distributed:
            run.assembler = ShardAssembler(history_dir)
        else:
            history: History = NullHistory()
            if settings.record:
                run.recorder = Recorder(history_dir, shard_name(SHARD_ROLE))
                history = run.recorder
            ids = local_pool(ledger, "local")
            set_context(environment, ProcessContext(settings=settings, history=history, ids=ids))
        self.run = run
        self.note_leftovers(run)
        write_run_json(run_dir, run.meta)
        logger.info("qharness run folder: %s (budget %d tasks)", run_dir, settings.task_budget)
        self.conductor = gevent.spawn(self.conduct, run)

    def note_leftovers(self, run: RunState) -> None:
        """Tasks already waiting in the deployment are not this run's: say so up front."""
        counts = finish.read_counts(self.environment.host or "", run.settings.api_key)
        run.meta["initial_stats"] = None if counts is None else dataclasses.asdict(counts)
        if counts is None:
            logger.warning("qharness: GET %s/stats failed; is --host right?", self.environment.host)
        elif not counts.idle:
            logger.warning(
                "qharness: the deployment already holds %d pending and %d processing tasks "
                "from before this run; claims of them will be reported as `unexpected`",
                counts.pending,
                counts.processing,
            )

    def initial_meta(self, settings: ScenarioSettings) -> dict[str, Any]:
        return {
            "tool": "locust",
            "impl": settings.impl,
            "host": self.environment.host,
            "profile": settings.profile,
            "lease_timeout": settings.lease_timeout,
            "started_at": finish.utc_now(),
            "drained": None,
            "task_budget": settings.task_budget,
            "recorded": settings.record,
            "mode": "master" if self.distributed else "local",
            "settings": {
                "task_duration": str(settings.task_duration),
                "crash_probability": settings.crash_probability,
                "fail_probability": settings.fail_probability,
                "slow_probability": settings.slow_probability,
                "resubmit_probability": settings.resubmit_probability,
                "producer_rate": settings.producer_rate,
                "drain_timeout": settings.drain_timeout,
                "mix": settings.mix,
            },
        }

    def abort(self, message: str) -> None:
        """Settings that cannot run (e.g. bad values typed in the web UI): exit 2."""
        logger.error("qharness: %s", message)
        self.environment.process_exit_code = 2
        gevent.spawn(self.runner.quit)

    def conduct(self, run: RunState) -> None:
        """Stop the run once the budget is submitted and the deployment has drained."""
        tracker = DrainTracker(drain_timeout=run.settings.drain_timeout)
        host = self.environment.host or ""
        while True:
            gevent.sleep(POLL_SECONDS)
            counts = finish.read_counts(host, run.settings.api_key) if run.ledger.spent else None
            decision = tracker.observe(
                time.monotonic(), budget_spent=run.ledger.spent, counts=counts
            )
            if decision in (Decision.DRAINED, Decision.TIMED_OUT):
                break
        run.stop_reason = str(decision)
        logger.info("qharness: budget submitted and %s; stopping", decision)
        options = self.environment.parsed_options
        if options is not None and not options.headless and not options.autostart:
            self.runner.stop()  # the web UI stays up for the user to look around
        else:
            self.runner.quit()

    # -- master: messages from workers (run in Locust's message greenlet) --------------

    def on_grant_request(self, environment: Environment, msg: Any) -> None:
        if self.run is None or self.run.finished:
            return  # not started or over: the worker asks again later
        grant = self.run.ledger.grant(int(msg.data["want"]))
        data = {"tag": grant.tag, "start": grant.start, "count": grant.count}
        self.runner.send_message(MSG_GRANT, data, client_id=msg.node_id)

    def on_history(self, environment: Environment, msg: Any) -> None:
        run = self.run
        if run is None or run.assembler is None:
            return
        run.known_nodes.add(msg.node_id)
        for b in msg.data["batches"]:
            run.assembler.accept(Batch(shard=b["shard"], offset=b["offset"], data=b["data"]))
        run.ledger.report_settled(msg.node_id, int(msg.data["settled"]))

    def on_done(self, environment: Environment, msg: Any) -> None:
        run = self.run
        if run is None or run.assembler is None:
            return
        self.on_history(environment, msg)
        for shard, size in msg.data["sizes"].items():
            run.assembler.finish(shard, int(size))
        run.done_nodes.add(msg.node_id)

    # -- the end ----------------------------------------------------------------------

    def on_test_stop(self, environment: Environment, **_kw: Any) -> None:
        self.finish("stopped")

    def on_quitting(self, environment: Environment, **_kw: Any) -> None:
        """Locust is about to exit: finish the run here, or let a finish under way end.

        (The run-time limit can fire while the conductor's finish is auditing: Locust
        then shuts down from another greenlet, and exiting would cut the report short.)
        """
        self.finish("interrupted")
        if self.run is not None:
            self.run.concluded.wait()

    def finish(self, reason: str) -> None:
        run = self.run
        if run is None or run.finished:
            return
        run.finished = True
        try:
            self.wind_up(run, reason)
        finally:
            run.concluded.set()

    def wind_up(self, run: RunState, reason: str) -> None:
        if self.conductor is not None and self.conductor is not gevent.getcurrent():
            self.conductor.kill(block=False)
        run.stop_reason = run.stop_reason or reason
        if self.distributed:
            self.gather_shards(run)  # the flush stops the workers' users first
        else:
            # On Ctrl-C Locust fires `quitting` with the users still running: stop them
            # before their recorder closes (a no-op when test_stop brought us here).
            self.runner.stop()
            if run.recorder is not None:
                run.recorder.close()
        set_context(self.environment, None)
        self.conclude(run)

    def gather_shards(self, run: RunState) -> None:
        """Ask every worker for its last lines and wait until each said ``done``."""
        self.runner.send_message(MSG_FLUSH)
        connected = {client.id for client in self.runner.clients.all}  # type: ignore[attr-defined]
        deadline = time.monotonic() + SHARD_WAIT_SECONDS
        while time.monotonic() < deadline:
            missing = (run.known_nodes | connected) - run.done_nodes
            if not missing:
                break
            gevent.sleep(0.1)
        else:
            logger.error("qharness: no final shard lines from %s", sorted(missing))
            run.meta["missing_workers"] = sorted(missing)
        assert run.assembler is not None
        run.meta["workers"] = len(run.known_nodes | run.done_nodes)
        run.meta["shards"] = {name: s.size for name, s in run.assembler.shards.items()}
        if incomplete := run.assembler.incomplete():
            logger.error("qharness: incomplete shards: %s", incomplete)
            run.meta["incomplete_shards"] = incomplete

    def conclude(self, run: RunState) -> None:
        settings = run.settings
        host = self.environment.host or ""
        counts = finish.read_counts(host, settings.api_key)
        run.meta.update(
            stopped_at=finish.utc_now(),
            stop_reason=run.stop_reason,
            drained=bool(counts and counts.idle),
            final_stats=None if counts is None else dataclasses.asdict(counts),
            submitted=run.ledger.settled,
        )
        write_run_json(run.run_dir, run.meta)
        if not (settings.record and settings.analyze):
            logger.info("qharness: run folder %s (not analyzed)", run.run_dir)
            return
        audit_error = finish.audit(host, run.run_dir, settings.api_key)
        conclusion = finish.analyze(run.run_dir, settings.lease_timeout)
        if counts is None and run.meta.get("initial_stats") is None:
            # Not one GET /stats answered: an empty history "passes", which proves nothing.
            note = f"the deployment at {host or '(no --host)'} never answered GET /stats"
            conclusion = dataclasses.replace(conclusion, verdict="unknown", exit_code=2, note=note)
        run.meta.update(
            verdict=conclusion.verdict,
            violations=conclusion.counts,
            exit_code=conclusion.exit_code,
            audit_error=audit_error,
        )
        write_run_json(run.run_dir, run.meta)
        # The run's answer for the engineer at the terminal: this is the front door's CLI.
        print(conclusion.line(run.run_dir), file=sys.stderr, flush=True)  # noqa: T201
        self.environment.process_exit_code = conclusion.exit_code
