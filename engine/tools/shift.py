"""Requests replayed later: each moved by whole weeks to fall on or after a date, at the same local time.

A change that takes effect after every recorded request reaches none of them;
replayed in the new version's period they show what it will change. A request
is moved by the fewest whole weeks that bring its local date (in the zone of the
customer's support hours) to the date or later, so it keeps its weekday and its
local time, across daylight-saving changes: Saturday 22:30 CST stays Saturday
22:30, in CDT if the new date is in summer. A wall time that does not exist on
the new date (in the hour skipped when clocks go forward) is the instant that
follows the gap, as the schedule reads it. A request already on or after the
date, one whose customer or received_at cannot be read, is replayed as it is
(and decided, or refused, as it would be).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from supportpolicy.engine.instants import POLICY_INSTANT, parse_instant
from supportpolicy.engine.tools.masked import MaskedRequest


def later(received_at: datetime, zone, on_or_after: date) -> datetime | None:
    """``received_at`` moved by whole weeks to ``on_or_after`` or later, local time kept; None if already there."""
    local = received_at.astimezone(zone)
    if local.date() >= on_or_after:
        return None
    weeks = -(-(on_or_after - local.date()).days // 7)
    moved = datetime.combine(local.date() + timedelta(weeks=weeks), local.time(), tzinfo=zone)
    return moved.astimezone(timezone.utc).astimezone(zone)  # through UTC: a wall time in a gap is one instant


def shift_requests(requests, policy_set, on_or_after: date):
    """The requests (where, body, problem) with each one received before ``on_or_after`` moved to it or later;
    a moved one's ``where`` keeps the time it was received at as ``shifted_from``."""
    for where, body, problem in requests:
        request = body.kept if isinstance(body, MaskedRequest) else body
        moved = None if problem else _moved(request, policy_set, on_or_after)
        if moved is None:
            yield where, body, problem
        else:
            yield dict(where, shifted_from=request["received_at"]), _received_at(body, moved.isoformat()), None


def _received_at(body, received_at: str):
    # A masked log record stays one, with the designated-contact status it recorded.
    if isinstance(body, MaskedRequest):
        return MaskedRequest(dict(body.kept, received_at=received_at), body.designated_contact)
    return dict(body, received_at=received_at)


def _moved(body: dict, policy_set, on_or_after: date) -> datetime | None:
    customer, received_at = body.get("customer"), parse_instant(body.get("received_at"), POLICY_INSTANT)
    if received_at is None or not isinstance(customer, str) or customer not in policy_set.customers:
        return None
    return later(received_at, policy_set.time_zone(customer), on_or_after)
