"""Who is covered when: a customer's support hours, holidays and emergency-only periods, by local day.

This is the contract as a calendar, for people (the policy explorer draws it).
Each local day uses the contract and plan versions in effect on that day, so a
week that spans a new version shows each day as it will be decided.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from supportpolicy.engine.calendar import SUPPORT_SCHEDULE, NoOpening
from supportpolicy.engine.errors import NoPolicyInEffect, OutsideHolidayCalendar, UnknownCustomer
from supportpolicy.engine.model import Contract, in_effect
from supportpolicy.engine.tools.words import legend, schedule_label, target_words

DAYS_SHOWN = 7
UPCOMING_HOLIDAYS = 5
HOLIDAY_LOOKAHEAD_DAYS = 366


@dataclass(frozen=True)
class Period:
    """A stretch of time and how requests made in it are covered."""

    starts: datetime
    ends: datetime
    # "support_hours": the support team is on duty; "emergency_only": only 24/7
    # emergency support; "no_contract": no contract version is in effect yet.
    coverage: str

    def as_json(self) -> dict:
        return {"from": self.starts.isoformat(), "to": self.ends.isoformat(), "coverage": self.coverage}


@dataclass(frozen=True)
class Day:
    day: date
    starts: datetime  # local midnight, as an instant in the schedule's zone
    holiday: str | None
    contract: Contract | None  # the versions in effect that day, or None before the first
    periods: tuple
    rulesets: tuple = ()  # the PolicyFiles of the rule sets in effect that day

    @property
    def files(self) -> tuple:
        """Every file in effect that day: the customer's, the plan's, the rule sets'."""
        contract = self.contract
        return () if contract is None else (contract.customer.file, contract.plan.file, *self.rulesets)

    @property
    def versions(self) -> dict | None:
        contract = self.contract
        if contract is None:
            return None
        return {"contract": contract.customer.file.version,
                "plan": {"id": contract.plan.file.id, "version": contract.plan.file.version},
                "rulesets": [{"id": f.id, "version": f.version} for f in self.rulesets]}

    def as_json(self) -> dict:
        versions = self.versions or {"contract": None, "plan": None, "rulesets": []}
        return {
            "date": self.day.isoformat(),
            "weekday": self.starts.strftime("%A").lower(),
            "holiday": self.holiday,
            **versions,
            # The versions that take effect this day (at local midnight): a new contract, plan or rule set.
            "takes_effect": [{"kind": f.kind, "id": f.id, "version": f.version, "path": f.path}
                             for f in self.files if f.effective_from == self.day],
            "periods": [p.as_json() for p in self.periods],
        }


def versions_in(days) -> list:
    """The versions in effect over the days shown, each run of days under the same ones once."""
    runs = []
    for day in days:
        versions = day.versions
        if versions is None:
            continue
        if runs and runs[-1]["versions"] == versions:
            runs[-1]["to"] = day.day.isoformat()
        else:
            runs.append({"from": day.day.isoformat(), "to": day.day.isoformat(), "versions": versions})
    return [{"from": r["from"], "to": r["to"], **r["versions"]} for r in runs]


@dataclass(frozen=True)
class CoverageWeek:
    customer: str
    name: str | None
    time_zone: str
    days: tuple
    upcoming_holidays: tuple  # (date, name, the holiday's own date) from the first day shown on
    first: Contract | None  # the contract in effect on the first day with one, or None

    @property
    def terms(self):
        return None if self.first is None else self.first.terms

    def as_json(self) -> dict:
        terms, first = self.terms, self.first
        labels = {} if first is None else dict(first.plan.data.get("labels", {}))
        return {
            "customer": self.customer,
            "name": self.name,
            "time_zone": self.time_zone,
            "customer_time_zone": first is not None and _kept_in_customer_zone(first, "schedule"),
            "schedule_description": None if first is None else first.plan.data["schedule"].get("description"),
            "from": self.days[0].starts.isoformat(),
            "to": self.days[-1].periods[-1].ends.isoformat(),
            "versions": versions_in(self.days),
            "days": [d.as_json() for d in self.days],
            "upcoming_holidays": [{"date": d.isoformat(), "name": n, "actual_date": a.isoformat()}
                                  for d, n, a in self.upcoming_holidays],
            "emergency_support": None if terms is None else {
                "available_to": terms.emergency_available_to,
                "response_target": terms.emergency_response_target.as_json(),
                "response_target_words": target_words(terms.emergency_response_target)},
            "after_hours": None if terms is None else {
                "rate": terms.after_hours_rate.as_json(), "notice_required": terms.notice_required},
            "legend": legend(terms, labels),
            "labels": labels,
            "schedules": self.other_schedules(),
        }

    def other_schedules(self) -> dict:
        """The plan's other schedules over the same week: when each is open, in its own zone."""
        if self.first is None:
            return {}
        start, end = self.days[0].starts, self.days[-1].periods[-1].ends
        written = self.first.plan.data.get("schedules", {})
        return {name: {"time_zone": schedule.zone.key,
                       "customer_time_zone": _kept_in_customer_zone(self.first, name),
                       "label": schedule_label(name),
                       "description": written.get(name, {}).get("description"),
                       "open": [{"from": a.astimezone(schedule.zone).isoformat(),
                                 "to": b.astimezone(schedule.zone).isoformat()}
                                for a, b in _open(schedule, start, end)]}
                for name, schedule in self.terms.schedules.items() if name != SUPPORT_SCHEDULE}


def _kept_in_customer_zone(contract: Contract, name: str) -> bool:
    """Whether the plan keeps this schedule in each customer's own time zone (``time_zone: customer``)."""
    data = contract.plan.data
    written = data["schedule"] if name == "schedule" else data.get("schedules", {}).get(name, {})
    return written.get("time_zone") == "customer"


def _open(schedule, start: datetime, end: datetime) -> list:
    """The schedule's open stretches between two instants, those that meet at midnight joined."""
    stretches = []
    try:
        for opens, closes in schedule.openings(start):
            if opens >= end:
                break
            opens, closes = max(opens, start), min(closes, end)
            if stretches and stretches[-1][1] == opens:
                stretches[-1][1] = closes
            else:
                stretches.append([opens, closes])
    except NoOpening:
        pass
    return stretches


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def coverage_week(policy_set, customer_id: str, day: date | None = None) -> CoverageWeek:
    """The customer's coverage for the week (Monday to Sunday, in the schedule's zone) holding ``day``,
    by default today there; the upcoming holidays stop where the holiday calendar's data does."""
    if customer_id not in policy_set.customers:
        raise UnknownCustomer(customer_id)
    zone = policy_set.time_zone(customer_id)
    first = week_of(day or datetime.now(zone).date())
    try:
        shown = tuple(_day(policy_set, customer_id, first + timedelta(days=n), zone) for n in range(DAYS_SHOWN))
    except OutsideHolidayCalendar as error:
        raise error.naming("week_of", "parameter") from None
    contracted = [d.contract for d in shown if d.contract is not None]
    named = [c.customer for c in contracted] or policy_set.customers[customer_id][:1]
    return CoverageWeek(customer_id, named[-1].name, zone.key, shown,
                        _upcoming_holidays(policy_set, customer_id, first, zone),
                        contracted[0] if contracted else None)


def _midnight(day: date, zone) -> datetime:
    # Through UTC and back, so a midnight in a daylight-saving gap is still one instant.
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(zone)


def _contract(policy_set, customer_id: str, at: datetime) -> Contract | None:
    try:
        return policy_set.contract(customer_id, at)
    except NoPolicyInEffect:
        return None


def _day(policy_set, customer_id: str, day: date, zone) -> Day:
    starts, ends = _midnight(day, zone), _midnight(day + timedelta(days=1), zone)
    contract = _contract(policy_set, customer_id, starts)
    if contract is None:
        return Day(day, starts, None, None, (Period(starts, ends, "no_contract"),))
    bundle = in_effect(policy_set.bundles[contract.plan.file.id], day, key=lambda b: b.effective_from)
    rulesets = () if bundle is None else tuple(r.file for r in bundle.rulesets)
    schedule = contract.terms.schedule
    periods, cursor = [], starts
    for opens, closes in schedule.day(day):
        opens, closes = opens.astimezone(zone), closes.astimezone(zone)
        if opens > cursor:
            periods.append(Period(cursor, opens, "emergency_only"))
        periods.append(Period(opens, min(closes, ends), "support_hours"))
        cursor = min(closes, ends)
    if cursor < ends:
        periods.append(Period(cursor, ends, "emergency_only"))
    return Day(day, starts, schedule.closure(day), contract, tuple(periods), rulesets)


def _upcoming_holidays(policy_set, customer_id: str, first: date, zone) -> tuple:
    """(date closed, name, the holiday's own date): a holiday observed on another day than its own (Juneteenth
    on a Saturday, closed the Friday before) is listed once, under its name, on the day support closes."""
    found = []
    for n in range(HOLIDAY_LOOKAHEAD_DAYS):
        day = first + timedelta(days=n)
        contract = _contract(policy_set, customer_id, _midnight(day, zone))
        try:
            name = contract and contract.terms.schedule.holidays.name(day)
        except OutsideHolidayCalendar:
            break  # the calendar's data ends: what follows is not known, so it is not listed
        if name:
            found.append((day, name))
            if len(_merged(found)) > UPCOMING_HOLIDAYS:
                break
    return tuple(_merged(found)[:UPCOMING_HOLIDAYS])


OBSERVED = " (observed)"  # how the holidays package names a holiday's observed day
OBSERVED_WITHIN_DAYS = 3  # a holiday is observed on a nearby day (the Friday before, the Monday after)


def _merged(found: list) -> list:
    """The holidays found, each observed day and its holiday's own date as one (closed, name, own date)."""
    merged = []
    for day, name in found:
        observed = name.endswith(OBSERVED)
        plain = name[:-len(OBSERVED)] if observed else name
        partner = plain if observed else plain + OBSERVED
        match = next((m for m in merged if m[1] == partner and m[0] == m[2]
                      and abs((day - m[0]).days) <= OBSERVED_WITHIN_DAYS), None)
        if match is None:
            merged.append([day, name, day])
        elif observed:
            match[:] = [day, plain, match[2]]  # closed on the observed day; the holiday's own date kept
        else:
            match[:] = [match[0], plain, day]
    return [tuple(m) for m in merged]
