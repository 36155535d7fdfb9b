"""The contract's terms and rules as small immutable values.

Everything the later stages use is built here from validated files, so the
facts, rules and decision stages never look into raw YAML.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from types import MappingProxyType
from typing import Mapping, Union

from supportpolicy.engine.calendar import SupportSchedule
from supportpolicy.engine.vocabulary import DECISION_FIELDS


@dataclass(frozen=True)
class ResponseTarget:
    """How soon a request is answered: immediately, or within business or calendar hours."""

    kind: str  # "immediately", "business_hours" or "calendar_hours"
    hours: Decimal = Decimal(0)

    @classmethod
    def from_data(cls, data: Mapping) -> "ResponseTarget":
        (kind, value), = data.items()
        return cls(kind, Decimal(0) if kind == "immediately" else Decimal(str(value)))

    def as_json(self) -> dict:
        """As a policy file writes it: {"immediately": true} or {"business_hours": 4}."""
        if self.kind == "immediately":
            return {"immediately": True}
        return {self.kind: int(self.hours) if self.hours == self.hours.to_integral() else float(self.hours)}


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def from_data(cls, data: Mapping) -> "Money":
        return cls(Decimal(str(data["amount"])), data["currency"])

    @cached_property
    def text(self) -> str:
        """The amount as the API writes it: at least two decimals ("200.00"), more only when the policy has them."""
        exact = self.amount.as_tuple().exponent < -2
        return str(self.amount if exact else self.amount.quantize(Decimal("0.01")))

    def as_json(self) -> dict:
        return {"amount": self.text, "currency": self.currency}


@dataclass(frozen=True)
class Escalation:
    team: str
    via: str | None

    @classmethod
    def from_data(cls, data: Mapping) -> "Escalation":
        return cls(data["team"], data["via"])

    def as_json(self) -> dict:
        return {"team": self.team, "via": self.via}


@dataclass(frozen=True)
class Route:
    team: str

    def as_json(self) -> dict:
        return {"team": self.team}


@dataclass(frozen=True)
class Category:
    emergency: bool
    escalation: Escalation


@dataclass(frozen=True)
class Terms:
    """A customer's terms: its plan, with the customer's overrides applied."""

    plan_id: str
    plan_version: str
    schedule: SupportSchedule
    channels: Mapping[str, ResponseTarget]
    categories: Mapping[str, Category]
    message_response_target: ResponseTarget
    emergency_response_target: ResponseTarget
    emergency_available_to: str
    after_hours_rate: Money
    notice_required: bool
    included_services: Mapping[str, tuple]

    @classmethod
    def from_data(cls, data: Mapping) -> "Terms":
        return cls(
            plan_id=data["plan"],
            plan_version=data["version"],
            schedule=SupportSchedule.from_data(data["schedule"]),
            channels=MappingProxyType({name: ResponseTarget.from_data(c["response_target"])
                                       for name, c in data["channels"].items()}),
            categories=MappingProxyType({name: Category(c["emergency"], Escalation.from_data(c["escalation"]))
                                         for name, c in data["categories"].items()}),
            message_response_target=ResponseTarget.from_data(data["response_targets"]["message"]),
            emergency_response_target=ResponseTarget.from_data(data["emergency_support"]["response_target"]),
            emergency_available_to=data["emergency_support"]["available_to"],
            after_hours_rate=Money.from_data(data["after_hours"]["rate"]),
            notice_required=data["after_hours"]["notice_required"],
            included_services=MappingProxyType({k: tuple(v) for k, v in data["included_services"].items()}),
        )


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

    @property
    def id(self) -> str:
        return self.file.id

    @property
    def order(self) -> int:
        """Rule sets run, and appear in the trace, in the decision's field order."""
        return min(DECISION_FIELDS.index(f) for f in self.decides)


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
class Outcome:
    """The decision fields the rules set, terms and deadlines resolved for one request."""

    emergency_support: bool
    billable: bool
    hourly_rate: Money | None
    notice_required: bool
    respond_by: datetime | None  # in the schedule's zone
    route: Route
    escalation: Escalation

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
