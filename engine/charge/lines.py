"""Spans gathered into the lines of a charge, each rounded once, as the plan says.

A line holds the spans priced alike: charged or not and why, the kind of time,
the rate, the versions in effect when they were worked, the rules and terms
that priced them. Its amount is its rate times its charged time (worked and
added by the minimum and increment), rounded to the cent once, by the plan's
rounding rule; the charge's total is the sum of its lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from supportpolicy.engine.charge.adjust import Added
from supportpolicy.engine.charge.spans import Span
from supportpolicy.engine.charge.work import Notice
from supportpolicy.engine.model import PolicyReference
from supportpolicy.engine.terms import ROUNDING, Money

CENT = Decimal("0.01")
ROUNDING_TERM = "after_hours.rounding"


@dataclass(frozen=True)
class Line:
    charged: bool
    reason: str  # spans.CHARGED, or why not
    period: str  # the kind of time (vocabulary.PERIODS)
    rate: Money | None  # the hourly rate charged (None: not charged)
    worked_minutes: Decimal
    added_minutes: Decimal  # what the minimum and increment add
    amount: Money
    spans: tuple  # Span, in time order
    policy: PolicyReference  # the versions in effect when the work was done
    rules: tuple  # the Rules that priced it
    terms: tuple  # the names of the terms that priced it

    @property
    def billed_minutes(self) -> Decimal:
        return self.worked_minutes + self.added_minutes

    def as_json(self, local) -> dict:
        return {
            "charged": self.charged,
            "reason": self.reason,
            "period": self.period,
            "rate": None if self.rate is None else self.rate.as_json(),
            "worked_minutes": _number(self.worked_minutes),
            "billed_minutes": _number(self.billed_minutes),
            "amount": self.amount.as_json(),
            "spans": [{"entry_id": s.entry.entry_id, "start": local(s.start), "end": local(s.end)}
                      for s in self.spans],
            "policy": self.policy.as_json(),
            "rules": [rule.as_trace() for rule in self.rules],
            "terms": list(self.terms),
        }


@dataclass(frozen=True)
class Charge:
    """What the work on one ticket costs, line by line, and what decided each line."""

    ticket_id: str | None
    customer: str
    time_zone: str
    notice: Notice | None
    lines: tuple  # Line, by their first span
    total: Money

    def as_json(self, local) -> dict:
        """``local`` writes an instant in the support hours' zone."""
        return {
            "ticket_id": self.ticket_id,
            "customer": self.customer,
            "time_zone": self.time_zone,
            "notice": None if self.notice is None else {"given_at": local(self.notice.given_at),
                                                        "response": self.notice.response},
            "total": self.total.as_json(),
            "lines": [line.as_json(local) for line in self.lines],
        }


def _number(value: Decimal) -> str:
    """Minutes as exact text: "90", "7.5"."""
    text = format(value.normalize(), "f")
    return text


def lines_of(spans: list[Span], added: Added, currency: str) -> tuple:
    """The spans gathered into lines, in order of their first span."""
    groups: dict = {}
    for index, span in enumerate(spans):
        rate = span.rate
        key = (span.reason, span.period, None if rate is None else (rate.amount, rate.currency),
               span.evaluation.decision.policy.digest, tuple(r.name for r in span.rules), span.named_terms)
        groups.setdefault(key, []).append(index)
    return tuple(_line([spans[i] for i in indexes], indexes, added, currency) for indexes in groups.values())


def _line(spans: list[Span], indexes: list[int], added: Added, currency: str) -> Line:
    first = spans[0]
    worked = sum((s.minutes for s in spans), Decimal(0))
    extra = sum((added.of(i) for i in indexes), Decimal(0))
    terms = list(first.named_terms)
    if first.charged:
        terms += sorted({t for i in indexes for t in added.terms.get(i, ())}) + [ROUNDING_TERM]
        rounding = ROUNDING[first.terms.after_hours.rounding]
        rate = first.rate
        amount = Money((rate.amount * (worked + extra) / 60).quantize(CENT, rounding=rounding), rate.currency)
    else:
        rate, amount = None, Money(Decimal("0.00"), currency)
    return Line(first.charged, first.reason, first.period, rate, worked, extra, amount, tuple(spans),
                first.evaluation.decision.policy, first.rules, tuple(terms))
