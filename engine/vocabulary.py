"""The words of the policy language, each named once: decision fields, facts, named terms.

A rule's ``when`` tests facts, its ``then`` sets decision fields, and an
outcome may take a value from the customer's terms by naming one
(``{term: after_hours_rate}``). The loader checks policy files against these
tables, the deciding stage computes them, and the tools describe them; none
of them spells a name of its own.
"""
from __future__ import annotations

from dataclasses import dataclass

# The decision fields rules may set, in the order the decision contract lists them. A plan's other targets
# (vocabulary.TARGETS) are decision fields too, named by the plan; respond_by sets the first response.
DECISION_FIELDS = ("emergency_support", "billable", "hourly_rate", "notice_required",
                   "respond_by", "route", "escalation")
FIRST_RESPONSE = "first_response"  # the target respond_by sets; every plan has it

# The units a response target is written in, and what each means (documented once, in policy-language.md).
UNITS = {
    "immediately": "the deadline is the moment the request was received (written `immediately: true`)",
    "minutes": "minutes of elapsed time, around the clock",
    "hours": "hours of elapsed time, around the clock",
    "calendar_hours": "hours of elapsed time, around the clock (the same as hours)",
    "business_minutes": "minutes counted only while the schedule is open",
    "business_hours": "hours counted only while the schedule is open",
    "business_days": "by the close of the N-th business day (a local date the schedule opens) after the day "
                     "the target is counted from",
    "next_business_day": "by the close of the next business day (the same as business_days: 1)",
}
BUSINESS_UNITS = ("business_minutes", "business_hours", "business_days", "next_business_day")

# The kinds of period after-hours work falls in (the `period` fact; after_hours.rates is keyed by them).
PERIODS = ("business_hours", "weeknight", "weekend", "holiday")
WEEKEND = ("saturday", "sunday")
# Each in words, for people (after_hours.rates are keyed by them).
PERIOD_WORDS = {"business_hours": "support hours", "weeknight": "weeknights", "weekend": "weekends",
                "holiday": "holidays"}

# The kinds of period a coverage calendar shows, and their names (a plan's `labels` may name them otherwise).
# Outside support hours the contract gives more than emergency support: billable work on request, too.
COVERAGE = {"support_hours": "Support hours", "emergency_only": "After hours", "holiday": "Holiday",
            "no_contract": "No contract in effect"}

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
    Fact("period", "choice", "the kind of period it was received in: business_hours (inside the support hours), "
                             "holiday (a closed day), weekend (Saturday or Sunday) or weeknight (any other time)",
         "periods"),
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
    NamedTerm("period_rate", "money",
              "the after-hours rate of the period the request was received in (after_hours.rates.<period>, an "
              "amount or a multiplier of after_hours.rate; after_hours.rate itself when the plan sets none)"),
)}

# Which kind of named term each place in an outcome accepts.
TERM_KIND_FOR = {
    "hourly_rate": "money",
    "notice_required": "boolean",
    "respond_by.within": "response_target",
    "escalation": "escalation",
}

# The sections of a plan that hold its terms (a customer may override any term in them).
TERM_SECTIONS = ("schedule", "schedules", "channels", "response_targets", "targets", "attributes", "categories",
                 "emergency_support", "after_hours", "included_services", "clocks")

# Terms that are one value: an override replaces them whole rather than merging into them key by key.
_WHOLE_TERMS = tuple(pattern.split(".") for pattern in (
    "schedule.hours", "schedule.spans", "schedule.exceptions", "schedule.holidays.add", "schedule.holidays.remove",
    "schedules.*.hours", "schedules.*.spans", "schedules.*.exceptions", "schedules.*.holidays.add",
    "schedules.*.holidays.remove", "response_targets.*", "channels.*.response_target", "categories.*.escalation",
    "after_hours.rate", "after_hours.rates.*", "after_hours.minimum_charge", "after_hours.increment",
    "after_hours.prepaid",
    "emergency_support.response_target", "included_services.*", "attributes.*", "targets.*",
    # A clock's start (received, or a status) and each level's delay, share and team are one value each.
    "clocks.targets.*.start", "clocks.escalation.levels"))


def replaced_whole(path: tuple) -> bool:
    """Whether an override of the term at ``path`` replaces it whole (a value) or merges into it."""
    return any(len(parts) == len(path) and all(p in ("*", k) for p, k in zip(parts, path))
               for parts in _WHOLE_TERMS)
