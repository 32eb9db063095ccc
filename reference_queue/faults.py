"""Named fault points: delay or abort an operation where it yields, off by default.

Spec (``harness serve --faults``): comma-separated ``POINT=ACTION[@PROBABILITY]`` where
ACTION is ``delay:SECONDS`` or ``abort``. Example::

    after_pop=delay:0.05,janitor_between_scan_and_rescue=delay:0.2,before_complete=abort@0.01

Points are the names operations yield (see each queue's module docstring) plus
``before_<op>`` for every operation (``before_claim``, ``before_complete``, ...).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from enum import StrEnum

from reference_queue.errors import FaultAbort, FaultSpecError

logger = logging.getLogger(__name__)


class FaultAction(StrEnum):
    DELAY = "delay"
    ABORT = "abort"


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultRule:
    point: str
    action: FaultAction
    seconds: float = 0.0
    probability: float = 1.0


class Faults:
    """The configured fault rules; :meth:`hit` is called at every named point."""

    def __init__(self, rules: list[FaultRule] | None = None, seed: int | None = None) -> None:
        self.rules: dict[str, FaultRule] = {r.point: r for r in rules or []}
        self._rng = random.Random(seed)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def _fires(self, point: str) -> FaultRule | None:
        """The rule at ``point`` if it fires this time (its probability drawn).

        Logged at INFO before it acts (and a delay again when it is over), so an observer
        (a test, an engineer reading the log) knows an operation is inside its injected
        delay, not merely sent, and what the server did meanwhile."""
        rule = self.rules.get(point)
        if rule is None or (rule.probability < 1.0 and self._rng.random() >= rule.probability):
            return None
        logger.info("fault point %s fires: %s", point, _describe(rule))
        return rule

    def hit(self, point: str) -> None:
        rule = self._fires(point)
        if rule is None:
            return
        if rule.action is FaultAction.DELAY:
            time.sleep(rule.seconds)
            logger.info("fault point %s: delay over", point)
        else:
            raise FaultAbort(point)

    async def ahit(self, point: str) -> None:
        """:meth:`hit` for the event loop: a delay awaits instead of blocking."""
        rule = self._fires(point)
        if rule is None:
            return
        if rule.action is FaultAction.DELAY:
            await asyncio.sleep(rule.seconds)
            logger.info("fault point %s: delay over", point)
        else:
            raise FaultAbort(point)

    @classmethod
    def parse(cls, spec: str | None, seed: int | None = None) -> Faults:
        """Parse a spec string; an empty or ``None`` spec means no faults."""
        rules: list[FaultRule] = []
        for part in (spec or "").split(","):
            part = part.strip()
            if part:
                rules.append(_parse_rule(part))
        return cls(rules, seed)

    def spec(self) -> str:
        """The canonical spec string (parse(spec()) round-trips)."""
        out = []
        for r in self.rules.values():
            action = f"delay:{r.seconds:g}" if r.action is FaultAction.DELAY else "abort"
            prob = f"@{r.probability:g}" if r.probability < 1.0 else ""
            out.append(f"{r.point}={action}{prob}")
        return ",".join(out)


def _describe(rule: FaultRule) -> str:
    return f"delay {rule.seconds:g}s" if rule.action is FaultAction.DELAY else "abort"


def _parse_rule(part: str) -> FaultRule:
    point, sep, rest = part.partition("=")
    if not sep or not point.strip():
        raise FaultSpecError(f"fault {part!r}: expected POINT=ACTION, e.g. after_pop=delay:0.05")
    action_text, _, prob_text = rest.partition("@")
    probability = 1.0
    if prob_text:
        try:
            probability = float(prob_text)
        except ValueError:
            raise FaultSpecError(
                f"fault {part!r}: probability {prob_text!r} is not a number"
            ) from None
        if not 0.0 < probability <= 1.0:
            raise FaultSpecError(f"fault {part!r}: probability must be in (0, 1]")
    name, _, arg = action_text.partition(":")
    if name == FaultAction.ABORT and not arg:
        return FaultRule(point=point.strip(), action=FaultAction.ABORT, probability=probability)
    if name == FaultAction.DELAY:
        try:
            seconds = float(arg)
        except ValueError:
            raise FaultSpecError(f"fault {part!r}: delay needs seconds, e.g. delay:0.05") from None
        if seconds < 0:
            raise FaultSpecError(f"fault {part!r}: delay must be >= 0")
        return FaultRule(
            point=point.strip(), action=FaultAction.DELAY, seconds=seconds, probability=probability
        )
    raise FaultSpecError(f"fault {part!r}: action must be delay:SECONDS or abort")
