"""Schedules: when a plan's people are on duty, holidays and dated exceptions, and time counted in them.

All arithmetic happens on real instants: each opening is placed on the local
calendar of the schedule's zone, converted to UTC, and durations are measured
between those instants, so daylight-saving changes are respected. Openings are
half-open: 07:00:00 is inside, 19:00:00 is outside.

A schedule's week is seven lists of openings, one per local weekday; a span
that runs across midnight or over several days (24x5: Sunday 15:00 to Friday
17:00) is split into the days it covers, so two openings meet at midnight and
time counted in them runs on without a gap. For each local date, a dated
exception replaces the week's openings (a snow day, a day that closes early);
otherwise a holiday closes the day; otherwise the week applies.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import Iterator, Mapping
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from supportpolicy.engine.errors import OutsideHolidayCalendar
from supportpolicy.engine.vocabulary import DAYS

# A schedule with no opening in this many days is refused rather than searched forever.
LOOKAHEAD_DAYS = 3 * 366
DAY, WEEK = 1440, 7 * 1440  # minutes
SUPPORT_SCHEDULE = "support_hours"  # the name of a plan's `schedule`, the support team's hours


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


def utc(instant: datetime) -> datetime:
    """The same instant in UTC.

    Openings are kept in UTC, and comparing or subtracting two instants of one
    zone is a few nanoseconds while two zones cost the better part of a
    microsecond each time; so every method below counts in UTC.
    """
    return instant if instant.tzinfo is timezone.utc else instant.astimezone(timezone.utc)


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

    @classmethod
    def from_data(cls, spec: Mapping | None) -> "HolidayCalendar":
        spec = spec or {}
        return cls(country=spec.get("country"), subdivision=spec.get("subdivision"),
                   observed=spec.get("observed", True),
                   added={date.fromisoformat(h["date"]): h["name"] for h in spec.get("add", ())},
                   removed=frozenset(date.fromisoformat(d) for d in spec.get("remove", ())))

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


NO_HOLIDAYS = HolidayCalendar(None, None, True, MappingProxyType({}), frozenset())


@dataclass(frozen=True)
class Exception_:
    """A dated exception: the openings of one local date instead of the week's (none: closed that day)."""

    openings: tuple  # (from_minute, to_minute), sorted
    name: str | None


def weekly_openings(hours: Mapping | None, spans=()) -> tuple:
    """Seven sorted tuples of (from_minute, to_minute), Monday first, from day hours and multi-day spans."""
    days = [[(minutes(o["from"]), minutes(o["to"])) for o in (hours or {}).get(day, ())] for day in DAYS]
    for start, end in spans:
        if end <= start:  # runs over the end of the week, into the next one's start
            end += WEEK
        while start < end:
            day, offset = divmod(start % WEEK, DAY)
            stop = min(end - start, DAY - offset)
            days[day].append((offset, offset + stop))
            start += stop
    return tuple(tuple(sorted(d)) for d in days)


def span_minutes(point: Mapping) -> int:
    """A point of the week ({day: sunday, at: "15:00"}) as minutes since Monday 00:00."""
    return DAYS.index(point["day"]) * DAY + minutes(point["at"])


@dataclass(frozen=True)
class SupportSchedule:
    """When people are on duty, in one time zone: the week, holidays, and dated exceptions."""

    zone: ZoneInfo
    week: tuple  # seven tuples of (from_minute, to_minute), Monday first
    holidays: HolidayCalendar
    exceptions: Mapping = field(default_factory=lambda: MappingProxyType({}))  # date -> Exception_
    name: str = SUPPORT_SCHEDULE
    always: bool = False  # open around the clock, every day of the year

    @classmethod
    def from_data(cls, data: Mapping, name: str = SUPPORT_SCHEDULE, zone: ZoneInfo | None = None) -> "SupportSchedule":
        """From a plan's schedule; ``zone`` is the customer's, for a schedule kept in the customer's time zone."""
        zone = zone if data["time_zone"] == "customer" else ZoneInfo(data["time_zone"])
        if zone is None:  # a plan on its own, with no customer to give the zone: UTC until one does
            zone = ZoneInfo("UTC")
        if data.get("open") == "always":
            return cls(zone, (((0, DAY),),) * 7, NO_HOLIDAYS, name=name, always=True)
        spans = [(span_minutes(s["from"]), span_minutes(s["to"])) for s in data.get("spans", ())]
        return cls(zone, weekly_openings(data.get("hours"), spans), HolidayCalendar.from_data(data.get("holidays")),
                   MappingProxyType(exceptions_of(data.get("exceptions", ()))), name)

    def __post_init__(self):
        object.__setattr__(self, "_days", {})

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)

    def closure(self, day: date) -> str | None:
        """Why support is closed all this local date, when it is: a holiday's name, or a closed exception's."""
        exception = self.exceptions.get(day)
        if exception is not None:
            return exception.name if not exception.openings else None
        return self.holidays.name(day)

    def openings(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open periods from ``instant`` on, in UTC; the first may have begun before it."""
        instant = utc(instant)
        day = self.local(instant).date()
        for _ in range(LOOKAHEAD_DAYS):
            for opens, closes in self.day(day):
                if closes > instant:
                    yield opens, closes
            day += timedelta(days=1)
        raise NoOpening(f"the {self.name} schedule has no opening within {LOOKAHEAD_DAYS} days of "
                        f"{instant.isoformat()}")

    def day(self, day: date) -> tuple:
        """The openings of one local date as (opens, closes) UTC instants, worked out once."""
        openings = self._days.get(day)
        if openings is None:
            if len(self._days) > 4096:  # about ten years of days: ample, and bounded
                self._days.clear()
            exception = self.exceptions.get(day)
            if exception is not None:
                local = exception.openings
            else:
                local = () if self.holidays.name(day) is not None else self.week[day.weekday()]
            openings = self._days[day] = tuple((self._at(day, start), self._at(day, end)) for start, end in local)
        return openings

    def _at(self, day: date, minute: int) -> datetime:
        # Through UTC, so a wall time in a daylight-saving gap or fold is one instant.
        if minute == DAY:
            day, minute = day + timedelta(days=1), 0
        return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone).astimezone(timezone.utc)

    def is_open(self, instant: datetime) -> bool:
        # Only the instant's own local day: its openings end by the next midnight, and a later day (perhaps one
        # the holiday calendar does not know) cannot tell whether support is open now.
        instant = utc(instant)
        return any(opens <= instant < closes for opens, closes in self.day(self.local(instant).date()))

    def next_opening(self, instant: datetime) -> datetime:
        """``instant`` itself while open, else when the schedule next opens (in UTC)."""
        instant = utc(instant)
        opens, _ = next(self.openings(instant))
        return max(opens, instant)

    def add_business_time(self, instant: datetime, amount: timedelta) -> datetime:
        """The instant when ``amount`` of open time has passed after ``instant``.

        Only time inside the openings counts; a deadline that lands exactly on a
        closing time stays there rather than moving to the next opening.
        """
        instant, remaining = utc(instant), amount
        for opens, closes in self.openings(instant):
            start = max(opens, instant)
            if remaining <= closes - start:
                return start + remaining
            remaining -= closes - start
        raise AssertionError("openings() never ends without raising")

    def add_business_hours(self, instant: datetime, hours: Decimal) -> datetime:
        return self.add_business_time(instant, timedelta(microseconds=int(hours * 3_600_000_000)))

    def add_business_days(self, instant: datetime, days: int) -> datetime:
        """The close of the ``days``-th business day after the local date of ``instant``.

        A business day is a local date with an opening; the day of ``instant``
        itself is day 0, whatever it is. The due time is that day's last closing.
        """
        day, counted = self.local(instant).date(), 0
        for _ in range(LOOKAHEAD_DAYS):
            day += timedelta(days=1)
            openings = self.day(day)
            if openings:
                counted += 1
                if counted == days:
                    return openings[-1][1]
        raise NoOpening(f"the {self.name} schedule has no {days} business days within {LOOKAHEAD_DAYS} days "
                        f"of {instant.isoformat()}")

    def deadline(self, start: datetime, target) -> datetime:
        """``start`` plus a response target (a model.ResponseTarget) counted in this schedule."""
        start = utc(start)
        if target.kind == "immediately":
            return start
        if target.kind == "calendar":
            return start + timedelta(microseconds=int(target.minutes * 60_000_000))
        if target.kind == "business_days":
            return self.add_business_days(start, int(target.days))
        return self.add_business_time(start, timedelta(microseconds=int(target.minutes * 60_000_000)))


def exceptions_of(entries) -> dict:
    """Dated exceptions by local date: a date or a range of dates (from .. to, both inclusive)."""
    found = {}
    for entry in entries:
        first = date.fromisoformat(entry.get("date") or entry["from"])
        last = date.fromisoformat(entry.get("date") or entry["to"])
        openings = () if entry.get("closed") else tuple(sorted((minutes(o["from"]), minutes(o["to"]))
                                                              for o in entry.get("hours", ())))
        while first <= last:
            found[first] = Exception_(openings, entry.get("name"))
            first += timedelta(days=1)
    return found
