"""The contract's terms in plain words, for people: the explorer's legend, its targets, teams and schedules.

Every sentence is made from the terms of the contract in effect (the plan with
the customer's overrides) and the words of the vocabulary; a plan may give its
own words for the identifiers its rules use (``labels:``, e.g. the team
``emergency_on_call``) and for its schedules (``description:``). Numbers take
the plural their amount asks for: "within 1 hour", "within 4 business hours".
"""
from __future__ import annotations

from decimal import Decimal

from supportpolicy.engine.calendar import SUPPORT_SCHEDULE
from supportpolicy.engine.vocabulary import COVERAGE, PERIOD_WORDS

_UNIT_WORDS = {"minutes": "minute", "hours": "hour", "calendar_hours": "hour", "business_minutes": "business minute",
               "business_hours": "business hour", "business_days": "business day"}


def plural(amount, word: str) -> str:
    """ "1 hour", "4 hours", "1.5 hours"."""
    number = Decimal(str(amount))
    shown = str(number.to_integral()) if number == number.to_integral() else str(number.normalize())
    return f"{shown} {word}{'' if number == 1 else 's'}"


def target_words(target, schedules: dict | None = None) -> str:
    """A response target (terms.ResponseTarget) as a phrase: "immediately", "within 1 hour", "within 4 business
    hours", "by the close of the next business day"; with the schedule it counts in when that is not the support
    hours ("within 2 business hours of the follow the sun schedule")."""
    if target.unit == "immediately":
        return "immediately"
    if target.unit == "next_business_day":
        phrase = "by the close of the next business day"
    elif target.unit == "business_days":
        phrase = f"by the close of the {_ordinal(int(target.amount))} business day"
    else:
        phrase = f"within {plural(target.amount, _UNIT_WORDS[target.unit])}"
        if target.kind == "calendar":
            phrase += ", day or night"
    if target.counts_in not in (None, SUPPORT_SCHEDULE):
        phrase += f" of the {schedule_label(target.counts_in)} schedule"
    return phrase


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return "next" if n == 1 else f"{n}{suffix}"


def schedule_label(name: str) -> str:
    """A schedule's name as words: follow_the_sun is "follow the sun"."""
    return "support hours" if name == SUPPORT_SCHEDULE else name.replace("_", " ").replace("-", " ")


def label(identifier: str | None, labels: dict) -> str | None:
    """The plan's words for an identifier its rules use, else the identifier as words (emergency on call)."""
    if identifier is None:
        return None
    return labels.get(identifier) or identifier.replace("_", " ").replace("-", " ")


_NO_TERMS = {"no_contract": "no version of the customer's contract is in effect yet: requests are refused"}


def legend(terms, labels: dict) -> dict:
    """Each kind of period of the coverage calendar: its name and what the contract gives in it."""
    if terms is None:  # no contract in effect: only the names, and what no contract means
        return {kind: {"label": labels.get(kind) or words, "description": _NO_TERMS.get(kind, "")}
                for kind, words in COVERAGE.items()}
    emergency = "the designated contacts" if terms.emergency_available_to == "designated_contacts" \
        else "any requester"
    after = terms.after_hours
    rates = "; ".join(f"{PERIOD_WORDS[p]} {after.rates[p].text} {after.rates[p].currency}"
                      for p in ("weeknight", "weekend", "holiday") if after.rates[p] != after.rate)
    charged = (f"other work asked for outside support hours may be billed at {after.rate.text} "
               f"{after.rate.currency} an hour" + (f" ({rates})" if rates else "")
               + (", the customer told before any charge" if after.notice_required else ""))
    descriptions = {
        "support_hours": "the support team is on duty: requests are answered as each channel's target says, "
                         "at no charge",
        "emergency_only": f"emergency support around the clock for {emergency}, free of charge for true "
                          f"emergencies and answered {target_words(terms.emergency_response_target)}; "
                          f"{charged}; anything else waits for the next opening",
        "holiday": "support is closed all day: the same cover as outside support hours",
        **_NO_TERMS,
    }
    return {kind: {"label": labels.get(kind) or words, "description": descriptions[kind]}
            for kind, words in COVERAGE.items()}
