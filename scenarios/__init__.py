"""Locust workloads against the worker HTTP API (DESIGN.md §3), one per file.

``locust -f scenarios --host URL`` loads every public module here: ``worker.py``,
``slow_worker.py``, ``producer.py``, ``janitor_trigger.py``. Shared code lives in
``_``-prefixed modules, which Locust skips when given a directory:

- ``_options``  the command-line options (``init_command_line_parser``) and the frozen
                :class:`~scenarios._options.ScenarioSettings` built from them
- ``_client``   the instrumented API client: Locust's request event + the history recorder
- ``_actors``   the abstract base users (actor identity, crashes, the worker loop)
- ``_budget``   the run's task budget, shared by every process through the master
- ``_drain``    when a run has drained and may stop
- ``_shipping`` history shards travelling from Locust workers to the master
- ``_run``      the run's lifecycle: folder, drain, stop, merge, audit, analyze, exit code
"""
