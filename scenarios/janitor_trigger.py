"""``JanitorTrigger``: runs the deployment's janitor through ``POST /admin/janitor/run``
every --janitor-interval when an admin key is given (idle otherwise), recording each
re-queued task as a ``rescue`` event."""

from __future__ import annotations

from harness.locust.actors import JanitorTriggerBase


class JanitorTrigger(JanitorTriggerBase):
    weight = 1
