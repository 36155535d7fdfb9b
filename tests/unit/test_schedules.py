"""Schedules of every shape, against an independent reckoning minute by minute.

The engine places each local date's openings on real instants and walks them;
the reference here asks, for every minute of real time, whether the schedule
is open then, straight from the schedule as written: the local wall time in
its zone, the dated exceptions, the holidays (the holidays package itself),
the weekly hours, and spans read as minutes of the week. Business time is then
the count of open minutes, a business day a local date with an open minute.
Thousands of generated schedules and instants, over daylight-saving changes
in zones on both sides of the date line, with spans across midnight and
across the week's end, early closing days, closed ranges and holidays.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from supportpolicy.engine.calendar import SupportSchedule
from supportpolicy.engine.terms import ResponseTarget
from supportpolicy.engine.vocabulary import DAYS

ZONES = ["America/Chicago", "America/Los_Angeles", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC",
         "Pacific/Auckland"]
UTC = timezone.utc
MINUTE = timedelta(minutes=1)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def schedules(draw):
    """A schedule as a plan writes it: weekly hours, or spans, or both on separate days; exceptions; holidays."""
    zone = draw(st.sampled_from(ZONES))
    spec = {"time_zone": zone}
    days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True))
    hours = {}
    for day in days:
        start = draw(st.integers(0, 23 * 60)) // 30 * 30
        end = draw(st.integers(start + 30, 24 * 60)) // 30 * 30 or start + 30
        hours[day] = [{"from": _hhmm(start), "to": "24:00" if end >= 1440 else _hhmm(end)}]
    if draw(st.booleans()):
        spec["hours"] = hours
        free = [d for d in DAYS if d not in hours]
    else:
        free = list(DAYS)
    if free and (draw(st.booleans()) or "hours" not in spec):
        # One span over days no weekly hour uses, maybe across midnight, maybe across the week's end.
        first, last = draw(st.sampled_from(free)), draw(st.sampled_from(free))
        at_from, at_to = draw(st.integers(0, 47)) * 30, draw(st.integers(0, 47)) * 30
        if not (first == last and at_from == at_to):
            span_days = _span_days(DAYS.index(first), at_from, DAYS.index(last), at_to)
            if set(span_days) <= set(DAYS.index(d) for d in free):
                spec["spans"] = [{"from": {"day": first, "at": _hhmm(at_from)}, "to": {"day": last, "at": _hhmm(at_to)}}]
    if "hours" not in spec and "spans" not in spec:
        spec["hours"] = hours
    if draw(st.booleans()):
        spec["holidays"] = {"country": draw(st.sampled_from(["US", "DE", "AU"])), "observed": draw(st.booleans())}
    exceptions = []
    for _ in range(draw(st.integers(0, 3))):
        day = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
        if draw(st.booleans()):
            exceptions.append({"date": day.isoformat(), "closed": True, "name": "Closed"})
        else:
            start = draw(st.integers(0, 22)) * 60
            exceptions.append({"date": day.isoformat(), "hours": [{"from": _hhmm(start), "to": _hhmm(start + 60)}]})
    seen, unique = set(), []
    for e in exceptions:
        if e["date"] not in seen:
            seen.add(e["date"])
            unique.append(e)
    if unique:
        spec["exceptions"] = unique
    return spec


def _span_days(first: int, at_from: int, last: int, at_to: int) -> list:
    start, end = first * 1440 + at_from, last * 1440 + at_to
    if end <= start:
        end += 7 * 1440
    return sorted({(m // 1440) % 7 for m in range(start, end, 30)})


class Reference:
    """Whether a schedule as written is open at an instant, reckoned without the engine's code."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.zone = ZoneInfo(spec["time_zone"])
        self.exceptions = {date.fromisoformat(e["date"]): e for e in spec.get("exceptions", ())}
        self.calendar = None
        if "holidays" in spec:
            h = spec["holidays"]
            self.calendar = holidays.country_holidays(h["country"], observed=h.get("observed", True))

    def open_at(self, instant: datetime) -> bool:
        local = instant.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        exception = self.exceptions.get(local.date())
        if exception is not None:
            return not exception.get("closed") and any(
                _minutes(o["from"]) <= minute < _minutes(o["to"]) for o in exception["hours"])
        if self.calendar is not None and local.date() in self.calendar:
            return False
        day = DAYS[local.weekday()]
        if any(_minutes(o["from"]) <= minute < _minutes(o["to"]) for o in self.spec.get("hours", {}).get(day, ())):
            return True
        week_minute = local.weekday() * 1440 + minute
        for span in self.spec.get("spans", ()):
            start = DAYS.index(span["from"]["day"]) * 1440 + _minutes(span["from"]["at"])
            end = DAYS.index(span["to"]["day"]) * 1440 + _minutes(span["to"]["at"])
            if (start <= week_minute < end) if start < end else (week_minute >= start or week_minute < end):
                return True
        return False

    def add(self, start: datetime, minutes: int) -> datetime:
        """The first instant by which ``minutes`` open minutes have passed since ``start``."""
        at, counted = start, 0
        while counted < minutes:
            if self.open_at(at):
                counted += 1
            at += MINUTE
        return at

    def business_days(self, start: datetime, days: int) -> datetime:
        """The end of the last open minute of the ``days``-th local date after start's with an open minute."""
        day, counted = start.astimezone(self.zone).date(), 0
        while True:
            day += timedelta(days=1)
            midnight = datetime.combine(day, datetime.min.time(), tzinfo=self.zone).astimezone(UTC)
            following = datetime.combine(day + timedelta(days=1), datetime.min.time(),
                                         tzinfo=self.zone).astimezone(UTC)
            opens = [midnight + MINUTE * m for m in range(int((following - midnight) / MINUTE))
                     if self.open_at(midnight + MINUTE * m)]
            if opens:
                counted += 1
                if counted == days:
                    return opens[-1] + MINUTE


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


INSTANTS = st.builds(lambda minutes: datetime(2026, 1, 1, tzinfo=UTC) + MINUTE * minutes,
                     st.integers(0, 364 * 1440))


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=schedules(), start=INSTANTS)
def test_open_at_every_instant_as_the_schedule_is_written(spec, start):
    schedule, reference = SupportSchedule.from_data(spec), Reference(spec)
    for offset in (0, 29, 61, 600):
        at = start + MINUTE * offset
        assert schedule.is_open(at) == reference.open_at(at), (spec, at)


@pytest.mark.slow
@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=schedules(), start=INSTANTS, minutes=st.integers(1, 900))
def test_business_minutes_are_counted_as_the_reference_counts_them(spec, start, minutes):
    schedule, reference = SupportSchedule.from_data(spec), Reference(spec)
    assume(sum(end - begin for day in schedule.week for begin, end in day) >= 600)  # the reference walks minutes
    due = schedule.deadline(start, ResponseTarget("business_minutes", minutes))
    expected = reference.add(start, minutes)
    # The engine stops on the open minute's end; a deadline on a closing time stays there.
    assert due == expected, (spec, start, minutes)


@pytest.mark.slow
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=schedules(), start=INSTANTS, days=st.integers(1, 4))
def test_business_days_end_at_the_close_of_the_nth_open_day(spec, start, days):
    schedule, reference = SupportSchedule.from_data(spec), Reference(spec)
    assert schedule.deadline(start, ResponseTarget("business_days", days)) == reference.business_days(start, days)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=schedules(), start=INSTANTS, first=st.integers(1, 400), second=st.integers(1, 400))
def test_counting_in_two_steps_is_counting_once(spec, start, first, second):
    schedule = SupportSchedule.from_data(spec)
    whole = schedule.deadline(start, ResponseTarget("business_minutes", first + second))
    halfway = schedule.deadline(start, ResponseTarget("business_minutes", first))
    assert schedule.deadline(halfway, ResponseTarget("business_minutes", second)) <= whole
    assert whole >= halfway


def test_always_open_counts_every_minute():
    schedule = SupportSchedule.from_data({"time_zone": "America/Chicago", "open": "always"})
    start = datetime(2026, 3, 7, 12, tzinfo=UTC)  # across the spring-forward night in Chicago
    assert schedule.deadline(start, ResponseTarget("business_hours", 48)) == start + timedelta(hours=48)
    assert schedule.is_open(datetime(2026, 12, 25, tzinfo=UTC))


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Europe/Berlin"])
def test_a_span_across_the_week_end_runs_on_through_sunday_night(zone):
    spec = {"time_zone": zone, "spans": [{"from": {"day": "sunday", "at": "15:00"},
                                          "to": {"day": "friday", "at": "17:00"}}]}
    schedule, local = SupportSchedule.from_data(spec), ZoneInfo(zone)
    sunday = datetime(2026, 11, 29, 15, tzinfo=local)
    assert not schedule.is_open(sunday - MINUTE) and schedule.is_open(sunday)
    assert schedule.is_open(datetime(2026, 12, 2, 3, tzinfo=local))  # Wednesday 03:00: no daily closing
    friday = datetime(2026, 12, 4, 17, tzinfo=local)
    assert schedule.is_open(friday - MINUTE) and not schedule.is_open(friday)
    assert schedule.deadline(friday - timedelta(hours=1), ResponseTarget("business_hours", 2)) == sunday + \
        timedelta(days=7, hours=1)
