"""The contract's terms and rules as small immutable values.

Everything the later stages use is built here from validated files, so the
facts, rules and decision stages never look into raw YAML.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Mapping, Union
from zoneinfo import ZoneInfo

from supportpolicy.engine.clockterms import ClockTerms
from supportpolicy.engine.terms import Escalation, Money, ResponseTarget, Route, Terms
from supportpolicy.engine.vocabulary import DECISION_FIELDS


@dataclass(frozen=True)
class PolicyFile:
    """One loaded file: what it is, which version, and its content hash."""

    path: str
    kind: str  # "plan", "customer" or "ruleset"
    id: str
    version: str
    effective_from: date
    sha256: str

    def as_json(self) -> dict:
        return {"path": self.path, "kind": self.kind, "id": self.id, "version": self.version,
                "effective_from": self.effective_from.isoformat()}


@dataclass(frozen=True)
class Plan:
    file: PolicyFile
    data: Mapping  # the validated document; customers' overrides merge onto it
    terms: Terms
    positions: Mapping  # JSON path -> (line, column) in the file
    clocks: ClockTerms | None = None  # how its targets' clocks run over a ticket's life (the plan's own; a
    # contract's, with the customer's overrides, are its terms'), Terms.clocks


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def comparable_email(address: str) -> str:
    """The form in which a requester's address is compared with the designated contacts': A-Z as a-z.

    Only ASCII letters are folded, as mail systems fold a domain; every other character stands for itself.
    Unicode case mapping would make look-alikes of a contact into the contact: str.lower() turns the
    KELVIN SIGN (U+212A) into k, and str.casefold() the long s (U+017F) into s and the ligature fi
    (U+FB01) into fi, so "\\u212aate@example.gov" would be decided as kate@example.gov, a designated contact.
    """
    # str.lower() of an ASCII string changes A-Z only, and is the fastest way there.
    return address.lower() if address.isascii() else address.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class Customer:
    file: PolicyFile
    name: str | None
    plan_id: str
    plan_version: str | None  # None: whichever version is in effect
    designated_contacts: frozenset  # e-mail addresses, as comparable_email gives them
    overrides: Mapping
    positions: Mapping  # JSON path -> (line, column) in the file
    time_zone: ZoneInfo | None = None  # the customer's own, for schedules kept in it


@dataclass(frozen=True)
class Contract:
    """What holds for one customer at one time: its contract version, that version's plan, and its terms."""

    customer: Customer
    plan: Plan
    terms: Terms


def in_effect(versions, day: date, key=lambda version: version.file.effective_from):
    """The latest of ``versions`` (sorted by effective date) in effect on ``day``, or None."""
    index = bisect_right(versions, day, key=key)
    return versions[index - 1] if index else None


@dataclass(frozen=True)
class TermReference:
    """An outcome's ``{term: <name>}``: a value taken from the customer's terms when the rule decides."""

    name: str


@dataclass(frozen=True)
class Deadline:
    """respond_by: a target counted from received_at or from the next opening."""

    start: str  # "received_at" or "next_opening"
    within: Union[ResponseTarget, TermReference]


@dataclass(frozen=True)
class Condition:
    fact: str
    op: str  # "eq", "in", "not", "not_in"
    values: tuple

    def holds(self, value) -> bool:
        """The condition's meaning, as compiled for durable-rules (decide/compiler.py).

        Explanations and static analysis use it; decisions never do: they are
        made by durable-rules, and the tests check both agree.
        """
        if self.op == "eq":
            return value == self.values[0]
        if self.op == "in":
            return value in self.values
        if self.op == "not":
            return value != self.values[0]
        return value not in self.values

    def __str__(self) -> str:
        shown = [str(v).lower() if isinstance(v, bool) else str(v) for v in self.values]
        words = {"eq": "is", "not": "is not", "in": "is one of", "not_in": "is none of"}[self.op]
        return f"{self.fact} {words} {', '.join(shown)}"


@dataclass(frozen=True)
class Rule:
    ruleset: str
    id: str
    conditions: tuple
    outcome: tuple  # ((field, value), ...), values: bool, None, Money, Route, Escalation, TermReference, Deadline
    file: str
    line: int
    is_default: bool = False

    @property
    def name(self) -> str:
        return f"{self.ruleset}/{self.id}"

    def failing(self, facts: dict) -> Condition | None:
        """The first condition these facts do not meet, or None when the rule matches."""
        return next((c for c in self.conditions if not c.holds(facts[c.fact])), None)

    def as_trace(self) -> dict:
        """As a decision's trace lists it."""
        return {"rule": self.name, "file": self.file, "line": self.line}


@dataclass(frozen=True)
class RuleSet:
    file: PolicyFile
    hit_policy: str
    decides: tuple
    rules: tuple
    default: Rule
    plans: tuple | None = None  # the plans whose requests it decides; None: every plan

    @property
    def id(self) -> str:
        return self.file.id

    @property
    def order(self) -> int:
        """Rule sets run, and appear in the trace, in the decision's field order (a plan's targets last)."""
        return min(DECISION_FIELDS.index(f) if f in DECISION_FIELDS else len(DECISION_FIELDS) for f in self.decides)

    def decides_for(self, plan_id: str) -> bool:
        return self.plans is None or plan_id in self.plans


@dataclass(frozen=True)
class PolicyReference:
    """The contract version that decided, and a content hash of every file that took part."""

    id: str
    version: str
    digest: str
    files: tuple  # PolicyFile: the customer's, the plan's, then each rule set's

    @cached_property
    def _json(self) -> dict:
        return {"id": self.id, "version": self.version, "digest": self.digest,
                "files": [f.as_json() for f in self.files]}

    def as_json(self) -> dict:
        """Worked out once: every decision made with the same versions shares it (and must not change it)."""
        return self._json


@dataclass(frozen=True)
class TargetDue:
    """When one of a plan's targets is due for a request, what it counts in, and the rule that set it."""

    name: str
    due: datetime | None  # None: no such target for this request
    target: ResponseTarget | None  # as resolved (a named term replaced by its value)
    start: str | None  # received_at or next_opening
    time_zone: str  # of the schedule it counts in (the support hours' for elapsed time)
    rule: Rule

    def as_json(self) -> dict:
        target = self.target
        return {"due": None if self.due is None else self.due.isoformat(),
                "from": self.start, "within": None if target is None else target.as_json(),
                "schedule": None if target is None else target.counts_in, "time_zone": self.time_zone,
                "rule": self.rule.name, "file": self.rule.file, "line": self.rule.line}


@dataclass(frozen=True)
class Outcome:
    """The decision fields the rules set, terms and deadlines resolved for one request."""

    emergency_support: bool
    billable: bool
    hourly_rate: Money | None
    notice_required: bool
    respond_by: datetime | None  # the first response's due time, in the schedule's zone
    route: Route
    escalation: Escalation
    targets: tuple = ()  # TargetDue of every target, the first response first

    def as_json(self) -> dict:
        return {
            "emergency_support": self.emergency_support,
            "billable": self.billable,
            "hourly_rate": None if self.hourly_rate is None else self.hourly_rate.as_json(),
            "notice_required": self.notice_required,
            "respond_by": None if self.respond_by is None else self.respond_by.isoformat(),
            "route": self.route.as_json(),
            "escalation": self.escalation.as_json(),
        }
