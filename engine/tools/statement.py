"""A customer's monthly statement: every charged line of its tickets' work begun in the month, the after-hours
work not billed and why, and the totals.

A statement is read from the charges as they were priced when the work was
stored (engine.charge.ledger: each line with the versions in effect when the
work was done, its amount rounded once by the plan's rule), never priced again:
so the same month gives the same statement, byte for byte, and a later change
of the policy folders does not alter a past month. Totals are sums of the
lines' amounts, in Decimal, with no rounding of their own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from supportpolicy.engine.errors import FieldError, InvalidRequest

MONTH = r"(20\d\d|21\d\d)-(0[1-9]|1[0-2])"


@dataclass(frozen=True)
class StatementLine:
    ticket_id: str
    line: dict  # the charge line as stored

    def as_json(self) -> dict:
        line, spans = self.line, self.line["spans"]
        policy = line["policy"]
        return {
            "ticket_id": self.ticket_id,
            "start": spans[0]["start"],
            "end": spans[-1]["end"],
            "entries": sorted({span["entry_id"] for span in spans}),
            "period": line["period"],
            "reason": line["reason"] if line["charged"] else line.get("unbilled") or line["reason"],
            "worked_minutes": line["worked_minutes"],
            "billed_minutes": line["billed_minutes"],
            "rate": line["rate"],
            "amount": line["amount"],
            "policy": {"id": policy["id"], "version": policy["version"], "digest": policy["digest"]},
            "rules": [rule["rule"] for rule in line["rules"]],
            "terms": list(line["terms"]),
        }


@dataclass(frozen=True)
class Statement:
    customer: str
    month: str  # YYYY-MM, in the customer's time zone
    time_zone: str
    charged: tuple  # StatementLine, by ticket, in each charge's order
    unbilled: tuple

    def as_json(self) -> dict:
        amounts: dict = {}
        for item in self.charged:
            money = item.line["amount"]
            amounts[money["currency"]] = amounts.get(money["currency"], Decimal("0.00")) + Decimal(money["amount"])
        unbilled: dict = {}
        for item in (StatementLine.as_json(i) for i in self.unbilled):
            unbilled[item["reason"]] = unbilled.get(item["reason"], Decimal(0)) + Decimal(item["worked_minutes"])
        billed = sum((Decimal(i.line["billed_minutes"]) for i in self.charged), Decimal(0))
        return {
            "customer": self.customer,
            "month": self.month,
            "time_zone": self.time_zone,
            "charged": [item.as_json() for item in self.charged],
            "unbilled": [item.as_json() for item in self.unbilled],
            "totals": {
                "charged": [{"amount": str(amount), "currency": currency}
                            for currency, amount in sorted(amounts.items())],
                "charged_lines": len(self.charged),
                "billed_minutes": _minutes(billed),
                "unbilled_minutes": {reason: _minutes(minutes) for reason, minutes in sorted(unbilled.items())},
            },
        }


def statement(customer: str, month: str, time_zone: str, charges: list) -> Statement:
    """The statement of ``charges``: (ticket id, charge document as stored), the customer's for the month."""
    charged, unbilled = [], []
    for ticket_id, charge in sorted(charges, key=lambda c: c[0]):
        for line in charge["lines"]:
            (charged if line["charged"] else unbilled).append(StatementLine(ticket_id, line))
    zones = sorted({charge["time_zone"] for _, charge in charges})
    return Statement(customer, month, zones[0] if len(zones) == 1 else time_zone, tuple(charged), tuple(unbilled))


def month_error(name: str, value: str | None) -> InvalidRequest | None:
    """None when ``value`` is a month (YYYY-MM, 2000 to 2199); else the error naming ``name``."""
    if value is not None and re.fullmatch(MONTH, value):
        return None
    said = "is required" if value is None else f"is {value!r}, not a month"
    return InvalidRequest(f"{name} must be a month, YYYY-MM", [FieldError(
        name, f"{said}: give the month as YYYY-MM, from 2000-01 to 2199-12, e.g. 2026-11", "parameter")])


def _minutes(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"
