"""Locust workloads against the worker HTTP API (DESIGN.md §3), one per file.

``locust -f scenarios --host URL`` loads every public module here: ``worker.py``,
``slow_worker.py``, ``producer.py``, ``janitor_trigger.py``. Each is a thin subclass of
a base user from the harness's Locust library (:mod:`harness.locust`), which holds the
run machinery (options, recording client, budget, drain, shipping, coordinator); the
run profiles live in ``profiles/*.conf``.
"""
