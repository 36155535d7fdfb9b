"""From a request and the customer's terms to the facts the rules are written over.

``derive`` computes, for one request, each fact the vocabulary names
(vocabulary.FACTS), and what the decision reports beside them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from supportpolicy.engine.decide.request import DecisionRequest
from supportpolicy.engine.errors import FieldError, InvalidRequest, OutsideHolidayCalendar
from supportpolicy.engine.model import Customer, Terms, comparable_email
from supportpolicy.engine.vocabulary import DAYS, FACTS


@dataclass(frozen=True)
class Facts:
    received_at: datetime
    local_time: datetime
    holiday: str | None
    in_business_hours: bool
    on_holiday: bool
    day_of_week: str
    emergency: bool
    designated_contact: bool
    may_use_emergency_support: bool
    channel: str
    category: str

    def for_rules(self) -> dict:
        """The values ``when`` conditions see, one per name in FACTS."""
        return {name: getattr(self, name) for name in FACTS}


def derive(request: DecisionRequest, customer: Customer, terms: Terms) -> Facts:
    errors = []
    if request.channel not in terms.channels:
        errors.append(FieldError("/channel", f"is not a channel of {customer.file.id}'s contract; "
                                             f"use one of: {', '.join(terms.channels)}"))
    if request.category not in terms.categories:
        errors.append(FieldError("/category", f"is not a category of {customer.file.id}'s contract; "
                                              f"use one of: {', '.join(terms.categories)}"))
    if errors:
        raise InvalidRequest("the request names a channel or category the contract does not define", errors)

    schedule = terms.schedule
    local_time = schedule.local(request.received_at)
    try:
        holiday = schedule.holidays.name(local_time.date())
        in_business_hours = schedule.is_open(request.received_at)
    except OutsideHolidayCalendar as error:
        raise error.naming("/received_at") from None
    designated = comparable_email(request.requester_email) in customer.designated_contacts
    return Facts(
        received_at=request.received_at,
        local_time=local_time,
        holiday=holiday,
        in_business_hours=in_business_hours,
        on_holiday=holiday is not None,
        day_of_week=DAYS[local_time.weekday()],
        emergency=terms.categories[request.category].emergency,
        designated_contact=designated,
        may_use_emergency_support=designated or terms.emergency_available_to == "any_requester",
        channel=request.channel,
        category=request.category,
    )
