"""From the rules that fired to the decision a ticketing system acts on."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from types import MappingProxyType
from typing import Mapping

from supportpolicy.engine.calendar import SUPPORT_SCHEDULE, utc
from supportpolicy.engine.decide.facts import Facts
from supportpolicy.engine.decide.named_terms import term_value
from supportpolicy.engine.errors import OutsideHolidayCalendar
from supportpolicy.engine.model import Outcome, PolicyReference, TargetDue, TermReference
from supportpolicy.engine.terms import Terms
from supportpolicy.engine.vocabulary import DECISION_FIELDS, FIRST_RESPONSE


@dataclass(frozen=True)
class Decision:
    decision_id: str
    ticket_id: str | None
    customer: str
    policy: PolicyReference
    facts: Facts
    time_zone: str
    outcome: Outcome
    trace: tuple  # the Rules that decided, in rule-set order

    def as_json(self) -> dict:
        """The decision document, fields in the order of the decision contract."""
        f = self.facts
        return {
            "decision_id": self.decision_id,
            "ticket_id": self.ticket_id,
            "customer": self.customer,
            "policy": self.policy.as_json(),
            "received_at": f.received_at.isoformat(),
            "local_time": f.local_time.isoformat(),
            "time_zone": self.time_zone,
            "in_business_hours": f.in_business_hours,
            "holiday": f.holiday,
            "emergency": f.emergency,
            "designated_contact": f.designated_contact,
            **self.outcome.as_json(),
            "trace": [rule.as_trace() for rule in self.trace],
            "targets": {t.name: t.as_json() for t in self.outcome.targets},
            "attributes": dict(f.attributes),
        }


def new_decision_id() -> str:
    """A UUIDv7 (time-ordered, so logged decisions sort by when they were made)."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass(frozen=True)
class Choice:
    """The rules that decide, once each rule set's hit policy is applied, and what they set, in order."""

    trace: tuple  # the Rules, in rule-set order
    fields: tuple  # (field, value) of the fixed decision fields, in the order they apply
    targets: tuple  # (target name, deadline or None, Rule)
    # The fields as they apply: those set to a value, as a mapping, and those taken from the terms.
    values: Mapping = dataclass_field(default_factory=lambda: MappingProxyType({}))
    terms: tuple = ()  # (field, TermReference)

    @classmethod
    def of(cls, trace, fields, targets) -> "Choice":
        values = dict(fields)  # a later rule's value for a field wins, as it would applied in order
        terms = tuple((name, value) for name, value in values.items() if isinstance(value, TermReference))
        for name, _ in terms:
            del values[name]
        return cls(tuple(trace), tuple(fields), tuple(targets), MappingProxyType(values), terms)


def choose(rulesets, fired, compiled_rules: dict) -> Choice:
    """Apply each rule set's hit policy to the rules that fired."""
    hits = {}
    for name in fired:
        rule = compiled_rules[name]
        hits.setdefault(rule.ruleset, []).append(rule)
    trace = []
    for ruleset in rulesets:
        matched = hits.get(ruleset.id, [])
        if ruleset.hit_policy == "first":
            trace += matched[:1] or [ruleset.default]
        else:
            covered = {field for rule in matched for field, _ in rule.outcome}
            trace += ([] if covered >= set(ruleset.decides) else [ruleset.default]) + matched
    fields, targets = [], []
    for rule in trace:
        for field, value in rule.outcome:
            if field == "respond_by" or field not in FIELDS:
                targets.append((FIRST_RESPONSE if field == "respond_by" else field, value, rule))
            else:
                fields.append((field, value))
    return Choice.of(trace, fields, targets)


def outcome_of(choice: Choice, facts: Facts, terms: Terms) -> Outcome:
    """The decision fields the chosen rules set, terms and deadlines resolved for this request.

    Every field is set: the set is checked at load to decide each field (and each of the plan's
    targets) in exactly one rule set, whose default sets every field it decides.
    """
    fields = dict(choice.values)
    for name, reference in choice.terms:
        fields[name] = term_value(reference.name, terms, facts)
    targets = {name: _target(name, value, rule, facts, terms) for name, value, rule in choice.targets}
    ordered = tuple(targets[name] for name in terms.targets if name in targets)
    first = targets.get(FIRST_RESPONSE)
    return Outcome(**fields, respond_by=first.due if first else None, targets=ordered)


FIELDS = frozenset(DECISION_FIELDS)


def _resolve(value, facts: Facts, terms: Terms):
    return term_value(value.name, terms, facts) if isinstance(value, TermReference) else value


def _target(name: str, value, rule, facts: Facts, terms: Terms) -> TargetDue:
    if value is None:
        return TargetDue(name, None, None, None, terms.schedule.zone.key, rule)
    target = _resolve(value.within, facts, terms)
    schedule = terms.schedules[target.counts_in or SUPPORT_SCHEDULE]
    start = utc(facts.received_at)
    try:
        if value.start == "next_opening":
            start = schedule.next_opening(start)
        due = terms.schedule.local(schedule.deadline(start, target))  # written in the support hours' zone
    except OutsideHolidayCalendar as error:
        # Open time counted on a day whose holidays are unknown: no deadline rather than a wrong one.
        raise error.naming("/received_at", deadline=True) from None
    return TargetDue(name, due, target, value.start, terms.schedule.zone.key, rule)
