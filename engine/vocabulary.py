"""The words of the policy language, each named once: decision fields, facts, named terms.

A rule's ``when`` tests facts, its ``then`` sets decision fields, and an
outcome may take a value from the customer's terms by naming one
(``{term: after_hours_rate}``). The loader checks policy files against these
tables, the deciding stage computes them, and the tools describe them; none
of them spells a name of its own.
"""
from __future__ import annotations

from dataclasses import dataclass

# The decision fields rules may set, in the order the decision contract lists them.
DECISION_FIELDS = ("emergency_support", "billable", "hourly_rate", "notice_required",
                   "respond_by", "route", "escalation")

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Where a response deadline is counted from (respond_by: {from: ...}).
DEADLINE_STARTS = ("received_at", "next_opening")


@dataclass(frozen=True)
class Fact:
    """A fact ``when`` conditions test: true or false, or one of a set of values."""

    name: str
    kind: str  # "boolean" or "choice"
    description: str
    choices: str | None = None  # where a choice fact's values come from: "channels", "categories", "days"


FACTS = {fact.name: fact for fact in (
    Fact("in_business_hours", "boolean", "received inside the support hours, holidays excluded"),
    Fact("on_holiday", "boolean", "received on a holiday of the schedule (local date)"),
    Fact("day_of_week", "choice", "the local day of the week, monday to sunday", "days"),
    Fact("emergency", "boolean", "the category is a true emergency under the plan"),
    Fact("designated_contact", "boolean", "the requester is one of the customer's designated contacts"),
    Fact("may_use_emergency_support", "boolean",
         "the requester may call on the 24/7 emergency service (see emergency_support.available_to)"),
    Fact("channel", "choice", "how the request arrived", "channels"),
    Fact("category", "choice", "what the request is about", "categories"),
)}


@dataclass(frozen=True)
class NamedTerm:
    """A term of the customer's contract that an outcome may name: ``{term: <name>}``.

    ``kind`` says which places of an outcome it may fill (see TERM_KIND_FOR).
    """

    name: str
    kind: str  # "money", "boolean", "response_target" or "escalation"
    description: str


NAMED_TERMS = {term.name: term for term in (
    NamedTerm("after_hours_rate", "money", "the after-hours hourly rate (after_hours.rate)"),
    NamedTerm("after_hours_notice_required", "boolean",
              "whether notice comes before a charge (after_hours.notice_required)"),
    NamedTerm("channel_response_target", "response_target",
              "the request's channel's target (channels.<channel>.response_target)"),
    NamedTerm("message_response_target", "response_target",
              "the target for messages left outside support hours (response_targets.message)"),
    NamedTerm("emergency_response_target", "response_target",
              "the emergency support's target (emergency_support.response_target)"),
    NamedTerm("category_escalation", "escalation",
              "the escalation of the request's category (categories.<category>.escalation)"),
)}

# Which kind of named term each place in an outcome accepts.
TERM_KIND_FOR = {
    "hourly_rate": "money",
    "notice_required": "boolean",
    "respond_by.within": "response_target",
    "escalation": "escalation",
}

# The sections of a plan that hold its terms (a customer may override any term in them).
TERM_SECTIONS = ("schedule", "channels", "response_targets", "categories", "emergency_support", "after_hours",
                 "included_services")

# Terms that are one value: an override replaces them whole rather than merging into them key by key.
_WHOLE_TERMS = tuple(pattern.split(".") for pattern in (
    "schedule.hours", "schedule.holidays.add", "schedule.holidays.remove", "response_targets.*",
    "channels.*.response_target", "categories.*.escalation", "after_hours.rate",
    "emergency_support.response_target", "included_services.*"))


def replaced_whole(path: tuple) -> bool:
    """Whether an override of the term at ``path`` replaces it whole (a value) or merges into it."""
    return any(len(parts) == len(path) and all(p in ("*", k) for p, k in zip(parts, path))
               for parts in _WHOLE_TERMS)
