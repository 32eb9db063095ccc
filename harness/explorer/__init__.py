"""The interleaving explorer (DESIGN.md section 7): a Hypothesis state machine whose
rules are single steps of named actors against a queue, judged by an in-memory model.

    model.py     the oracle: intended semantics, findings by contract kind (pure)
    actors.py    steps and the actors taking them (pure)
    trace.py     steps taken and history events made (pure)
    views.py     the queue's state as one line (pure)
    world.py     the engine: performs steps on a queue, feeds the model
    machine.py   the generic RuleBasedStateMachine
    search.py    running a search per kind, replaying a counterexample
    profiles.py  Hypothesis settings profiles dev / ci / thorough
"""
