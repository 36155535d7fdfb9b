"""Support hours, holidays and business-time arithmetic.

All arithmetic happens on real instants: each opening is placed on the local
calendar of the schedule's zone, converted to UTC, and durations are measured
between those instants, so daylight-saving changes are respected. Openings are
half-open: 07:00:00 is inside, 19:00:00 is outside.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Iterator, Mapping
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from supportpolicy.engine.errors import OutsideHolidayCalendar
from supportpolicy.engine.vocabulary import DAYS

# A schedule with no opening in this many days is refused rather than searched forever.
LOOKAHEAD_DAYS = 3 * 366


class NoOpening(ValueError):
    """The schedule never opens within the look-ahead window."""


@lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, observed: bool, year: int) -> Mapping[date, str]:
    calendar = holiday_calendars.country_holidays(country, subdiv=subdivision, years=year, observed=observed)
    return dict(calendar.items())


@lru_cache(maxsize=None)
def _known_years(country: str, subdivision: str | None) -> tuple[int, int]:
    # Each country's class in the holidays package has data from start_year to end_year (the US: 1777 to
    # 2100); outside them it quietly returns no holiday at all.
    calendar = holiday_calendars.country_holidays(country, subdiv=subdivision)
    return calendar.start_year, calendar.end_year


def minutes(hhmm: str) -> int:
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


@dataclass(frozen=True)
class HolidayCalendar:
    country: str | None
    subdivision: str | None
    observed: bool
    added: Mapping[date, str]
    removed: frozenset

    @cached_property
    def known_years(self) -> tuple[int, int] | None:
        """The first and last years the public calendar has data for; None without one (dates added and
        removed are known in any year)."""
        return None if self.country is None else _known_years(self.country, self.subdivision)

    def check_known(self, day: date) -> None:
        """Raise OutsideHolidayCalendar when the public calendar has no data for ``day``'s year."""
        years = self.known_years
        if years is not None and not years[0] <= day.year <= years[1]:
            label = self.country if self.subdivision is None else f"{self.country}-{self.subdivision}"
            raise OutsideHolidayCalendar(label, years, day)

    def name(self, day: date) -> str | None:
        """The holiday's name on this local date, or None; OutsideHolidayCalendar for a day whose public
        holidays are not known (an added or removed date is known in any year)."""
        if day in self.added:
            return self.added[day]
        if self.country is None or day in self.removed:
            return None
        self.check_known(day)
        return _public_holidays(self.country, self.subdivision, self.observed, day.year).get(day)


@dataclass(frozen=True)
class SupportSchedule:
    """When the support team is on duty, in one time zone."""

    zone: ZoneInfo
    week: tuple  # seven tuples of (from_minute, to_minute), Monday first
    holidays: HolidayCalendar

    @classmethod
    def from_data(cls, data: Mapping) -> "SupportSchedule":
        hours = data["hours"]
        week = tuple(tuple(sorted((minutes(o["from"]), minutes(o["to"])) for o in hours.get(day, ())))
                     for day in DAYS)
        spec = data["holidays"]
        calendar = HolidayCalendar(
            country=spec.get("country"),
            subdivision=spec.get("subdivision"),
            observed=spec.get("observed", True),
            added={date.fromisoformat(h["date"]): h["name"] for h in spec.get("add", ())},
            removed=frozenset(date.fromisoformat(d) for d in spec.get("remove", ())),
        )
        return cls(ZoneInfo(data["time_zone"]), week, calendar)

    def __post_init__(self):
        object.__setattr__(self, "_days", {})

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)

    def openings(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open periods from ``instant`` on, in UTC; the first may have begun before it."""
        day = self.local(instant).date()
        for _ in range(LOOKAHEAD_DAYS):
            for opens, closes in self.day(day):
                if closes > instant:
                    yield opens, closes
            day += timedelta(days=1)
        raise NoOpening(f"the support schedule has no opening within {LOOKAHEAD_DAYS} days of {instant.isoformat()}")

    def day(self, day: date) -> tuple:
        """The openings of one local date as (opens, closes) UTC instants (none on a holiday), worked out once."""
        openings = self._days.get(day)
        if openings is None:
            if len(self._days) > 4096:  # about ten years of days: ample, and bounded
                self._days.clear()
            closed = self.holidays.name(day) is not None
            openings = self._days[day] = () if closed else tuple(
                (self._at(day, start), self._at(day, end)) for start, end in self.week[day.weekday()])
        return openings

    def _at(self, day: date, minute: int) -> datetime:
        # Through UTC, so a wall time in a daylight-saving gap or fold is one instant.
        if minute == 1440:
            day, minute = day + timedelta(days=1), 0
        return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone).astimezone(timezone.utc)

    def is_open(self, instant: datetime) -> bool:
        # Only the instant's own local day: its openings end by the next midnight, and a later day (perhaps one
        # the holiday calendar does not know) cannot tell whether support is open now.
        return any(opens <= instant < closes for opens, closes in self.day(self.local(instant).date()))

    def next_opening(self, instant: datetime) -> datetime:
        """``instant`` itself while support is open, else when it next opens."""
        opens, _ = next(self.openings(instant))
        return max(opens, instant)

    def add_business_hours(self, instant: datetime, hours: Decimal) -> datetime:
        """The instant when ``hours`` of support time have passed after ``instant``.

        Only time inside the openings counts; a deadline that lands exactly on a
        closing time stays there rather than moving to the next opening.
        """
        remaining = timedelta(microseconds=int(hours * 3_600_000_000))
        for opens, closes in self.openings(instant):
            start = max(opens, instant)
            if remaining <= closes - start:
                return start + remaining
            remaining -= closes - start
        raise AssertionError("openings() never ends without raising")

    def deadline(self, start: datetime, target) -> datetime:
        """``start`` plus a response target (a model.ResponseTarget)."""
        if target.kind == "immediately":
            return start
        if target.kind == "calendar_hours":
            return start + timedelta(microseconds=int(target.hours * 3_600_000_000))
        return self.add_business_hours(start, target.hours)
