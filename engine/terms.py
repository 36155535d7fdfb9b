"""A plan's terms as small immutable values: schedules, targets, attributes, channels, categories, rates.

A customer's terms are its plan's with the customer's overrides applied;
``Terms.from_data`` builds either from the (merged, validated) document.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from functools import cached_property
from types import MappingProxyType
from typing import Mapping
from zoneinfo import ZoneInfo

from supportpolicy.engine.calendar import SUPPORT_SCHEDULE, SupportSchedule
from supportpolicy.engine.vocabulary import FIRST_RESPONSE, PERIODS, UNITS

ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "up": ROUND_UP}


@dataclass(frozen=True)
class ResponseTarget:
    """How soon something is due: immediately, or within a time counted in a unit (vocabulary.UNITS).

    ``schedule`` names the schedule business units count in (None: the plan's support hours).
    """

    unit: str
    amount: Decimal = Decimal(0)
    schedule: str | None = None

    @classmethod
    def from_data(cls, data: Mapping) -> "ResponseTarget":
        unit = next(key for key in data if key in UNITS)
        amount = Decimal(0) if unit in ("immediately", "next_business_day") else Decimal(str(data[unit]))
        return cls(unit, amount, data.get("schedule"))

    @property
    def kind(self) -> str:
        """How it is counted: immediately, calendar (elapsed), business (open time) or business_days."""
        if self.unit in ("minutes", "hours", "calendar_hours"):
            return "calendar"
        if self.unit in ("business_days", "next_business_day"):
            return "business_days"
        return "immediately" if self.unit == "immediately" else "business"

    @property
    def minutes(self) -> Decimal:
        return self.amount if self.unit.endswith("minutes") else self.amount * 60

    @property
    def days(self) -> int:
        return 1 if self.unit == "next_business_day" else int(self.amount)

    @property
    def counts_in(self) -> str | None:
        """The schedule the target is counted in; None for elapsed time."""
        return None if self.kind in ("calendar", "immediately") else (self.schedule or SUPPORT_SCHEDULE)

    def as_json(self) -> dict:
        """As a policy file writes it: {"immediately": true}, {"business_hours": 4, "schedule": ...}."""
        if self.unit in ("immediately", "next_business_day"):
            written = {self.unit: True}
        else:
            amount = self.amount
            written = {self.unit: int(amount) if amount == amount.to_integral() else float(amount)}
        return dict(written, schedule=self.schedule) if self.schedule else written


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
class Attribute:
    """A request attribute the plan declares (e.g. severity): a fact its rules may test.

    ``kind`` is choice (one of ``values``), boolean, integer (``values`` = (minimum, maximum)) or text.
    """

    name: str
    kind: str
    values: tuple = ()
    required: bool = False
    default: object = None
    description: str | None = None
    max_length: int = 200

    @classmethod
    def from_data(cls, name: str, data: Mapping) -> "Attribute":
        if "values" in data:
            kind, values = "choice", tuple(data["values"])
        else:
            kind = data["type"]
            values = (data.get("minimum", 0), data.get("maximum", 2**31 - 1)) if kind == "integer" else ()
        return cls(name, kind, values, data.get("required", False), data.get("default"), data.get("description"),
                   data.get("max_length", 200))

    def problem(self, value) -> str | None:
        """What is wrong with ``value`` for this attribute, in words; None when it is one it takes."""
        if self.kind == "boolean":
            return None if isinstance(value, bool) else "must be true or false"
        if self.kind == "integer":
            low, high = self.values
            ok = type(value) is int and low <= value <= high
            return None if ok else f"must be a whole number from {low} to {high}"
        if self.kind == "text":
            ok = isinstance(value, str) and len(value) <= self.max_length
            return None if ok else f"must be text of at most {self.max_length} characters"
        ok = any(value == v and type(value) is type(v) for v in self.values)
        return None if ok else f"must be one of: {', '.join(map(_shown, self.values))}"

    def domain(self) -> tuple | None:
        """Every value it can take, when they can be listed (for static analysis); None for text."""
        if self.kind == "boolean":
            return (True, False)
        if self.kind == "integer":
            low, high = self.values
            return tuple(range(low, high + 1)) if high - low < 1000 else None
        return self.values if self.kind == "choice" else None


def _shown(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class AfterHours:
    """What non-emergency work outside support hours costs, and how it is charged."""

    rate: Money
    notice_required: bool
    rates: Mapping[str, Money]  # by kind of period (vocabulary.PERIODS); business_hours is the rate
    minimum_minutes: Decimal | None = None  # the least time charged per call-out
    increment_minutes: Decimal | None = None  # time is charged in steps of this many minutes
    rounding: str = "half_up"  # how an amount is rounded to the cent, once per charged line
    minimum_per: str = "call_out"  # what the minimum applies to: each call-out (work entry) or the ticket
    increment_per: str = "call_out"  # what the increment applies to: each call-out (work entry) or the ticket
    prepaid_minutes: Decimal | None = None  # a block of prepaid time each local month, drawn before any charge

    @classmethod
    def from_data(cls, data: Mapping) -> "AfterHours":
        rate = Money.from_data(data["rate"])
        rates = {}
        for period in PERIODS:
            written = data.get("rates", {}).get(period)
            if written is None:
                rates[period] = rate
            elif "multiplier" in written:
                # A rate is in cents (or as fine as the plan wrote the base rate), rounded as the plan says.
                exponent = Decimal(1).scaleb(min(rate.amount.as_tuple().exponent, -2))
                amount = (rate.amount * Decimal(str(written["multiplier"]))).quantize(
                    exponent, rounding=ROUNDING[data.get("rounding", "half_up")])
                rates[period] = Money(amount, rate.currency)
            else:
                rates[period] = Money.from_data(written)
        minimum, increment = data.get("minimum_charge"), data.get("increment")
        return cls(rate, data["notice_required"], MappingProxyType(rates),
                   None if minimum is None else Decimal(str(minimum["minutes"])),
                   None if increment is None else Decimal(str(increment["minutes"])), data.get("rounding", "half_up"),
                   (minimum or {}).get("per", "call_out"), (increment or {}).get("per", "call_out"),
                   None if "prepaid" not in data else Decimal(data["prepaid"]["hours"]) * 60)


@dataclass(frozen=True)
class Terms:
    """A customer's terms: its plan, with the customer's overrides applied."""

    plan_id: str
    plan_version: str
    schedules: Mapping[str, SupportSchedule]  # by name; the support hours are SUPPORT_SCHEDULE
    targets: Mapping[str, str | None]  # the plan's targets by name (first_response first), with descriptions
    attributes: Mapping[str, Attribute]
    channels: Mapping[str, ResponseTarget]
    categories: Mapping[str, Category]
    message_response_target: ResponseTarget
    emergency_response_target: ResponseTarget
    emergency_available_to: str
    after_hours: AfterHours
    included_services: Mapping[str, tuple]
    # How the targets' clocks run over a ticket's life: an engine.clockterms.ClockTerms (which builds on this
    # module's values, so is not named here), the plan's clocks with the customer's overrides; None: the plan has
    # none. The loader sets it (load/clocks.py, with_clocks).
    clocks: object = None

    @property
    def schedule(self) -> SupportSchedule:
        """The support hours."""
        return self.schedules[SUPPORT_SCHEDULE]

    @property
    def after_hours_rate(self) -> Money:
        return self.after_hours.rate

    @property
    def notice_required(self) -> bool:
        return self.after_hours.notice_required

    @classmethod
    def from_data(cls, data: Mapping, zone: ZoneInfo | None = None) -> "Terms":
        """``zone``: the customer's time zone, for the schedules kept in it (``time_zone: customer``)."""
        schedules = {SUPPORT_SCHEDULE: SupportSchedule.from_data(data["schedule"], SUPPORT_SCHEDULE, zone)}
        schedules.update({name: SupportSchedule.from_data(spec, name, zone)
                          for name, spec in data.get("schedules", {}).items()})
        targets = {FIRST_RESPONSE: None, **{name: spec.get("description")
                                            for name, spec in data.get("targets", {}).items()}}
        return cls(
            plan_id=data["plan"],
            plan_version=data["version"],
            schedules=MappingProxyType(schedules),
            targets=MappingProxyType(targets),
            attributes=MappingProxyType({name: Attribute.from_data(name, spec)
                                         for name, spec in data.get("attributes", {}).items()}),
            channels=MappingProxyType({name: ResponseTarget.from_data(c["response_target"])
                                       for name, c in data["channels"].items()}),
            categories=MappingProxyType({name: Category(c["emergency"], Escalation.from_data(c["escalation"]))
                                         for name, c in data["categories"].items()}),
            message_response_target=ResponseTarget.from_data(data["response_targets"]["message"]),
            emergency_response_target=ResponseTarget.from_data(data["emergency_support"]["response_target"]),
            emergency_available_to=data["emergency_support"]["available_to"],
            after_hours=AfterHours.from_data(data["after_hours"]),
            included_services=MappingProxyType({k: tuple(v) for k, v in data["included_services"].items()}),
        )
