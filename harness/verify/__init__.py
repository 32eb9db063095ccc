"""Bounded exhaustive verification (``harness verify``) and step-level replay of load-run
violations (``harness replay``), on the explorer's World, actors and model.

    fingerprint.py  a canonical hash of a state: Redis contents, actors (with their
                    operations' generator frames), the model, the clock
    snapshot.py     a state saved and restored: Redis DUMP/RESTORE of every key plus the
                    explorer's Python-side state (only where no operation is in flight)
    reduction.py    which steps commute (the partial-order reduction's independence)
    engine.py       breadth-first search with a visited set and sleep sets
    story.py        the verdict line, the counterexample's table and regression test
    replay.py       a load-run violation back to a step-level schedule
"""
