"""From the rules that fired to the decision a ticketing system acts on."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from engine.facts import Facts
from engine.model import Deadline, Escalation, Money, ResponseTarget, Route, Term, Terms
from engine.terms import TERMS


@dataclass(frozen=True)
class Decision:
    decision_id: str
    ticket_id: str | None
    customer: str
    policy: dict
    facts: Facts
    time_zone: str
    outcome: dict  # decision field -> JSON value
    trace: tuple  # of Rule

    def as_json(self) -> dict:
        """The decision document, fields in the order of the decision contract."""
        f, o = self.facts, self.outcome
        return {
            "decision_id": self.decision_id,
            "ticket_id": self.ticket_id,
            "customer": self.customer,
            "policy": self.policy,
            "received_at": f.received_at.isoformat(),
            "local_time": f.local_time.isoformat(),
            "time_zone": self.time_zone,
            "in_business_hours": f.in_business_hours,
            "holiday": f.holiday,
            "emergency": f.emergency,
            "designated_contact": f.designated_contact,
            "emergency_support": o["emergency_support"],
            "billable": o["billable"],
            "hourly_rate": o["hourly_rate"],
            "notice_required": o["notice_required"],
            "respond_by": o["respond_by"],
            "route": o["route"],
            "escalation": o["escalation"],
            "trace": [{"rule": r.name, "file": r.file, "line": r.line} for r in self.trace],
        }


def new_decision_id() -> str:
    """A UUIDv7 (time-ordered, so logged decisions sort by when they were made)."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def choose(rulesets, fired: list, compiled_rules: dict) -> list[tuple]:
    """Apply each rule set's hit policy: [(ruleset, [rules that decide])], in rule-set order."""
    hits = {}
    for name in fired:
        rule = compiled_rules[name]
        hits.setdefault(rule.ruleset, []).append(rule)
    chosen = []
    for ruleset in rulesets:
        matched = hits.get(ruleset.id, [])
        if ruleset.hit_policy == "first":
            chosen.append((ruleset, matched[:1] or [ruleset.default]))
        else:
            covered = {field for rule in matched for field, _ in rule.outcome}
            base = [] if covered >= set(ruleset.decides) else [ruleset.default]
            chosen.append((ruleset, base + matched))
    return chosen


def outcome_of(chosen: list[tuple], facts: Facts, terms: Terms) -> dict:
    """The decision fields the chosen rules set, terms and deadlines resolved for this request."""
    outcome = {}
    for _, rules in chosen:
        for rule in rules:
            for field, value in rule.outcome:
                outcome[field] = _json(_resolve(value, facts, terms), facts, terms)
    return outcome


def _resolve(value, facts: Facts, terms: Terms):
    if isinstance(value, Term):
        return TERMS[value.name].resolve(terms, facts)
    return value


def _json(value, facts: Facts, terms: Terms):
    if isinstance(value, (Money, Escalation, Route)):
        return value.as_json()
    if isinstance(value, Deadline):
        schedule = terms.schedule
        start = facts.received_at
        if value.start == "next_opening":
            start = schedule.next_opening(start)
        target: ResponseTarget = _resolve(value.within, facts, terms)
        return schedule.local(schedule.deadline(start, target)).isoformat()
    return value
