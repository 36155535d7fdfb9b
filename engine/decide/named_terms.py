"""What each named term an outcome may use (``{term: ...}``) gives for one request.

The names and kinds are the vocabulary's (vocabulary.NAMED_TERMS); this is
where each is read off the customer's terms.
"""
from __future__ import annotations

from supportpolicy.engine.decide.facts import Facts
from supportpolicy.engine.terms import Terms
from supportpolicy.engine.vocabulary import NAMED_TERMS

_VALUE_OF = {
    "after_hours_rate": lambda terms, facts: terms.after_hours_rate,
    "after_hours_notice_required": lambda terms, facts: terms.notice_required,
    "channel_response_target": lambda terms, facts: terms.channels[facts.channel],
    "message_response_target": lambda terms, facts: terms.message_response_target,
    "emergency_response_target": lambda terms, facts: terms.emergency_response_target,
    "category_escalation": lambda terms, facts: terms.categories[facts.category].escalation,
    "period_rate": lambda terms, facts: terms.after_hours.rates[facts.period],
}
assert _VALUE_OF.keys() == NAMED_TERMS.keys(), "every named term has a value, and only those"


def term_value(name: str, terms: Terms, facts: Facts):
    """The value of the named term for this request under these terms."""
    return _VALUE_OF[name](terms, facts)
