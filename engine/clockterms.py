"""A plan's clock terms as small immutable values: how each target's clock runs over a ticket's life.

The plan names the ticket statuses, and for each target when its clock
starts, what stops it, which statuses pause it, what a reopen and a change of
the request's attributes do, and its warnings; and the escalation ladder.
``ClockTerms.from_data`` builds them from the plan's validated ``clocks``.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from supportpolicy.engine.terms import Escalation, ResponseTarget

RECEIVED = "received"  # a clock that starts when the ticket is received; a delay counted from then
PREVIOUS_LEVEL = "previous_level"  # a level's delay counted from the level before it
# What meets a target.
FIRST_PUBLIC_AGENT_REPLY, EACH_AGENT_REPLY, SOLVED = "first_public_agent_reply", "each_agent_reply", "solved"
# What reopening a solved ticket does to a clock.
KEEP, RESUME, RESTART = "keep", "resume", "restart"
# What a change of the request's attributes does to a clock.
FROM_START, FROM_CHANGE = "from_start", "from_change"


@dataclass(frozen=True)
class ClockWarning:
    """A warning when the clock has counted ``percent`` of the target: notify a team, or escalate."""

    percent: int
    notify: str | None  # the team told; None: escalate along the decision's escalation

    @property
    def action(self) -> str:
        return "escalate" if self.notify is None else "notify"


@dataclass(frozen=True)
class TargetClock:
    """How one target's clock runs."""

    target: str
    start_status: str | None  # None: when the ticket is received; else the first time it takes this status
    stop: str  # FIRST_PUBLIC_AGENT_REPLY, EACH_AGENT_REPLY or SOLVED
    pauses: frozenset  # the statuses in which it does not count
    on_reopen: str  # KEEP, RESUME or RESTART
    on_attribute_change: str  # FROM_START or FROM_CHANGE
    warnings: tuple  # ClockWarning, by rising percent

    @classmethod
    def from_data(cls, target: str, data: Mapping) -> "TargetClock":
        start = data.get("start", RECEIVED)
        warnings = tuple(ClockWarning(w["percent"], w.get("notify")) for w in data.get("warnings", ()))
        return cls(target, None if start == RECEIVED else start["status"], data["stop"],
                   frozenset(data.get("pause", ())), data.get("on_reopen", KEEP),
                   data.get("on_attribute_change", FROM_START), warnings)


@dataclass(frozen=True)
class Level:
    """One level of the escalation ladder: where the ticket goes, and when."""

    number: int  # 1 for the first
    to: Escalation | None  # None: the decision's own escalation
    after: ResponseTarget | None  # a delay ...
    since: str  # ... counted since RECEIVED or since the PREVIOUS_LEVEL
    percent: int | None = None  # or a share of a target
    of: str | None = None

    @classmethod
    def from_data(cls, number: int, data: Mapping) -> "Level":
        to = None if data["to"] == "decision" else Escalation.from_data(data["to"])
        at = data.get("at") or {}
        after = ResponseTarget.from_data(data["after"]) if "after" in data else None
        return cls(number, to, after, data.get("since", PREVIOUS_LEVEL), at.get("percent"), at.get("of"))


@dataclass(frozen=True)
class Ladder:
    levels: tuple  # Level, in order
    repeat: int  # further rounds while nobody acknowledges

    @classmethod
    def from_data(cls, data: Mapping) -> "Ladder":
        return cls(tuple(Level.from_data(i, level) for i, level in enumerate(data["levels"], 1)),
                   data.get("repeat", 0))


@dataclass(frozen=True)
class ClockTerms:
    """A plan's clock terms: the ticket statuses, a clock for each target, and the escalation ladder."""

    statuses: tuple
    initial_status: str
    solved_status: str
    targets: Mapping  # target name -> TargetClock
    ladder: Ladder | None

    @classmethod
    def from_data(cls, data: Mapping | None) -> "ClockTerms | None":
        if data is None:
            return None
        targets = {name: TargetClock.from_data(name, spec) for name, spec in data["targets"].items()}
        return cls(tuple(data["statuses"]), data["initial_status"], data["solved_status"],
                   MappingProxyType(targets), Ladder.from_data(data["escalation"]) if "escalation" in data else None)
