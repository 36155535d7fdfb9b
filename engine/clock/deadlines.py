"""A ticket's next deadlines, read from its clocks: what a queue of tickets sorts by.

For the targets whose current cycle has not stopped (running, paused, or
breached and still open): the first warning (already fired, or foreseen if the
clock runs on without a pause) and the breach (already passed, or foreseen
likewise). Foreseen instants stay exact until the ticket's next event, the
only thing that can pause, stop or restart a clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from supportpolicy.engine.clock.states import BREACHED, MET, NOT_APPLICABLE, NOT_STARTED, PAUSED, RUNNING

WARNING, BREACH = "warning", "breach"
# The ticket's state as a whole, its clocks' gravest: breached, then running, then paused; else met (every
# clock stopped, or none applies).
_GRAVITY = (BREACHED, RUNNING, PAUSED)


@dataclass(frozen=True)
class Mark:
    """One deadline: which target, and when."""

    target: str
    at: datetime


@dataclass(frozen=True)
class TargetDeadlines:
    """One open clock's: its state at the ticket's last event, its first warning and its breach."""

    target: str
    state: str  # BREACHED, RUNNING or PAUSED
    warning: datetime | None
    breach: datetime | None


@dataclass(frozen=True)
class Deadlines:
    state: str  # BREACHED, RUNNING, PAUSED or MET
    warning: Mark | None  # the first warning of an open clock
    breach: Mark | None  # the first breach of an open clock
    targets: tuple = ()  # TargetDeadlines of each open clock, in the plan's order

    @property
    def next(self) -> tuple[str, Mark] | None:
        """(WARNING or BREACH, its mark): whichever comes first; a warning at the breach's instant first."""
        marks = [(kind, mark) for kind, mark in ((WARNING, self.warning), (BREACH, self.breach)) if mark]
        return min(marks, key=lambda pair: (pair[1].at, pair[0] != WARNING)) if marks else None


def deadlines(targets) -> Deadlines:
    """The deadlines of ``targets`` (states.TargetState of one ticket, read at one instant)."""
    open_ = []
    for target in targets:
        if target.stopped_at is not None or target.state in (MET, NOT_STARTED, NOT_APPLICABLE):
            continue
        warnings = [w.fires_at for w in target.warnings if w.fires_at is not None]
        open_.append(TargetDeadlines(target.name, target.state, min(warnings) if warnings else None,
                                     target.breached_at or target.due))
    state = next((s for s in _GRAVITY if any(t.state == s for t in open_)), MET)
    first = lambda marks: min(marks, key=lambda m: (m.at, m.target)) if marks else None  # noqa: E731
    return Deadlines(state, first([Mark(t.target, t.warning) for t in open_ if t.warning is not None]),
                     first([Mark(t.target, t.breach) for t in open_ if t.breach is not None]), tuple(open_))
