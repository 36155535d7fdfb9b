"""Checking a plan's terms: its schedule's zone, hours and holiday calendar.

The same checks run on a customer's terms, the plan with the customer's
overrides applied (customers.py), so an override cannot make them invalid.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_calendars

from supportpolicy.engine.calendar import minutes
from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.files import Document
from supportpolicy.engine.load.yamlsource import Source
from supportpolicy.engine.model import Plan, Terms
from supportpolicy.engine.vocabulary import DAYS


def check_terms(source: Source, data: dict, at: str = "$") -> list[PolicyError]:
    """Meaning checks on plan terms (a plan file, or a customer's merged terms)."""
    errors = []
    schedule = data["schedule"]
    where = f"{at}.schedule"
    try:
        ZoneInfo(schedule["time_zone"])
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(source.error(f"{where}.time_zone", "unknown_time_zone",
                                   f"{schedule['time_zone']!r} is not an IANA time zone; use e.g. America/Chicago"))
    any_opening = False
    for day in DAYS:
        openings = schedule["hours"].get(day, [])
        spans = []
        for i, opening in enumerate(openings):
            start, end = minutes(opening["from"]), minutes(opening["to"])
            path = f"{where}.hours.{day}[{i}]"
            if start >= end:
                errors.append(source.error(path, "invalid_hours",
                                           f"opening {opening['from']}-{opening['to']} closes before it opens; "
                                           "'from' must be earlier than 'to' (use 24:00 for midnight)"))
                continue
            spans.append((start, end, path))
            any_opening = True
        spans.sort()
        for (s1, e1, _), (s2, e2, path) in zip(spans, spans[1:]):
            if s2 < e1:
                errors.append(source.error(path, "overlapping_hours",
                                           f"this opening overlaps another one on {day}; merge them"))
    if not any_opening:
        errors.append(source.error(f"{where}.hours", "no_support_hours",
                                   "the schedule has no opening on any day; deadlines could never be met"))
    errors.extend(_check_holidays(source, schedule["holidays"], f"{where}.holidays"))
    return errors


def _check_holidays(source: Source, spec: dict, where: str) -> list[PolicyError]:
    errors = []
    country, subdivision = spec.get("country"), spec.get("subdivision")
    supported = holiday_calendars.list_supported_countries()
    if country is not None and country not in supported:
        errors.append(source.error(f"{where}.country", "unknown_holiday_calendar",
                                   f"the holidays package has no calendar for {country!r}"))
    elif country is not None and subdivision is not None and subdivision not in supported[country]:
        errors.append(source.error(f"{where}.subdivision", "unknown_holiday_calendar",
                                   f"{country} has no subdivision {subdivision!r} in the holidays package"))
    elif country is None and subdivision is not None:
        errors.append(source.error(f"{where}.subdivision", "unknown_holiday_calendar",
                                   "a subdivision needs a country"))
    seen = {}
    for i, added in enumerate(spec.get("add", [])):
        if added["date"] in seen:
            errors.append(source.error(f"{where}.add[{i}].date", "duplicate_holiday",
                                       f"{added['date']} is already added above; keep one"))
        seen[added["date"]] = i
    return errors


def build_plan(doc: Document) -> tuple[Plan | None, list[PolicyError]]:
    errors = check_terms(doc.source, doc.source.data)
    if errors:
        return None, errors
    return Plan(doc.policy_file(), doc.source.data, Terms.from_data(doc.source.data), doc.source.positions), []
