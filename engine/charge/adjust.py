"""The plan's minimum charge and increment, applied to the charged time of each call-out or of the ticket.

A call-out is one work entry; the plan's ``per`` says which the term applies to.
The minimum comes first (time below it is charged as the minimum), then the
increment (charged time is rounded up to a multiple of it). The time either
adds is charged with the last charged span of the call-out or ticket, at its
rate, by the terms in effect when that span was worked. Last, a plan's prepaid
block (``after_hours.prepaid``, hours each local month) is drawn down by the
charged time in the order it was worked, before any is charged at the rate.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from types import MappingProxyType
from typing import Mapping

MINIMUM, INCREMENT, PREPAID = "after_hours.minimum_charge", "after_hours.increment", "after_hours.prepaid"


@dataclass(frozen=True)
class Added:
    """Minutes the minimum and the increment add to each charged span (by its place in the spans), and the
    minutes of each drawn from the prepaid block."""

    minutes: Mapping  # span index -> Decimal
    terms: Mapping  # span index -> the terms (MINIMUM, INCREMENT) that added to it
    # span index -> Decimal: the minutes of its worked and added time drawn from the prepaid block
    drawn: Mapping = field(default_factory=lambda: MappingProxyType({}))

    def of(self, index: int) -> Decimal:
        return self.minutes.get(index, Decimal(0))


def added_minutes(spans, prepaid_used: Mapping | None = None) -> Added:
    """The minutes the plan's minimum and increment add, span by span, and those drawn from the prepaid block
    (``prepaid_used``: minutes already drawn by other work, by local month, "YYYY-MM")."""
    added, terms = {}, {}
    for term in (MINIMUM, INCREMENT):
        for unit in _units(spans, term):
            last = unit[-1]
            after_hours = spans[last].terms.after_hours
            total = sum((spans[i].minutes + added.get(i, Decimal(0)) for i in unit), Decimal(0))
            extra = _extra(total, after_hours, term)
            if extra > 0:
                added[last] = added.get(last, Decimal(0)) + extra
                terms.setdefault(last, []).append(term)
    drawn = _drawn(spans, added, dict(prepaid_used or {}))
    return Added(MappingProxyType(added), MappingProxyType({i: tuple(t) for i, t in terms.items()}),
                 MappingProxyType(drawn))


def _drawn(spans, added: dict, used: dict) -> dict:
    drawn = {}
    for index, span in enumerate(spans):
        block = span.terms.after_hours.prepaid_minutes
        if not span.charged or block is None:
            continue
        month = span.evaluation.decision.facts.local_time.strftime("%Y-%m")
        left = max(Decimal(0), block - Decimal(used.get(month, 0)))
        take = min(left, span.minutes + added.get(index, Decimal(0)))
        if take > 0:
            drawn[index] = take
            used[month] = Decimal(used.get(month, 0)) + take
    return drawn


def _units(spans, term: str) -> list[list[int]]:
    """The charged spans' indexes, gathered by call-out (entry) or all together, as the term's ``per`` says
    (read from the terms in effect for each span)."""
    units: dict = {}
    for index, span in enumerate(spans):
        if span.charged:
            after_hours = span.terms.after_hours
            per = after_hours.minimum_per if term == MINIMUM else after_hours.increment_per
            units.setdefault(span.entry.index if per == "call_out" else None, []).append(index)
    return list(units.values())


def _extra(total: Decimal, after_hours, term: str) -> Decimal:
    if term == MINIMUM:
        minimum = after_hours.minimum_minutes
        return Decimal(0) if minimum is None or total >= minimum else minimum - total
    step = after_hours.increment_minutes
    if step is None:
        return Decimal(0)
    return (total / step).to_integral_value(rounding=ROUND_CEILING) * step - total
