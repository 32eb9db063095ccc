"""``harness zoo``: real queue libraries on trial against their own promises.

trial.py   one library: load its adapter, hunt every kind, confirm each finding
report.py  the zoo report (matrix, promises, findings, regression tests), zoo.json
"""
