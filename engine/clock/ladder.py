"""The escalation ladder over a ticket's life: which levels fired, when, and when the next one fires.

A level fires after a delay counted since the ticket was received, or since the
level before it (unless someone acknowledged the ticket in between: then it,
and the levels counted from it, never fire); or when a target's clock has
counted a share of the target. No level fires while the ticket is solved, and
levels yet to come are foreseen as if nothing more happened.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from supportpolicy.engine.calendar import SUPPORT_SCHEDULE, SupportSchedule
from supportpolicy.engine.clockterms import RECEIVED, Ladder, Level
from supportpolicy.engine.terms import Escalation


@dataclass(frozen=True)
class LevelState:
    number: int
    round: int  # 1 for the first run of the ladder, then each repeat
    escalation: Escalation
    fires_at: datetime | None  # None: it will not fire
    fired: bool

    def as_json(self, local) -> dict:
        return {"level": self.number, "round": self.round, "team": self.escalation.team,
                "via": self.escalation.via, "fires_at": local(self.fires_at), "fired": self.fired}


@dataclass(frozen=True)
class EscalationState:
    levels: tuple  # LevelState of every level of every round, in ladder order
    acknowledged_at: datetime | None  # the last acknowledgement

    @property
    def reached(self) -> LevelState | None:
        """The level the ticket is at: the last to fire."""
        fired = [level for level in self.levels if level.fired]
        return max(fired, key=lambda level: (level.fires_at, level.round, level.number)) if fired else None

    @property
    def next(self) -> LevelState | None:
        coming = [level for level in self.levels if not level.fired and level.fires_at is not None]
        return min(coming, key=lambda level: (level.fires_at, level.round, level.number)) if coming else None

    def as_json(self, local) -> dict:
        reached, coming = self.reached, self.next
        return {"level": reached.number if reached else 0, "round": reached.round if reached else None,
                "reached_at": local(reached.fires_at) if reached else None,
                "team": reached.escalation.team if reached else None,
                "via": reached.escalation.via if reached else None,
                "acknowledged_at": local(self.acknowledged_at),
                "next": coming.as_json(local) if coming else None,
                "levels": [level.as_json(local) for level in self.levels]}


@dataclass(frozen=True)
class TicketTimes:
    """What the ladder reads of the ticket: when it was received, acknowledged and solved, and its targets."""

    received_at: datetime
    now: datetime
    acknowledgements: tuple  # instants, oldest first
    solved: tuple  # (from, to or None) of each time the ticket was solved
    targets: Mapping  # name -> states.TargetState
    schedules: Mapping  # the customer's schedules, by name
    decided: Escalation  # the decision's escalation

    def solved_at(self, instant: datetime) -> bool:
        return any(start <= instant and (end is None or instant < end) for start, end in self.solved)

    def acknowledged_between(self, start: datetime, end: datetime) -> bool:
        return any(start <= ack <= end for ack in self.acknowledgements)


def climb(ladder: Ladder, times: TicketTimes) -> EscalationState:
    levels, previous = [], times.received_at
    for round_ in range(1, ladder.repeat + 2):
        for level in ladder.levels:
            fires_at, fired = _when(level, previous, times)
            escalation = times.decided if level.to is None else level.to
            levels.append(LevelState(level.number, round_, escalation, fires_at, fired))
            previous = fires_at
    acknowledged = times.acknowledgements[-1] if times.acknowledgements else None
    return EscalationState(tuple(levels), acknowledged)


def _when(level: Level, previous: datetime | None, times: TicketTimes) -> tuple[datetime | None, bool]:
    if level.percent is not None:
        fires_at, _ = times.targets[level.of].share_reached(level.percent, times.now)
    elif level.since == RECEIVED:
        fires_at = _schedule(level, times.schedules).deadline(times.received_at, level.after)
    elif previous is None:
        return None, False  # the level before it never fires
    else:
        fires_at = _schedule(level, times.schedules).deadline(previous, level.after)
        if times.acknowledged_between(previous, fires_at):
            return None, False
    if fires_at is None or times.solved_at(fires_at) or (fires_at > times.now and times.solved_at(times.now)):
        return None, False
    return fires_at, fires_at <= times.now


def _schedule(level: Level, schedules: Mapping) -> SupportSchedule:
    return schedules[level.after.counts_in or SUPPORT_SCHEDULE]
