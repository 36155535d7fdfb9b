"""A ticket's work priced: the request decided, the entries checked, split, decided span by span, adjusted
and gathered into lines."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Mapping

from supportpolicy.engine.calendar import utc
from supportpolicy.engine.charge.adjust import added_minutes
from supportpolicy.engine.charge.lines import Charge, lines_of
from supportpolicy.engine.charge.spans import spans_of
from supportpolicy.engine.charge.work import entry_errors, parse_charge
from supportpolicy.engine.decide.policyset import PolicySet
from supportpolicy.engine.errors import EngineError, FieldError, InvalidRequest
from supportpolicy.engine.terms import Money


def price_work(policy_set: PolicySet, body, now: datetime, designated_contact: bool | None = None,
               prepaid_used: Mapping | None = None) -> Charge:
    """The charge for the work ``body`` (decoded JSON) records; InvalidRequest naming each field at fault.

    ``designated_contact``: the requester's status as a log recorded it, for a stored ticket whose e-mail the
    log masked (as PolicySet.evaluate takes it); ``prepaid_used``: minutes of the prepaid block other work has
    drawn, by local month, in place of the body's (which holds whole minutes)."""
    charge = parse_charge(body)
    if prepaid_used is not None:
        charge = replace(charge, prepaid_used=MappingProxyType(dict(prepaid_used)))
    try:
        evaluation = policy_set.evaluate(charge.request, designated_contact=designated_contact)
    except EngineError as error:
        error.errors = tuple(replace(e, pointer="/request" + e.pointer) for e in error.errors)
        raise
    received_at = utc(evaluation.decision.facts.received_at)
    errors = entry_errors(charge, received_at, utc(now))
    if errors:
        raise InvalidRequest(f"the work entries cannot be priced: {', '.join(sorted({e.pointer for e in errors}))}",
                             errors)
    currency = evaluation.contract.terms.after_hours.rate.currency
    if charge.currency is not None and charge.currency != currency:
        raise InvalidRequest("the currency is not the plan's", [FieldError(
            "/currency", f"is {charge.currency}, but {evaluation.contract.plan.file.id}'s rates are in {currency}")])
    spans = spans_of(policy_set, charge, designated_contact)
    currencies = {s.rate.currency for s in spans if s.charged}
    if currencies - {currency}:
        raise InvalidRequest("the work spans versions of the plan with rates in different currencies", [FieldError(
            "/entries", f"spans rates in {', '.join(sorted(currencies | {currency}))}; price the work done under "
                        "each version apart")])
    errors = rate_errors(spans, policy_set.time_zone(evaluation.decision.customer))
    if errors:
        raise InvalidRequest("the work's rates are not the contract's", errors)
    lines = lines_of(spans, added_minutes(spans, charge.prepaid_used), currency)
    total = sum((line.amount.amount for line in lines if line.charged), Decimal("0.00"))
    decision = evaluation.decision
    return Charge(decision.ticket_id, decision.customer, decision.time_zone, charge.notice, lines,
                  Money(total, currency))


def rate_errors(spans, zone) -> list[FieldError]:
    """Each entry whose ``rate`` is not the rate the contract charges some of its charged time at."""
    errors = {}
    for span in spans:
        said, rate = span.entry.rate, span.rate
        if span.charged and said is not None and span.entry.index not in errors and \
                (said.amount, said.currency) != (rate.amount, rate.currency):
            errors[span.entry.index] = FieldError(f"{span.entry.pointer}/rate", (
                f"is {said.amount} {said.currency} an hour, but the contract charges {rate.text} {rate.currency} "
                f"an hour for the {span.period.replace('_', ' ')} time from "
                f"{span.start.astimezone(zone).isoformat()}"))
    return [errors[index] for index in sorted(errors)]
