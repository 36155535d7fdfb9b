"""From a request and the customer's terms to the facts the rules are written over.

``derive`` computes, for one request, each fact the vocabulary names
(vocabulary.FACTS), and what the decision reports beside them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Mapping

from supportpolicy.engine.calendar import SUPPORT_SCHEDULE, utc
from supportpolicy.engine.decide.request import DecisionRequest, pointer
from supportpolicy.engine.errors import FieldError, InvalidRequest, OutsideHolidayCalendar
from supportpolicy.engine.model import Customer, comparable_email
from supportpolicy.engine.terms import Terms
from supportpolicy.engine.vocabulary import DAYS, FACTS, WEEKEND


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
    period: str = "business_hours"
    # The plan's request attributes (defaults applied), and whether each of its other schedules is open.
    attributes: Mapping = field(default_factory=lambda: MappingProxyType({}))
    open: Mapping = field(default_factory=lambda: MappingProxyType({}))

    def for_rules(self) -> dict:
        """The values ``when`` conditions see: the built-in facts, the attributes, and open_<schedule>."""
        facts = {name: getattr(self, name) for name in FACTS}
        facts.update(self.attributes)
        facts.update((f"open_{name}", value) for name, value in self.open.items())
        return facts


def derive(request: DecisionRequest, customer: Customer, terms: Terms,
           designated_contact: bool | None = None) -> Facts:
    """The facts of one request. ``designated_contact``, when given, is the requester's status as a decision
    log recorded it (its e-mail kept only as a keyed hash), in place of comparing the e-mail."""
    errors = []
    if request.channel not in terms.channels:
        errors.append(FieldError("/channel", f"is not a channel of {customer.file.id}'s contract; "
                                             f"use one of: {', '.join(terms.channels)}"))
    if request.category not in terms.categories:
        errors.append(FieldError("/category", f"is not a category of {customer.file.id}'s contract; "
                                              f"use one of: {', '.join(terms.categories)}"))
    if errors:
        raise InvalidRequest("the request names a channel or category the contract does not define", errors)

    attributes = attributes_of(request, customer, terms)
    schedule, at = terms.schedule, utc(request.received_at)
    local_time = schedule.local(at)
    try:
        holiday = schedule.closure(local_time.date())
        in_business_hours = schedule.is_open(at)
        open_ = {name: s.is_open(at) for name, s in terms.schedules.items()
                 if name != SUPPORT_SCHEDULE}
    except OutsideHolidayCalendar as error:
        raise error.naming("/received_at") from None
    designated = (comparable_email(request.requester_email) in customer.designated_contacts
                  if designated_contact is None else designated_contact)
    day = DAYS[local_time.weekday()]
    return Facts(
        received_at=request.received_at,
        local_time=local_time,
        holiday=holiday,
        in_business_hours=in_business_hours,
        on_holiday=holiday is not None,
        day_of_week=day,
        emergency=terms.categories[request.category].emergency,
        designated_contact=designated,
        may_use_emergency_support=designated or terms.emergency_available_to == "any_requester",
        channel=request.channel,
        category=request.category,
        period=("business_hours" if in_business_hours else "holiday" if holiday is not None
                else "weekend" if day in WEEKEND else "weeknight"),
        attributes=attributes,
        open=open_,
    )


def attributes_of(request: DecisionRequest, customer: Customer, terms: Terms) -> dict:
    """The request's attributes, checked against those the customer's plan declares, defaults applied."""
    errors, values = [], {}
    for name in request.attributes:
        if name not in terms.attributes:
            known = ", ".join(terms.attributes) or "none"
            errors.append(FieldError(pointer(("attributes", name)),
                                     f"is not an attribute of {customer.file.id}'s contract; its attributes are: "
                                     f"{known}"))
    for name, attribute in terms.attributes.items():
        if name not in request.attributes:
            if attribute.required:
                errors.append(FieldError(pointer(("attributes", name)),
                                         f"is required by {customer.file.id}'s contract"))
            values[name] = attribute.default
            continue
        problem = attribute.problem(request.attributes[name])
        if problem:
            errors.append(FieldError(pointer(("attributes", name)), problem))
        values[name] = request.attributes[name]
    if errors:
        raise InvalidRequest("the request's attributes do not fit the contract", errors)
    return values
