"""A charge request: checked against its JSON Schema, then made values, its entries checked together.

The decision request inside it is the decision stage's to check (its errors are
named under ``/request``); here the envelope, the notice and the work entries:
each entry's start before its end, no two overlapping, none before the ticket
was received or in the future, and a notice given no later than the work ended.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Mapping

from supportpolicy.engine.calendar import utc
from supportpolicy.engine.decide.request import Limits, check_limits, pointer
from supportpolicy.engine.errors import FieldError, InvalidRequest
from supportpolicy.engine.instants import POLICY_INSTANT, parse_instant
from supportpolicy.engine.load.schemas import validator_for
from supportpolicy.engine.terms import Money

SCHEMA = "charge-request"
# The decision request keeps its own limits; the entries may be many (the schema allows 500), each small.
LIMITS = Limits(depth=8, items=2000, nodes=20_000)
ACCEPTED, DECLINED = "accepted", "declined"


@dataclass(frozen=True)
class WorkEntry:
    """One interval of work on the ticket (instants in UTC)."""

    index: int  # its place in the request's entries
    entry_id: str
    start: datetime
    end: datetime
    by: str | None = None
    note: str | None = None
    rate: Money | None = None  # the hourly rate the caller's tool charged it at, when it says

    @property
    def pointer(self) -> str:
        return f"/entries/{self.index}"


@dataclass(frozen=True)
class Notice:
    """When the customer was told the work would be charged, and whether they accepted."""

    given_at: datetime
    response: str  # ACCEPTED or DECLINED

    @property
    def declined(self) -> bool:
        return self.response == DECLINED

    def as_json(self) -> dict:
        return {"given_at": self.given_at.isoformat(), "response": self.response}


@dataclass(frozen=True)
class ChargeRequest:
    request: Mapping  # the decision request, as sent
    notice: Notice | None
    entries: tuple  # WorkEntry, by start
    currency: str | None  # the currency the caller expects, when it says
    # minutes of the prepaid block other work has drawn already, by local month ("YYYY-MM")
    prepaid_used: Mapping = field(default_factory=lambda: MappingProxyType({}))


def parse_charge(body: object) -> ChargeRequest:
    """The charge request, or InvalidRequest naming each field at fault (the decision request's are found later)."""
    check_limits(body, limits=LIMITS)
    errors = _field_errors(body)
    if errors:
        names = sorted({e.pointer or "/" for e in errors})
        raise InvalidRequest(f"the charge request has {len(names)} invalid field{'s' if len(names) != 1 else ''}: "
                             f"{', '.join(names)}", sorted(set(errors), key=lambda e: e.pointer))
    notice = body.get("notice")
    entries = tuple(WorkEntry(i, e["entry_id"], _instant(e["start"]), _instant(e["end"]), e.get("by"), e.get("note"),
                              None if "rate" not in e else Money.from_data(e["rate"]))
                    for i, e in enumerate(body["entries"]))
    return ChargeRequest(body["request"],
                         None if notice is None else Notice(_instant(notice["given_at"]), notice["response"]),
                         tuple(sorted(entries, key=lambda e: (e.start, e.index))), body.get("currency"),
                         MappingProxyType(dict(body.get("prepaid_used", {}))))


def _instant(text: str) -> datetime:
    return utc(parse_instant(text, POLICY_INSTANT))


def _field_errors(body) -> list[FieldError]:
    if not isinstance(body, dict):
        return [FieldError("", "must be an object holding request and entries")]
    errors = []
    for error in validator_for(SCHEMA).iter_errors(body):
        path = list(error.absolute_path)
        if path[:1] != ["request"]:  # the decision stage explains the decision request's own errors
            errors.append(_explained(error, path))
    return errors


def _explained(error, path: list) -> FieldError:
    if error.validator == "required":
        missing = [p for p in error.validator_value if p not in error.instance]
        return FieldError(pointer(path + missing[:1]), "is required")
    if error.validator == "additionalProperties":
        known = error.schema.get("properties", {})
        extra = sorted(k for k in error.instance if k not in known)
        return FieldError(pointer(path + extra[:1]), f"is not a field here; the fields are: {', '.join(known)}")
    if error.validator == "pattern" and path and path[-1] == "currency":
        return FieldError(pointer(path), "must be an ISO 4217 currency code, e.g. USD")
    if error.validator == "pattern" and path and path[-1] == "amount":
        return FieldError(pointer(path), "must be a decimal amount as a string, e.g. \"200.00\"")
    if error.validator == "pattern":
        return FieldError(pointer(path), "must be an RFC 3339 date-time with an offset, from 2000 to 2199, e.g. "
                                         "2026-11-27T23:10:00-06:00")
    if error.validator == "oneOf" and path == ["notice"]:
        return FieldError("/notice", "must be null, or an object with given_at and response (accepted or declined)")
    message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
    return FieldError(pointer(path), message)


def entry_errors(charge: ChargeRequest, received_at: datetime, now: datetime) -> list[FieldError]:
    """What is wrong with the entries and the notice, together and against the ticket and the clock."""
    errors, previous, ids = [], None, {}
    for entry in charge.entries:
        if entry.end <= entry.start:
            errors.append(FieldError(f"{entry.pointer}/end", "is not after start; an entry ends after it begins"))
        if entry.start < received_at:
            errors.append(FieldError(f"{entry.pointer}/start", f"is before the ticket was received "
                                                              f"({received_at.isoformat()})"))
        if entry.end > now:
            errors.append(FieldError(f"{entry.pointer}/end", "is in the future; send only work already done"))
        if previous is not None and entry.start < previous.end:
            errors.append(FieldError(f"{entry.pointer}/start", f"overlaps {previous.pointer} (which ends "
                                                              f"{previous.end.isoformat()}); time is charged once"))
        if entry.entry_id in ids:
            errors.append(FieldError(f"{entry.pointer}/entry_id", f"is the entry_id of {ids[entry.entry_id]} too; "
                                                                 "each entry has its own"))
        ids.setdefault(entry.entry_id, entry.pointer)
        previous = entry if previous is None or entry.end > previous.end else previous
    last = max(e.end for e in charge.entries)
    if charge.notice is not None and charge.notice.given_at > last:
        errors.append(FieldError("/notice/given_at", f"is after the work ended ({last.isoformat()}); notice comes "
                                                     "before the work it covers"))
    return sorted(errors, key=lambda e: e.pointer)
