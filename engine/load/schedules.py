"""Checking a schedule: its zone, its weekly hours and spans, its holiday calendar and its dated exceptions."""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_calendars

from supportpolicy.engine.calendar import DAY, minutes, span_minutes, weekly_openings
from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.yamlsource import Source
from supportpolicy.engine.vocabulary import DAYS

MAX_EXCEPTION_DAYS = 366  # in one range of an exception


def schedule_errors(source: Source, schedule: dict, where: str) -> list[PolicyError]:
    """Every problem of one schedule (``where``: its JSON path)."""
    errors = _zone_errors(source, schedule, where)
    if schedule.get("open") == "always":
        return errors + [source.error(f"{where}.{key}", "conflicting_hours",
                                      f"a schedule that is open always has no {key}; remove them, or `open`")
                         for key in ("hours", "spans", "holidays", "exceptions") if key in schedule]
    errors += _hours_errors(source, schedule, where)
    errors += _holiday_errors(source, schedule.get("holidays", {}), f"{where}.holidays")
    errors += _exception_errors(source, schedule.get("exceptions", []), f"{where}.exceptions")
    return errors


def _zone_errors(source: Source, schedule: dict, where: str) -> list[PolicyError]:
    zone = schedule["time_zone"]
    if zone == "customer":
        return []
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return [source.error(f"{where}.time_zone", "unknown_time_zone",
                             f"{zone!r} is not an IANA time zone; use e.g. America/Chicago, or customer for the "
                             "zone each customer's contract gives")]
    return []


def _hours_errors(source: Source, schedule: dict, where: str) -> list[PolicyError]:
    errors, written = [], []  # (day, start, end, path) of every opening, in minutes of its day
    for day in DAYS:
        for i, opening in enumerate(schedule.get("hours", {}).get(day, [])):
            start, end = minutes(opening["from"]), minutes(opening["to"])
            path = f"{where}.hours.{day}[{i}]"
            if start >= end:
                errors.append(source.error(path, "invalid_hours",
                                           f"opening {opening['from']}-{opening['to']} closes before it opens; "
                                           "'from' must be earlier than 'to' (use 24:00 for midnight, and `spans` "
                                           "for hours that run past midnight)"))
                continue
            written.append((DAYS.index(day), start, end, path))
    for i, span in enumerate(schedule.get("spans", [])):
        path = f"{where}.spans[{i}]"
        start, end = span_minutes(span["from"]), span_minutes(span["to"])
        if start == end:
            errors.append(source.error(path, "invalid_hours", "the span ends where it starts; for a whole week "
                                                              "write `open: always`"))
            continue
        week = weekly_openings(None, [(start, end)])
        written += [(day, s, e, path) for day, openings in enumerate(week) for s, e in openings]
    for first, second in _overlaps(written):
        errors.append(source.error(second[3], "overlapping_hours",
                                   f"this opening overlaps another one on {DAYS[second[0]]}; merge them"))
    if not written and not schedule.get("exceptions") and not errors:  # a refused opening would echo
        errors.append(source.error(f"{where}.hours" if "hours" in schedule else where, "no_support_hours",
                                   "the schedule has no opening on any day; deadlines could never be met"))
    return errors


def _overlaps(written: list) -> list:
    found = []
    for day in range(7):
        openings = sorted(o for o in written if o[0] == day)
        found += [(a, b) for a, b in zip(openings, openings[1:]) if b[1] < a[2]]
    return found


def _holiday_errors(source: Source, spec: dict, where: str) -> list[PolicyError]:
    errors = []
    country, subdivision = spec.get("country"), spec.get("subdivision")
    supported = holiday_calendars.list_supported_countries()
    if country is not None and country not in supported:
        errors.append(source.error(f"{where}.country", "unknown_holiday_calendar",
                                   f"the holidays package has no calendar for {country!r}"))
    elif country is not None and subdivision is not None and subdivision not in supported[country]:
        errors.append(source.error(f"{where}.subdivision", "unknown_holiday_calendar",
                                   f"{country} has no subdivision {subdivision!r} in the holidays package; it "
                                   f"has: {', '.join(supported[country][:20])}"
                                   + (" ..." if len(supported[country]) > 20 else "")))
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


def _exception_errors(source: Source, exceptions: list, where: str) -> list[PolicyError]:
    errors, seen = [], {}
    for i, entry in enumerate(exceptions):
        path = f"{where}[{i}]"
        problem = _exception_shape(entry)
        if problem:
            errors.append(source.error(path, "invalid_exception", problem))
            continue
        first = date.fromisoformat(entry.get("date") or entry["from"])
        last = date.fromisoformat(entry.get("date") or entry["to"])
        if last < first or (last - first).days >= MAX_EXCEPTION_DAYS:
            errors.append(source.error(path, "invalid_exception",
                                       f"the range must run forward and hold at most {MAX_EXCEPTION_DAYS} days"))
            continue
        for j, opening in enumerate(entry.get("hours", [])):
            if minutes(opening["from"]) >= minutes(opening["to"]) or minutes(opening["to"]) > DAY:
                errors.append(source.error(f"{path}.hours[{j}]", "invalid_hours",
                                           f"opening {opening['from']}-{opening['to']} closes before it opens"))
        for day in range((last - first).days + 1):
            key = date.fromordinal(first.toordinal() + day)
            if key in seen:
                errors.append(source.error(path, "duplicate_exception",
                                           f"{key} already has an exception above (item {seen[key]}); keep one"))
                break
            seen[key] = i
    return errors


def _exception_shape(entry: dict) -> str | None:
    if ("date" in entry) == ("from" in entry or "to" in entry) or (("from" in entry) != ("to" in entry)):
        return "give a date, or a range with from and to"
    if ("closed" in entry) == ("hours" in entry):
        return "say closed: true, or give the hours of those dates"
    return None
