"""The interleaving explorer (DESIGN.md section 7): a Hypothesis state machine whose
rules are single steps of named actors against a queue, judged by an in-memory model.

    oracle.py      the oracle: intended semantics, findings by contract kind (pure)
    actors.py      steps and the actors taking them (pure)
    trace.py       steps taken and history events made (pure)
    queue_state.py the queue's state as one line (pure)
    story.py       a counterexample as the note's table and a regression test (pure)
    inspection.py  reading every task's whereabouts after a step
    riding.py      that read sent behind the queue's own command (one round trip a step)
    world.py       the engine: performs steps on a queue, feeds the model
    rules.py       when each rule is enabled, and what its arguments may be
    machine.py     the generic RuleBasedStateMachine
    search.py      one search per target; replaying literal steps; the analyzer's verdict
    minimize.py    a last shrinking pass over a counterexample's literal steps
    hunt.py        every kind within a budget, and the race report
    hypothesis_profiles.py  Hypothesis settings profiles dev / ci / thorough
"""
