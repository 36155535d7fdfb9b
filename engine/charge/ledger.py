"""A tracked ticket's work, entry by entry: new entries checked against those stored, and the work priced
month by month, as statements bill it.

A ticket's work is billed in the local month each entry begins in (in the zone
of the support hours of the ticket's contract). The entries begun in one month
are priced together, as POST /v1/charges prices them (so a minimum or increment
``per: ticket`` applies to a ticket's month of work), and the charge is kept as
priced: a later change of the policy folders does not alter it. Work added to a
month prices that month again, with the policy in force then; a notice recorded
later prices every month of the ticket again (it decides what was charged).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Mapping
from zoneinfo import ZoneInfo

from supportpolicy.engine.charge.lines import Charge, Line
from supportpolicy.engine.charge.price import price_work
from supportpolicy.engine.charge.spans import CHARGED, NOT_BILLABLE, PREPAID
from supportpolicy.engine.charge.work import parse_charge
from supportpolicy.engine.decide.policyset import PolicySet
from supportpolicy.engine.errors import EngineError, FieldError, InvalidRequest

# Why a line of after-hours work was not billed, as a statement lists it: the line's reason, or, for a line the
# rules made not billable, what its facts were (an emergency of a contact entitled to emergency support, a
# request inside support hours), else not_billable (its rules say which).
EMERGENCY, INSIDE_SUPPORT_HOURS = "emergency", "inside_support_hours"
_ENTRY = re.compile(r"^/entries/(\d+)(.*)$", re.S)


@dataclass(frozen=True)
class Fresh:
    """An entry sent now and not stored before, with its place in the body that sent it."""

    index: int
    entry: dict  # as sent: entry_id, start, end, by, note


@dataclass(frozen=True)
class TicketWork:
    """A tracked ticket's work: its decision request (as the engine reads it), the notice record, the entries
    stored and those sent now."""

    request: Mapping
    designated_contact: bool | None  # as the log recorded it (None: the request's e-mail decides)
    notice: Mapping | None  # as sent or stored: given_at, response
    stored: tuple  # dict entries, as stored
    fresh: tuple  # Fresh
    currency: str | None = None  # the currency the caller expects
    notice_is_new: bool = False  # recorded now: every month is priced again


@dataclass(frozen=True)
class MonthCharge:
    """The charge of a ticket's work begun in one local month."""

    month: str  # YYYY-MM
    charge: Charge

    @property
    def prepaid_minutes(self) -> Decimal:
        """The minutes it draws from the prepaid block."""
        return sum((line.billed_minutes for line in self.charge.lines if line.reason == PREPAID), Decimal(0))

    def document(self, local) -> dict:
        """The charge as POST /v1/charges answers it, with its month and each line's ``unbilled`` reason (null
        for a charged line), as it is stored and statements read it."""
        document = self.charge.as_json(local)
        for line_document, line in zip(document["lines"], self.charge.lines):
            line_document["unbilled"] = unbilled_reason(line)
        return dict(document, month=self.month)


def unbilled_reason(line: Line) -> str | None:
    """None for a charged line; else why its work was not billed."""
    if line.reason == CHARGED:
        return None
    if line.reason != NOT_BILLABLE:
        return line.reason
    facts = line.spans[0].evaluation.decision.facts
    if facts.in_business_hours:
        return INSIDE_SUPPORT_HOURS
    if facts.emergency and facts.may_use_emergency_support:
        return EMERGENCY
    return NOT_BILLABLE


def month_of(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m")


def price_ticket_work(policy_set: PolicySet, work: TicketWork, now: datetime,
                      prepaid_used: Mapping | None = None) -> tuple[ZoneInfo, tuple]:
    """The zone of the ticket's months, and the MonthCharge of each month the work sent now (or a new notice)
    changes; InvalidRequest naming each field of the body at fault (/entries/<n> by its place in the body).
    ``prepaid_used``: minutes of the prepaid block the customer's other tickets drew, by local month."""
    origins = [f"/entries/{f.index}" for f in work.fresh] + [None] * len(work.stored)
    entries = [f.entry for f in work.fresh] + list(work.stored)
    body = _body(work, entries)
    parsed = _renamed(lambda: parse_charge(body), origins)
    errors = overlaps(parsed.entries, len(work.fresh), origins)
    if errors:
        raise InvalidRequest("the work overlaps work stored for the ticket", errors)
    whole = _renamed(lambda: price_work(policy_set, body, now, work.designated_contact, prepaid_used), origins)
    zone = ZoneInfo(whole.time_zone)
    months = sorted({month_of(e.start, zone) for e in parsed.entries
                     if work.notice_is_new or e.index < len(work.fresh)})
    all_months = {month_of(e.start, zone) for e in parsed.entries}
    if len(all_months) == 1:
        return zone, tuple(MonthCharge(month, whole) for month in months)
    priced = []
    for month in months:
        chosen = [e.index for e in parsed.entries if month_of(e.start, zone) == month]
        month_body = _body(work, [entries[i] for i in chosen])
        charge = _renamed(lambda: price_work(policy_set, month_body, now, work.designated_contact, prepaid_used),
                          [origins[i] for i in chosen])
        priced.append(MonthCharge(month, charge))
    return zone, tuple(priced)


def _body(work: TicketWork, entries: list) -> dict:
    body = {"request": dict(work.request), "entries": entries}
    if work.notice is not None:
        body["notice"] = dict(work.notice)
    if work.currency is not None:
        body["currency"] = work.currency
    return body


def overlaps(entries: tuple, fresh: int, origins: list) -> list[FieldError]:
    """Each entry sent now that overlaps one stored (``entries``: WorkEntry, those below ``fresh`` sent now)."""
    kept = [e for e in entries if e.index >= fresh]
    errors = []
    for entry in (e for e in entries if e.index < fresh):
        for other in kept:
            if entry.start < other.end and other.start < entry.end:
                errors.append(FieldError(f"{origins[entry.index]}/start", f"overlaps the stored entry "
                                         f"{other.entry_id!r} ({other.start.isoformat()} to {other.end.isoformat()});"
                                         " time is charged once"))
                break
    return errors


def _renamed(price, origins: list):
    """``price()``, its errors naming an entry by its place in the body sent (a stored one by its id)."""
    try:
        return price()
    except EngineError as error:
        error.errors = tuple(replace(e, pointer=_origin(e, origins), message=_said(e, origins))
                             for e in getattr(error, "errors", ()))
        raise


def _origin(error: FieldError, origins: list) -> str:
    found = _ENTRY.match(error.pointer)
    if found is None or int(found.group(1)) >= len(origins):
        return error.pointer
    origin = origins[int(found.group(1))]
    return "/entries" if origin is None else origin + found.group(2)


def _said(error: FieldError, origins: list) -> str:
    """The message, its pointers to entries of the priced body turned into those of the body sent."""
    def named(found):
        index = int(found.group(1))
        origin = origins[index] if index < len(origins) else None
        return "a stored entry" if origin is None else origin
    message = re.sub(r"/entries/(\d+)", named, error.message)
    found = _ENTRY.match(error.pointer)
    if found is not None and int(found.group(1)) < len(origins) and origins[int(found.group(1))] is None:
        return f"a stored entry's {found.group(2).lstrip('/') or 'entry'} {message}"
    return message
