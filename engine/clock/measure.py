"""Time as a target counts it: open time in one of the plan's schedules, or elapsed time on the calendar.

Both are exact (microseconds, on UTC instants), so a clock that is never
paused counts out the very deadline the decision gave: counting ``amount``
from an instant, in pieces or at once, ends at the same instant.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from supportpolicy.engine.calendar import SupportSchedule

ZERO = timedelta(0)


@dataclass(frozen=True)
class Measure:
    """Open time in ``schedule``, or, with ``calendar``, all time."""

    schedule: SupportSchedule
    calendar: bool

    @property
    def counts_in(self) -> str | None:
        return None if self.calendar else self.schedule.name

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The time counted from ``start`` to ``end`` (UTC instants)."""
        if end <= start:
            return ZERO
        if self.calendar:
            return end - start
        total = ZERO
        for opens, closes in self.schedule.openings(start):
            if opens >= end:
                break
            total += min(closes, end) - max(opens, start)
        return total

    def advance(self, start: datetime, amount: timedelta) -> datetime:
        """The instant when ``amount`` has been counted from ``start``; ``start`` itself for none."""
        if amount <= ZERO:
            return start
        return start + amount if self.calendar else self.schedule.add_business_time(start, amount)
