"""The years a holiday calendar knows: a time outside them is refused, never decided as if it had no holidays.

The holidays package has data for each country from a first to a last year
(the US: 1777 to 2100; Sri Lanka: 2003 to 2026), and for a year past those it
returns no holidays at all: Christmas 2150 would be a working day, in business
hours and not billable.
"""
from __future__ import annotations

import shutil
from datetime import date, datetime, timezone

import holidays
import pytest

from supportpolicy.engine import InvalidRequest, load_policy_set
from supportpolicy.engine.calendar import SupportSchedule
from supportpolicy.engine.resources import shipped

from support import DESIGNATED, make_request

US_FIRST, US_LAST = holidays.country_holidays("US").start_year, holidays.country_holidays("US").end_year
PLAN = "plans/central-standard/2026.1.yaml"


def refused(policy_set, received_at, channel="email", category="usage_question", email="resident@example.org"):
    with pytest.raises(InvalidRequest) as caught:
        policy_set.decide(make_request(received_at, channel, category, email))
    return caught.value


def tree_with_holidays(tmp_path, holidays_yaml: str, time_zone: str = "America/Chicago"):
    shutil.copytree(shipped("policies"), tmp_path / "policies")
    shutil.copytree(shipped("rules"), tmp_path / "rules")
    plan = tmp_path / "policies" / PLAN
    text = plan.read_text()
    start, end = text.index("  holidays:\n"), text.index("channels:")
    text = text[:start] + holidays_yaml + "\n" + text[end:]
    plan.write_text(text.replace("time_zone: America/Chicago", f"time_zone: {time_zone}"))
    return load_policy_set(tmp_path / "policies", tmp_path / "rules")


def test_the_us_calendar_knows_the_years_the_holidays_package_has():
    # Read from the installed package, not written down here: a newer package may know more years.
    assert (US_FIRST, US_LAST) == (1777, 2100)
    schedule = SupportSchedule.from_data({"time_zone": "America/Chicago", "hours": {"monday": []},
                                          "holidays": {"country": "US", "subdivision": "TX"}})
    assert schedule.holidays.known_years == (US_FIRST, US_LAST)


def test_christmas_2150_is_refused_naming_received_at_and_the_years_known(policy_set):
    error = refused(policy_set, "2150-12-25T10:00:00-06:00")
    (field,) = error.errors
    assert field.pointer == "/received_at"
    assert f"US: {US_FIRST} to {US_LAST}" in field.message
    assert "received_at" in error.detail and "2150-12-25" in error.detail and str(US_LAST) in error.detail
    assert error.status == 422


@pytest.mark.parametrize("received_at", ["2101-01-03T10:00:00-06:00", "2199-12-31T10:00:00Z",
                                         "2101-01-01T06:00:00Z"])  # local midnight in Chicago: 2101 there
def test_every_time_past_the_last_year_is_refused(policy_set, received_at):
    assert [e.pointer for e in refused(policy_set, received_at).errors] == ["/received_at"]


def test_the_last_year_is_decided_with_its_holidays(decide):
    christmas = decide("2100-12-24T10:00:00-06:00")  # Saturday the 25th, observed on Friday the 24th
    assert (christmas["holiday"], christmas["in_business_hours"]) == ("Christmas Day (observed)", False)
    # 2101-01-01 06:00 UTC is still 2100-12-31 in Chicago, and that day is New Year's Day 2101 observed.
    assert decide("2101-01-01T05:59:59Z", "phone", "website_down", DESIGNATED)["holiday"] == "New Year's Day (observed)"


def test_a_deadline_pushed_past_the_last_year_is_refused_not_counted_without_holidays(policy_set):
    # Friday 2100-12-31 is a holiday (New Year's Day 2101, observed): four business hours after the next
    # opening would fall in 2101, whose holidays the calendar does not know.
    error = refused(policy_set, "2100-12-31T18:00:00-06:00")
    (field,) = error.errors
    assert field.pointer == "/received_at"
    assert "deadline" in field.message and f"US: {US_FIRST} to {US_LAST}" in field.message
    assert "deadline" in error.detail and "2101-01-01" in error.detail


def test_business_hours_that_run_out_of_the_last_year_are_refused(policy_set):
    # Thursday 18:00: one business hour that evening, the rest after the holiday, in 2101.
    assert [e.pointer for e in refused(policy_set, "2100-12-30T18:00:00-06:00").errors] == ["/received_at"]


def test_what_needs_no_day_past_the_last_year_is_decided(decide):
    # In business hours, four business hours that end the same day.
    assert decide("2100-12-30T10:00:00-06:00")["respond_by"] == "2100-12-30T14:00:00-06:00"
    # An emergency from a designated contact on the last evening: one calendar hour, into 2101.
    emergency = decide("2100-12-31T23:30:00-06:00", "phone", "website_down", DESIGNATED)
    assert (emergency["in_business_hours"], emergency["respond_by"]) == (False, "2101-01-01T00:30:00-06:00")


def test_a_schedule_without_a_country_has_no_year_limit(tmp_path):
    policy_set = tree_with_holidays(tmp_path, "  holidays:\n    country: null\n"
                                              "    add: [{date: 2150-12-25, name: Christmas Day}]\n")
    assert policy_set.plans["central-standard"][0].terms.schedule.holidays.known_years is None

    def decide(received_at, *args):
        return policy_set.decide(make_request(received_at, *args)).as_json()

    assert (decide("2150-12-25T10:00:00-06:00")["holiday"], decide("2150-12-25T10:00:00-06:00")["billable"]) == \
        ("Christmas Day", False)
    assert decide("2150-12-25T10:00:00-06:00")["in_business_hours"] is False
    assert decide("2150-12-28T10:00:00-06:00")["in_business_hours"] is True
    # Tuesday 18:00, four business hours: one that evening, three on New Year's Day 2200, a working day here
    # (no public calendar), past the years requests may be received in; nothing there is unknown.
    assert decide("2199-12-31T18:00:00-06:00")["respond_by"] == "2200-01-01T10:00:00-06:00"


def test_a_calendar_that_ends_soon_is_refused_from_its_end_on(tmp_path):
    sri_lanka = holidays.country_holidays("LK")
    first, last = sri_lanka.start_year, sri_lanka.end_year
    policy_set = tree_with_holidays(tmp_path, "  holidays:\n    country: LK\n", "Asia/Colombo")
    assert policy_set.plans["central-standard"][0].terms.schedule.holidays.known_years == (first, last)
    day = date(last, 12, 25)  # Christmas, in the data
    assert policy_set.decide(make_request(f"{day}T10:00:00+05:30")).as_json()["holiday"] == "Christmas Day"
    error = refused(policy_set, f"{last + 1}-01-05T10:00:00+05:30")
    assert f"LK: {first} to {last}" in error.errors[0].message


def test_a_subdivision_is_named_with_its_country(tmp_path):
    policy_set = tree_with_holidays(tmp_path, "  holidays:\n    country: US\n    subdivision: TX\n")
    assert f"US-TX: {US_FIRST} to {US_LAST}" in refused(policy_set, "2150-03-02T10:00:00-06:00").errors[0].message


def test_an_added_or_removed_date_is_known_in_any_year():
    schedule = SupportSchedule.from_data({
        "time_zone": "America/Chicago", "hours": {"monday": [{"from": "07:00", "to": "19:00"}]},
        "holidays": {"country": "US", "add": [{"date": "2150-12-25", "name": "Christmas Day"}],
                     "remove": ["2150-12-28"]}})
    assert schedule.holidays.name(date(2150, 12, 25)) == "Christmas Day"
    assert schedule.holidays.name(date(2150, 12, 28)) is None
    with pytest.raises(InvalidRequest):
        schedule.holidays.name(date(2150, 12, 26))


def test_is_open_on_the_last_day_looks_at_that_day_only():
    schedule = SupportSchedule.from_data({"time_zone": "UTC", "hours": {"thursday": [{"from": "07:00", "to": "19:00"}]},
                                          "holidays": {"country": "US"}})
    last_evening = datetime(2100, 12, 30, 20, 0, tzinfo=timezone.utc)  # a Thursday, after closing
    assert schedule.is_open(last_evening) is False
    assert schedule.is_open(datetime(2100, 12, 30, 12, 0, tzinfo=timezone.utc)) is True
    with pytest.raises(InvalidRequest):
        schedule.next_opening(last_evening)
