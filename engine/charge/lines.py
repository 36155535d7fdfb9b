"""Spans gathered into the lines of a charge, each rounded once, as the plan says.

A line holds the spans priced alike: charged or not and why, the kind of time,
the rate, the versions in effect when they were worked, the rules and terms
that priced them. Its amount is its rate times its charged time (worked and
added by the minimum and increment), rounded to the cent once, by the plan's
rounding rule; the charge's total is the sum of its lines. Time drawn from a
prepaid block is on lines of its own (reason ``prepaid``), at 0.00.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from supportpolicy.engine.charge.adjust import PREPAID as PREPAID_TERM
from supportpolicy.engine.charge.adjust import Added
from supportpolicy.engine.charge.spans import CHARGED, PREPAID, Span
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
    """The spans gathered into lines, in order of their first span; a span's time drawn from the prepaid block
    is on a line of its own."""
    groups: dict = {}
    for index, span in enumerate(spans):
        worked, extra = span.minutes, added.of(index)
        take = added.drawn.get(index, Decimal(0))
        if take:
            from_worked = min(take, worked)
            groups.setdefault(_key(span, PREPAID), []).append(_Portion(span, index, from_worked, take - from_worked))
            worked, extra = worked - from_worked, extra - (take - from_worked)
        if not take or worked + extra > 0:
            groups.setdefault(_key(span, span.reason), []).append(_Portion(span, index, worked, extra))
    return tuple(_line(reason, portions, added, currency) for (reason, *_), portions in groups.items())


@dataclass(frozen=True)
class _Portion:
    """The part of a span's minutes on one line: worked, and added by the minimum and increment."""

    span: Span
    index: int
    worked: Decimal
    added: Decimal


def _key(span: Span, reason: str) -> tuple:
    rate = span.rate
    return (reason, span.period, None if rate is None else (rate.amount, rate.currency),
            span.evaluation.decision.policy.digest, tuple(r.name for r in span.rules), span.named_terms)


def _line(reason: str, portions: list, added: Added, currency: str) -> Line:
    first = portions[0].span
    worked = sum((p.worked for p in portions), Decimal(0))
    extra = sum((p.added for p in portions), Decimal(0))
    terms = list(first.named_terms)
    if first.charged:
        terms += sorted({t for p in portions for t in added.terms.get(p.index, ())})
        terms += [PREPAID_TERM] if reason == PREPAID else [ROUNDING_TERM]
    if reason == CHARGED:
        rounding = ROUNDING[first.terms.after_hours.rounding]
        rate = first.rate
        amount = Money((rate.amount * (worked + extra) / 60).quantize(CENT, rounding=rounding), rate.currency)
    else:
        rate, amount = None, Money(Decimal("0.00"), currency)
    return Line(reason == CHARGED, reason, first.period, rate, worked, extra, amount,
                tuple(p.span for p in portions), first.evaluation.decision.policy, first.rules, tuple(terms))
