"""Properties of the charge: splitting an entry changes it only through the minimum and the increment, and
work inside support hours is never charged."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportpolicy.engine.charge.price import price_work

from support import DESIGNATED, make_request

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
CHICAGO, LOS_ANGELES = ZoneInfo("America/Chicago"), ZoneInfo("America/Los_Angeles")
US = holidays.country_holidays("US", years=2026, observed=True)
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# A start anywhere in 2026 (around DST changes and holidays included), a length of up to ten hours, a cut inside.
STARTS = st.integers(0, 364 * 24 * 60)
LENGTHS = st.integers(2, 600)


def text(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).isoformat()


def central(start: datetime, cuts: list, notice_at: datetime | None = None) -> dict:
    """Work for demo-city from ``start``, in entries ending at each of ``cuts`` (instants, ascending)."""
    received = start - timedelta(minutes=5)
    notice = {"given_at": text(notice_at or received, CHICAGO), "response": "accepted"}
    bounds = [start] + cuts
    entries = [{"entry_id": f"e{n}", "start": text(a, CHICAGO), "end": text(b, CHICAGO)}
               for n, (a, b) in enumerate(zip(bounds, bounds[1:]))]
    return {"request": make_request(text(received, CHICAGO), "phone", "usage_question", DESIGNATED),
            "notice": notice, "entries": entries}


def premium(start: datetime, cuts: list) -> dict:
    body = central(start, cuts)
    received = start - timedelta(minutes=5)
    body["request"] = {"customer": "harbor-county", "received_at": text(received, LOS_ANGELES), "channel": "phone",
                       "requester": {"email": "cio@harbor-county.gov"}, "category": "question",
                       "attributes": {"severity": 3}}
    return body


def worked(charge) -> dict:
    """Worked minutes by what priced them."""
    found = {}
    for line in charge.lines:
        key = (line.reason, line.period, line.policy.digest)
        found[key] = found.get(key, 0) + line.worked_minutes
    return found


def at_rates(charge):
    """The worked minutes of the charged lines at their rates, unrounded."""
    return sum((line.rate.amount * line.worked_minutes / 60 for line in charge.lines if line.charged), 0)


def at(minutes: int) -> datetime:
    return datetime(2026, 1, 1, 12, tzinfo=timezone.utc) + timedelta(minutes=minutes)


@SETTINGS
@given(start=STARTS, length=LENGTHS, cut=st.floats(0.01, 0.99))
def test_splitting_an_entry_never_changes_a_charge_without_a_minimum_or_increment(policy_set, start, length, cut):
    first, middle, end = at(start), at(start + max(1, int(length * cut))), at(start + length)
    whole = price_work(policy_set, central(first, [end]), NOW)
    split = price_work(policy_set, central(first, [middle, end]), NOW)
    assert split.total == whole.total
    assert worked(split) == worked(whole)


@SETTINGS
@given(start=STARTS, length=LENGTHS, cut=st.floats(0.01, 0.99))
def test_splitting_an_entry_changes_a_premium_charge_only_through_the_minimum_and_increment(policy_set, start,
                                                                                            length, cut):
    first, middle, end = at(start), at(start + max(1, int(length * cut))), at(start + length)
    whole = price_work(policy_set, premium(first, [end]), NOW)
    split = price_work(policy_set, premium(first, [middle, end]), NOW)
    assert worked(split) == worked(whole)
    # The worked time is priced the same; only what the minimum and increment add differs (and where it is added).
    assert at_rates(split) == at_rates(whole)
    if not any(line.added_minutes for charge in (whole, split) for line in charge.lines):
        assert split.total == whole.total
    for charge in (whole, split):
        for line in charge.lines:
            assert (line.added_minutes > 0) <= any(t.startswith("after_hours.") and t != "after_hours.rounding"
                                                   for t in line.terms)


def business_days():
    return st.dates(date(2026, 1, 2), date(2026, 12, 30)).filter(lambda d: d.weekday() < 5 and d not in US)


@SETTINGS
@given(day=business_days(), start=st.integers(7 * 60, 19 * 60 - 1), data=st.data())
def test_work_inside_support_hours_is_never_charged(policy_set, day, start, data):
    length = data.draw(st.integers(1, 19 * 60 - start))
    category = data.draw(st.sampled_from(["usage_question", "website_down", "application_error", "other"]))
    first = datetime(day.year, day.month, day.day, tzinfo=CHICAGO) + timedelta(minutes=start)
    body = central(first, [first + timedelta(minutes=length)])
    body["request"]["category"] = category
    charge = price_work(policy_set, body, NOW)
    assert charge.total.amount == 0
    assert {(line.charged, line.period) for line in charge.lines} == {(False, "business_hours")}
