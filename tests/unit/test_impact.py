"""impact, in the engine: which versions differ and whom they reach, refusals and moved deadlines as kinds of
change, and requests replayed later at the same weekday and local time (engine.tools.impact and .shift).

The change compared is the fixture tests/fixtures/plan-2027: central-standard 2027.1, effective 2027-01-01,
open from 08:00 instead of 07:00, at 225.00 USD an hour instead of 200.00.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from supportpolicy.engine import load_policy_set
from supportpolicy.engine.tools.impact import compare, moved_text, version_changes
from supportpolicy.engine.tools.shift import later, shift_requests

from support import DESIGNATED, make_request, with_plan_2027

CHICAGO = ZoneInfo("America/Chicago")
NEW_YEAR = date(2027, 1, 1)


@pytest.fixture(scope="module")
def sets(tmp_path_factory, policy_set):
    folder = with_plan_2027(tmp_path_factory.mktemp("plan-2027"), suites=False)
    return policy_set, load_policy_set(folder / "policies", folder / "rules")


def replayed(*bodies):
    return [({"line": n}, body, None) for n, body in enumerate(bodies, 1)]


def test_the_versions_that_differ_are_listed_with_their_effective_dates(sets):
    base, current = sets
    (change,) = version_changes(base, current)
    assert (change.change, change.kind, change.id, change.version, change.effective_from) == \
        ("added", "plan", "central-standard", "2027.1", NEW_YEAR)
    assert version_changes(current, base)[0].change == "removed"
    assert version_changes(base, base) == ()


def test_requests_before_the_new_version_are_not_reached_by_it(sets):
    base, current = sets
    impact = compare(base, current, replayed(make_request("2026-11-30T07:30:00-06:00"),
                                             make_request("2026-12-31T18:30:00-06:00")))
    assert (impact.total, impact.changed, impact.reached) == (2, 0, 0)
    assert impact.takes_effect == NEW_YEAR
    assert [at.date() for at in impact.received] == [date(2026, 11, 30), date(2026, 12, 31)]


def test_a_deadline_change_is_grouped_by_how_far_it_moved(sets):
    base, current = sets
    # Tuesday 5 January 2027, 06:30: a message, due 4 business hours after the opening (07:00 then 08:00).
    bodies = [make_request(f"2027-01-{day:02}T06:30:00-06:00") for day in (5, 6, 7)]
    impact = compare(base, current, replayed(*bodies))
    assert (impact.changed, impact.reached) == (3, 3)
    assert list(impact.deadlines) == [("respond_by", 3600)]
    assert impact.deadlines[("respond_by", 3600)].count == 3
    assert impact.fields == {} and impact.outcomes == {}  # not one field diff for each due time
    document = impact.as_json()
    assert document["deadlines"][0]["moved"] == "+1 h" and document["deadlines"][0]["count"] == 3


def test_refused_before_decided_now_is_one_change_not_a_field_diff(policy_set, tmp_path):
    # A new customer: the base refuses its requests (404), the current set decides them. Its echoed fields
    # (customer, received_at, ...) are not changes of their own.
    folder = with_plan_2027(tmp_path, suites=False)
    text = (folder / "policies/customers/demo-city.yaml").read_text(encoding="utf-8")
    (folder / "policies/customers/lakeview-county.yaml").write_text(
        text.replace("demo-city", "lakeview-county").replace("City of Demo", "Lakeview County"), encoding="utf-8")
    current = load_policy_set(folder / "policies", folder / "rules")
    lakeview = [make_request(at, customer="lakeview-county") for at in ("2026-11-30T10:00:00-06:00",
                                                                         "2026-11-28T23:00:00-06:00")]
    impact = compare(policy_set, current, replayed(*lakeview, make_request("2026-11-30T10:00:00-06:00")))
    assert (impact.total, impact.changed, impact.reached) == (3, 2, 2)
    ((key, group),) = impact.outcomes.items()
    assert key == ("404 No contract for this customer", "decided") and group.count == 2
    assert impact.fields == {} and impact.rules == {} and impact.deadlines == {}
    (outcome,) = impact.as_json()["outcomes"]
    assert (outcome["change"], outcome["before"], outcome["after"]) == \
        ("refused before, decided now", "404 No contract for this customer", "decided")
    assert [e["line"] for e in outcome["examples"]] == [1, 2]
    reverse = compare(current, policy_set, replayed(*lakeview)).as_json()["outcomes"]
    assert [(o["change"], o["count"]) for o in reverse] == [("decided before, refused now", 2)]


@pytest.mark.parametrize("seconds,text", [(3600, "+1 h"), (-1800, "-30 min"), (2 * 86400 + 3 * 3600, "+2 d 3 h"),
                                          (90, "+1 min 30 s")])
def test_moved_text(seconds, text):
    assert moved_text(seconds) == text


# ---- replayed later -------------------------------------------------------------------

@pytest.mark.parametrize("received,expected", [
    # Saturday 28 November 2026, 23:00 CST: the first Saturday on or after New Year's Day 2027 is 2 January.
    ("2026-11-28T23:00:00-06:00", "2027-01-02T23:00:00-06:00"),
    # A summer Tuesday, 10:00 CDT: Tuesday 5 January 2027, 10:00 CST (the local time kept, not the offset).
    ("2026-07-14T10:00:00-05:00", "2027-01-05T10:00:00-06:00"),
    # Given in UTC, read in Chicago: Friday 1 January 2027 is itself on the date.
    ("2026-12-25T18:00:00Z", "2027-01-01T12:00:00-06:00"),
])
def test_a_request_moves_by_whole_weeks_to_the_same_weekday_and_local_time(received, expected):
    moved = later(datetime.fromisoformat(received), CHICAGO, NEW_YEAR)
    assert moved.isoformat() == expected
    assert moved.strftime("%A") == datetime.fromisoformat(received).astimezone(CHICAGO).strftime("%A")


def test_a_move_across_daylight_saving_keeps_the_wall_clock():
    # Friday 6 March 2026, 17:00 CST, moved to the week of Sunday 8 March 2026's change: 17:00 CDT a week later.
    moved = later(datetime.fromisoformat("2026-03-06T17:00:00-06:00"), CHICAGO, date(2026, 3, 9))
    assert moved.isoformat() == "2026-03-13T17:00:00-05:00"
    # 02:30 does not exist on Sunday 14 March 2027 in Chicago: the instant after the gap, 03:30 CDT.
    gap = later(datetime.fromisoformat("2027-03-07T02:30:00-06:00"), CHICAGO, date(2027, 3, 14))
    assert gap.isoformat() == "2027-03-14T03:30:00-05:00"


def test_a_request_on_or_after_the_date_is_not_moved():
    assert later(datetime.fromisoformat("2027-01-01T00:00:00-06:00"), CHICAGO, NEW_YEAR) is None


def test_shifted_requests_say_when_they_were_received(policy_set):
    requests = [({"line": 1}, make_request("2026-11-28T23:00:00-06:00", email=DESIGNATED), None),
                ({"line": 2}, make_request("2027-02-01T09:00:00-06:00"), None),
                ({"line": 3}, {"customer": "no-such-city", "received_at": "2026-11-28T23:00:00-06:00"}, None),
                ({"line": 4}, None, "not JSON")]
    shifted = list(shift_requests(requests, policy_set, NEW_YEAR))
    assert shifted[0][0] == {"line": 1, "shifted_from": "2026-11-28T23:00:00-06:00"}
    assert shifted[0][1] == dict(requests[0][1], received_at="2027-01-02T23:00:00-06:00")
    assert shifted[1:] == requests[1:]  # already after, of an unknown customer, unreadable: as they were


def test_replayed_later_the_suite_of_requests_reaches_the_new_version(sets):
    base, current = sets
    bodies = [make_request("2026-11-30T07:30:00-06:00"), make_request("2026-11-28T23:00:00-06:00", email=DESIGNATED)]
    impact = compare(base, current, shift_requests(replayed(*bodies), current, NEW_YEAR))
    assert (impact.total, impact.shifted, impact.reached, impact.changed) == (2, 2, 2, 2)
    # Monday 07:30: open under 2026.1, not yet under 2027.1; Saturday night: billed at the new rate.
    assert impact.outcomes == {}
    assert {key[0] for key in impact.fields} >= {"in_business_hours", "hourly_rate"}
