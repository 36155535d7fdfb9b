"""The charge against an independent calculation: thousands of generated work logs priced minute by minute.

The brute force here reads the two shipped plans as their files say, by hand:
the support hours of each version, its holidays (the public calendar, the
plan's exceptions), the billing rules' table (who is charged, when), the rates
by kind of period, the notice, the minimum and the increment. It classifies
every minute of work on its own and sums; the engine splits and decides spans.
The logs are drawn around daylight-saving changes, holidays, the early-closing
Christmas Eve and the 2027.1 plan version's first day.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import holidays
import pytest

from supportpolicy.engine import load_policy_set
from supportpolicy.engine.charge.price import price_work

from support import DESIGNATED, OTHER, with_plan_2027

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)
CHICAGO, LOS_ANGELES = ZoneInfo("America/Chicago"), ZoneInfo("America/Los_Angeles")
# Days near which the logs are drawn: daylight saving starts and ends, holidays (observed Independence Day,
# Thanksgiving, Christmas), Christmas Eve (premium closes at noon), the new year (central-standard 2027.1),
# Cesar Chavez Day (a California holiday) and ordinary weeks.
DAYS = [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 31), date(2026, 7, 3), date(2026, 10, 31),
        date(2026, 11, 1), date(2026, 11, 26), date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 31),
        date(2027, 1, 1), date(2027, 3, 14), date(2026, 5, 12), date(2026, 9, 18)]


@dataclass(frozen=True)
class Version:
    """One plan version as the brute force reads it."""

    name: str
    zone: ZoneInfo
    opens: int  # minute of the day, Monday to Friday
    closes: int
    calendar: object  # the public holidays
    exceptions: dict  # date -> (opens, closes)
    rates: dict  # period -> Decimal an hour
    minimum: int | None
    increment: int | None

    def period(self, local: datetime) -> str:
        day, minute = local.date(), local.hour * 60 + local.minute
        if day in self.exceptions:
            opens, closes = self.exceptions[day]
            return "business_hours" if opens <= minute < closes else (
                "weekend" if day.weekday() >= 5 else "weeknight")
        if day in self.calendar:
            return "holiday"
        if day.weekday() >= 5:
            return "weekend"
        return "business_hours" if self.opens <= minute < self.closes else "weeknight"


US = holidays.country_holidays("US", years=range(2026, 2028), observed=True)
US_CA = holidays.country_holidays("US", subdiv="CA", years=range(2026, 2028), observed=True)
CENTRAL_2026 = Version("2026.1", CHICAGO, 7 * 60, 19 * 60, US, {}, dict.fromkeys(
    ("weeknight", "weekend", "holiday"), Decimal("200")), None, None)
CENTRAL_2027 = Version("2027.1", CHICAGO, 8 * 60, 19 * 60, US, {}, dict.fromkeys(
    ("weeknight", "weekend", "holiday"), Decimal("225")), None, None)
PREMIUM = Version("2026.1", LOS_ANGELES, 9 * 60, 18 * 60, US_CA, {date(2026, 12, 24): (9 * 60, 12 * 60)},
                  {"weeknight": Decimal("270"), "weekend": Decimal("360"), "holiday": Decimal("450")}, 60, 15)


def central(local_day: date) -> Version:
    return CENTRAL_2027 if local_day >= date(2027, 1, 1) else CENTRAL_2026


@dataclass(frozen=True)
class Log:
    premium: bool
    received_at: datetime
    entries: tuple  # (start, end) in UTC, minute-aligned
    notice: tuple | None  # (given_at, response)
    designated: bool
    free: bool  # an emergency (central-standard) or severity 1-2 (premium)

    def body(self) -> dict:
        zone = LOS_ANGELES if self.premium else CHICAGO
        text = lambda instant: instant.astimezone(zone).isoformat()  # noqa: E731
        if self.premium:
            request = {"customer": "harbor-county", "attributes": {"severity": 1 if self.free else 3},
                       "requester": {"email": "cio@harbor-county.gov" if self.designated else OTHER},
                       "category": "question"}
        else:
            request = {"customer": "demo-city", "requester": {"email": DESIGNATED if self.designated else OTHER},
                       "category": "website_down" if self.free else "usage_question"}
        request.update(received_at=text(self.received_at), channel="phone")
        notice = None if self.notice is None else {"given_at": text(self.notice[0]), "response": self.notice[1]}
        return {"request": request, "notice": notice,
                "entries": [{"entry_id": f"e{n}", "start": text(s), "end": text(e)}
                            for n, (s, e) in enumerate(self.entries)]}


def generated(rng: random.Random, premium: bool) -> Log:
    day = rng.choice(DAYS)
    zone = LOS_ANGELES if premium else CHICAGO
    received = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(timezone.utc) + timedelta(
        minutes=rng.randrange(-6 * 60, 26 * 60))
    entries, at = [], received + timedelta(minutes=rng.randrange(0, 120))
    for _ in range(rng.randint(1, 3)):
        end = at + timedelta(minutes=rng.randint(1, 300))
        entries.append((at, end))
        at = end + timedelta(minutes=rng.choice([0, 0, 5, 60, 400]))
    roll = rng.random()
    last = entries[-1][1]
    given = received + timedelta(minutes=rng.randrange(0, int((last - received) / MINUTE) + 1))
    notice = None if roll < 0.1 else (given, "declined" if roll < 0.2 else "accepted")
    return Log(premium, received, tuple(entries), notice, rng.random() < 0.85, rng.random() < 0.1)


def brute_force(log: Log) -> dict:
    """(version, period) -> (billed minutes, amount) of the charged lines, minute by minute."""
    minutes, added = {}, {}
    for start, end in log.entries:
        charged, last, version = 0, None, None
        at = start
        while at < end:
            zone = LOS_ANGELES if log.premium else CHICAGO
            local = at.astimezone(zone)
            version = PREMIUM if log.premium else central(local.date())
            period = version.period(local)
            billable = log.designated and not log.free and period != "business_hours"
            noticed = log.notice is not None and log.notice[1] == "accepted" and at >= log.notice[0]
            if billable and noticed:
                key = (version.name, period)
                minutes[key] = minutes.get(key, 0) + 1
                charged, last = charged + 1, (key, version)
            at += MINUTE
        if last is not None:
            key, version = last
            billed = max(charged, version.minimum or 0)
            if version.increment:
                billed = -(-billed // version.increment) * version.increment
            added[key] = added.get(key, 0) + billed - charged
    rate = lambda key: (PREMIUM if log.premium else CENTRAL_2027 if key[0] == "2027.1" else CENTRAL_2026  # noqa: E731
                        ).rates[key[1]]
    return {key: (count + added.get(key, 0),
                  (rate(key) * (count + added.get(key, 0)) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP))
            for key, count in minutes.items()}


def engine(policy_set, log: Log) -> tuple[dict, Decimal]:
    charge = price_work(policy_set, log.body(), NOW)
    lines = {}
    for line in charge.lines:
        if line.charged:
            key = (line.policy.version, line.period)
            assert key not in lines, f"two charged lines for {key}"
            lines[key] = (int(line.billed_minutes.to_integral_value(ROUND_CEILING)), line.amount.amount)
    return lines, charge.total.amount


@pytest.fixture(scope="module")
def policy_set(tmp_path_factory):
    folder = with_plan_2027(tmp_path_factory.mktemp("charges"), suites=False)
    return load_policy_set(folder / "policies", folder / "rules")


def _check(policy_set, count: int, seed: int) -> int:
    rng, charged = random.Random(seed), 0
    for n in range(count):
        log = generated(rng, premium=n % 2 == 1)
        expected = brute_force(log)
        lines, total = engine(policy_set, log)
        assert lines == expected, (n, log.body())
        assert total == sum((amount for _, amount in expected.values()), Decimal(0)), (n, log.body())
        charged += bool(expected)
    return charged


def test_a_few_hundred_work_logs_are_priced_as_the_minute_by_minute_count_says(policy_set):
    charged = _check(policy_set, 300, seed=18)
    assert charged > 50  # the logs exercise the charging, not only the exemptions


@pytest.mark.slow
def test_thousands_of_work_logs_are_priced_as_the_minute_by_minute_count_says(policy_set):
    charged = _check(policy_set, 3000, seed=2026)
    assert charged > 600


def test_work_across_a_plan_version_s_first_day_is_priced_by_each_version_on_its_own_line(policy_set):
    body = {"request": {"customer": "demo-city", "received_at": "2026-12-31T23:00:00-06:00", "channel": "phone",
                        "requester": {"email": DESIGNATED}, "category": "usage_question"},
            "notice": {"given_at": "2026-12-31T23:05:00-06:00", "response": "accepted"},
            "entries": [{"entry_id": "w-1", "start": "2026-12-31T23:30:00-06:00", "end": "2027-01-01T00:30:00-06:00"}]}
    charge = price_work(policy_set, body, NOW)
    assert [(line.policy.version, line.period, str(line.rate.amount), str(line.amount.amount)) for line in charge.lines
            ] == [("2026.1", "weeknight", "200.00", "100.00"), ("2027.1", "holiday", "225.00", "112.50")]
    assert str(charge.total.amount) == "212.50"
