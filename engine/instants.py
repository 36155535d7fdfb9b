"""Instants and dates as the API and policy suites write them: RFC 3339, read in one place.

The patterns admit RFC 3339 (section 5.6) only, and only days the calendar
has (no 02-30; 02-29 in leap years only): ``datetime.fromisoformat`` alone
also reads week dates, basic forms and times without an offset. The request
schema's ``received_at`` pattern and the OpenAPI document's parameters are
these same patterns, so what a document calls valid is what is read here.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone

# The years the policy calendar reckons in (a request's received_at, a customer's `at`).
FIRST_YEAR, LAST_YEAR = 2000, 2199

_MONTH_DAY = ("(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
              "|02-(?:0[1-9]|1[0-9]|2[0-8]))")
_TIME = ("[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?"
         "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])")


def _full_date(years: str, leap_years: str) -> str:
    return f"(?:{years}-{_MONTH_DAY}|{leap_years}-02-29)"


# Any year datetime holds (0001-9999): for searching the decision log.
_ANY_DATE = _full_date("(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)",
                       "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][48]|[13579][26]|[2468]0)00)")
# FIRST_YEAR to LAST_YEAR.
_POLICY_DATE = _full_date("2[01][0-9]{2}", "(?:2000|2[01](?:0[48]|[2468][048]|[13579][26]))")

INSTANT = f"^{_ANY_DATE}{_TIME}$"
POLICY_INSTANT = f"^{_POLICY_DATE}{_TIME}$"
ANY_DATE = f"^{_ANY_DATE}$"
POLICY_DATE = f"^{_POLICY_DATE}$"


def parse_instant(text: str, pattern: str = INSTANT) -> datetime | None:
    """The instant ``text`` names (RFC 3339, with an offset), or None when it is not one ``pattern`` admits."""
    if not isinstance(text, str) or not re.fullmatch(pattern, text):
        return None
    # RFC 3339 allows a space or t for the T, and z for Z; fromisoformat reads the upper-case T form.
    return datetime.fromisoformat(text.upper().replace(" ", "T"))


def parse_date(text: str, pattern: str = POLICY_DATE) -> date | None:
    """The date ``text`` names (YYYY-MM-DD), or None when it is not one ``pattern`` admits."""
    if not isinstance(text, str) or not re.fullmatch(pattern, text):
        return None
    return date.fromisoformat(text)


def parse_instant_or_date(text: str) -> datetime | None:
    """An instant (RFC 3339, any year), or a date read as its first instant in UTC; None when it is neither."""
    day = parse_date(text, ANY_DATE)
    if day is not None:
        return datetime.combine(day, time(0), tzinfo=timezone.utc)
    return parse_instant(text, INSTANT)
