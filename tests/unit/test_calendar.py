"""Support hours, holidays and business-time arithmetic, for the shipped default policy.

The default schedule is Monday to Friday, 07:00 to 19:00 America/Chicago, US
federal holidays on their observed dates. In 2026 daylight saving starts on
Sunday March 8 (-06:00 -> -05:00) and ends on Sunday November 1 (-05:00 -> -06:00).
"""
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from supportpolicy.engine.calendar import SupportSchedule

CHICAGO = ZoneInfo("America/Chicago")


def local(text: str) -> datetime:
    """An instant written as a wall time in America/Chicago ("2026-11-27T10:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=CHICAGO)


@pytest.fixture(scope="session")
def schedule(policy_set) -> SupportSchedule:
    return policy_set.plans["central-standard"][0].terms.schedule


def around_the_clock(days=("sunday",)) -> SupportSchedule:
    """A schedule open 00:00 to 24:00 on ``days``, with no holidays."""
    return SupportSchedule.from_data({
        "time_zone": "America/Chicago",
        "hours": {day: [{"from": "00:00", "to": "24:00"}] for day in days},
        "holidays": {"country": None},
    })


EVERY_DAY = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


# Daylight-saving weekends

@pytest.mark.parametrize("friday,monday_due", [
    ("2026-03-06T17:00:00-06:00", "2026-03-09T09:00:00-05:00"),  # spring forward on Sunday March 8
    ("2026-10-30T17:00:00-05:00", "2026-11-02T09:00:00-06:00"),  # fall back on Sunday November 1
])
def test_four_business_hours_from_friday_five_pm_end_monday_nine_am_with_the_new_offset(decide, friday, monday_due):
    d = decide(friday, "email", "usage_question")
    assert d["in_business_hours"] is True
    assert d["local_time"] == friday
    assert d["respond_by"] == monday_due


@pytest.mark.parametrize("friday,monday_due", [
    ("2026-03-06T17:00:00-06:00", "2026-03-09T09:00:00-05:00"),
    ("2026-10-30T17:00:00-05:00", "2026-11-02T09:00:00-06:00"),
])
def test_add_business_hours_across_a_dst_weekend_counts_only_support_time(schedule, friday, monday_due):
    due = schedule.add_business_hours(datetime.fromisoformat(friday), Decimal(4))
    assert schedule.local(due).isoformat() == monday_due


@pytest.mark.parametrize("received_at,local_time", [
    ("2026-03-08T07:59:59Z", "2026-03-08T01:59:59-06:00"),  # the last second of standard time
    ("2026-03-08T08:00:00Z", "2026-03-08T03:00:00-05:00"),  # 02:00 local never happens
    ("2026-11-01T06:59:59Z", "2026-11-01T01:59:59-05:00"),  # first 01:59:59, daylight time
    ("2026-11-01T07:00:00Z", "2026-11-01T01:00:00-06:00"),  # 01:00 again, standard time
])
def test_local_time_has_the_offset_in_force_on_each_side_of_the_change(decide, received_at, local_time):
    assert decide(received_at)["local_time"] == local_time


def test_the_monday_after_spring_forward_opens_at_seven_local_which_is_twelve_utc(schedule):
    opens = schedule.next_opening(datetime(2026, 3, 7, 12, tzinfo=timezone.utc))
    assert opens == datetime(2026, 3, 9, 12, tzinfo=timezone.utc)
    assert schedule.local(opens).isoformat() == "2026-03-09T07:00:00-05:00"


def test_the_monday_after_fall_back_opens_at_seven_local_which_is_thirteen_utc(schedule):
    opens = schedule.next_opening(datetime(2026, 10, 31, 12, tzinfo=timezone.utc))
    assert opens == datetime(2026, 11, 2, 13, tzinfo=timezone.utc)
    assert schedule.local(opens).isoformat() == "2026-11-02T07:00:00-06:00"


# A schedule open around the clock shows that real elapsed time is counted

def test_the_spring_forward_sunday_holds_23_hours_of_support():
    sunday = around_the_clock()
    start = local("2026-03-08T00:00")
    assert sunday.add_business_hours(start, Decimal(23)).isoformat() == "2026-03-09T05:00:00+00:00"
    assert sunday.local(sunday.add_business_hours(start, Decimal(23))).isoformat() == "2026-03-09T00:00:00-05:00"
    # The 24th hour is the first hour of the next Sunday.
    assert sunday.local(sunday.add_business_hours(start, Decimal(24))).isoformat() == "2026-03-15T01:00:00-05:00"


def test_the_fall_back_sunday_holds_25_hours_of_support():
    sunday = around_the_clock()
    start = local("2026-11-01T00:00")
    assert sunday.local(sunday.add_business_hours(start, Decimal(24))).isoformat() == "2026-11-01T23:00:00-06:00"
    assert sunday.local(sunday.add_business_hours(start, Decimal(25))).isoformat() == "2026-11-02T00:00:00-06:00"
    assert sunday.local(sunday.add_business_hours(start, Decimal(26))).isoformat() == "2026-11-08T01:00:00-06:00"


@pytest.mark.parametrize("start,due", [
    ("2026-03-08T00:00", "2026-03-09T01:00:00-05:00"),  # 24 real hours end at 01:00 the next day
    ("2026-11-01T00:00", "2026-11-01T23:00:00-06:00"),  # and at 23:00 the same day
])
def test_twenty_four_hours_of_open_time_are_twenty_four_real_hours(start, due):
    always = around_the_clock(EVERY_DAY)
    result = always.add_business_hours(local(start), Decimal(24))
    assert always.local(result).isoformat() == due
    assert result - local(start) == timedelta(hours=24)


def test_a_schedule_open_around_the_clock_is_open_through_the_repeated_hour():
    always = around_the_clock(EVERY_DAY)
    assert always.is_open(datetime(2026, 11, 1, 6, 30, tzinfo=timezone.utc))  # 01:30 -05:00
    assert always.is_open(datetime(2026, 11, 1, 7, 30, tzinfo=timezone.utc))  # 01:30 -06:00
    assert always.is_open(datetime(2026, 3, 8, 8, 0, tzinfo=timezone.utc))  # 03:00 -05:00


# Holidays

@pytest.mark.parametrize("received_at,name,due", [
    ("2026-12-25T10:00:00-06:00", "Christmas Day", "2026-12-28T11:00:00-06:00"),  # fixed date, a Friday
    ("2026-11-26T10:00:00-06:00", "Thanksgiving Day", "2026-11-27T11:00:00-06:00"),  # fourth Thursday
    ("2026-07-03T10:00:00-05:00", "Independence Day (observed)", "2026-07-06T11:00:00-05:00"),  # for Sat July 4
])
def test_a_holiday_on_a_weekday_is_closed_and_named(decide, received_at, name, due):
    d = decide(received_at, "email", "usage_question")
    assert (d["in_business_hours"], d["holiday"], d["respond_by"]) == (False, name, due)
    assert d["route"] == {"team": "support"} and d["billable"] is False


def test_a_holiday_that_falls_on_a_saturday_is_named_on_the_day_itself(decide):
    d = decide("2026-07-04T10:00:00-05:00")
    assert (d["in_business_hours"], d["holiday"]) == (False, "Independence Day")


def test_the_day_after_thanksgiving_is_a_working_day(decide):
    d = decide("2026-11-27T10:00:00-06:00")
    assert (d["in_business_hours"], d["holiday"]) == (True, None)


def test_a_deadline_crossing_thanksgiving_skips_it(decide):
    assert decide("2026-11-25T17:00:00-06:00", "email")["respond_by"] == "2026-11-27T09:00:00-06:00"


def test_the_holiday_is_that_of_the_local_date_not_the_utc_date(decide):
    # 2026-12-25T03:00Z is still Christmas Eve (21:00) in Chicago; 2026-12-26T03:00Z is Christmas night.
    assert decide("2026-12-25T03:00:00Z")["holiday"] is None
    assert decide("2026-12-26T03:00:00Z")["holiday"] == "Christmas Day"


def test_is_open_and_next_opening_skip_holidays(schedule):
    assert schedule.is_open(local("2026-11-26T10:00")) is False
    assert schedule.next_opening(local("2026-11-26T10:00")) == local("2026-11-27T07:00")
    assert schedule.next_opening(local("2026-07-02T19:00")) == local("2026-07-06T07:00")


# The edges of the support hours

@pytest.mark.parametrize("received_at,inside", [
    ("2026-11-27T07:00:00-06:00", True),
    ("2026-11-27T06:59:59.999999-06:00", False),
    ("2026-11-27T18:59:59-06:00", True),
    ("2026-11-27T19:00:00-06:00", False),
])
def test_opening_time_is_inside_and_closing_time_is_outside(decide, schedule, received_at, inside):
    assert decide(received_at)["in_business_hours"] is inside
    assert schedule.is_open(datetime.fromisoformat(received_at)) is inside


def test_a_deadline_that_lands_exactly_at_closing_stays_there(decide, schedule):
    assert decide("2026-11-27T15:00:00-06:00", "email")["respond_by"] == "2026-11-27T19:00:00-06:00"
    assert schedule.add_business_hours(local("2026-11-27T15:00"), Decimal(4)) == local("2026-11-27T19:00")


def test_a_deadline_one_microsecond_past_closing_moves_to_the_next_opening(schedule):
    start = local("2026-11-27T15:00") + timedelta(microseconds=1)
    assert schedule.add_business_hours(start, Decimal(4)) == local("2026-11-30T07:00") + timedelta(microseconds=1)


def test_next_opening_is_the_instant_itself_while_open(schedule):
    assert schedule.next_opening(local("2026-11-27T07:00")) == local("2026-11-27T07:00")
    assert schedule.next_opening(local("2026-11-27T18:59:59")) == local("2026-11-27T18:59:59")
    assert schedule.next_opening(local("2026-11-27T19:00")) == local("2026-11-30T07:00")
    assert schedule.next_opening(local("2026-11-27T06:00")) == local("2026-11-27T07:00")


def test_fractional_business_hours_are_counted_to_the_minute(schedule):
    assert schedule.add_business_hours(local("2026-11-27T18:30"), Decimal("1.5")) == local("2026-11-30T08:00")


# Requests given in another offset than the schedule's

@pytest.mark.parametrize("received_at", [
    "2026-11-27T16:00:00Z", "2026-11-27T17:00:00+01:00", "2026-11-27T21:30:00+05:30", "2026-11-27T08:00:00-08:00",
])
def test_a_request_in_any_offset_is_decided_as_the_same_instant_in_chicago_winter(decide, received_at):
    d = decide(received_at, "email")
    same = decide("2026-11-27T10:00:00-06:00", "email")
    assert d["local_time"] == "2026-11-27T10:00:00-06:00"
    assert d["respond_by"] == "2026-11-27T14:00:00-06:00"
    for field in ("in_business_hours", "holiday", "route", "billable", "respond_by", "trace"):
        assert d[field] == same[field]


@pytest.mark.parametrize("received_at", [
    "2026-07-15T15:00:00Z", "2026-07-15T16:00:00+01:00", "2026-07-15T20:30:00+05:30", "2026-07-15T08:00:00-07:00",
])
def test_a_request_in_any_offset_is_decided_as_the_same_instant_in_chicago_summer(decide, received_at):
    d = decide(received_at, "email")
    assert d["local_time"] == "2026-07-15T10:00:00-05:00"
    assert d["respond_by"] == "2026-07-15T14:00:00-05:00"


def test_the_weekday_and_hours_are_those_of_chicago_not_of_the_sender(decide):
    # Saturday 04:30 in India is Friday 17:00 in Chicago: open.
    d = decide("2026-11-28T04:30:00+05:30", "email")
    assert (d["local_time"], d["in_business_hours"], d["respond_by"]) == (
        "2026-11-27T17:00:00-06:00", True, "2026-11-30T09:00:00-06:00")
    # Friday 20:00 in California is Friday 22:00 in Chicago: closed.
    d = decide("2026-11-27T20:00:00-08:00", "email")
    assert (d["local_time"], d["in_business_hours"], d["respond_by"]) == (
        "2026-11-27T22:00:00-06:00", False, "2026-11-30T11:00:00-06:00")


# Weekends

@pytest.mark.parametrize("received_at", [
    "2026-11-27T19:00:00-06:00", "2026-11-28T00:00:00-06:00", "2026-11-28T12:00:00-06:00",
    "2026-11-29T23:59:59-06:00", "2026-11-30T06:59:59-06:00",
])
def test_weekend_requests_are_after_hours_and_due_four_hours_after_monday_opening(decide, received_at):
    d = decide(received_at, "phone", "usage_question")
    assert (d["in_business_hours"], d["holiday"], d["route"]["team"], d["respond_by"]) == (
        False, None, "support", "2026-11-30T11:00:00-06:00")
