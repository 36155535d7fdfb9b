"""Terms a rule's outcome may name ({term: ...}), and what each gives for one request.

``kind`` says which decision fields a term may fill; the validator checks it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from engine.facts import Facts
from engine.model import Terms


@dataclass(frozen=True)
class TermSpec:
    name: str
    kind: str  # "money", "boolean", "response_target" or "escalation"
    resolve: Callable[[Terms, Facts], object]


TERMS = {spec.name: spec for spec in (
    TermSpec("after_hours_rate", "money", lambda t, f: t.after_hours_rate),
    TermSpec("after_hours_notice_required", "boolean", lambda t, f: t.notice_required),
    TermSpec("channel_response_target", "response_target", lambda t, f: t.channels[f.channel]),
    TermSpec("message_response_target", "response_target", lambda t, f: t.message_target),
    TermSpec("emergency_response_target", "response_target", lambda t, f: t.emergency_target),
    TermSpec("category_escalation", "escalation", lambda t, f: t.categories[f.category].escalation),
)}

# Which kind of term each place in an outcome accepts.
TERM_KIND_FOR = {
    "hourly_rate": "money",
    "notice_required": "boolean",
    "respond_by.within": "response_target",
    "escalation": "escalation",
}
