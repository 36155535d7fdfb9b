"""`supportpolicy billing statement`: a customer's month of charged work, as text, CSV or JSON; and the text
`supportpolicy explain` gives for a charge request (how one ticket's charge was computed).

The statement is read from the charges `serve` stored with the tickets' work
(POST /v1/tickets/{ticket_id}/work), in the decision log's store, as priced
when the work was stored: the same month gives the same statement, byte for
byte, and a later policy change does not alter a past month.
"""
from __future__ import annotations

import csv
import io

import click
import orjson

from supportpolicy.engine.charge.lines import Charge
from supportpolicy.engine.errors import EngineError
from supportpolicy.engine.tools.statement import Statement, statement
from supportpolicy.server.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Failed,
    folders_in_force,
    load_policy,
    main,
    policies_option,
    rules_option,
)
from supportpolicy.server.cli.serve import _data_dir, data_dir_option, decision_log_option, stored_log, valid_month
from supportpolicy.server.storage.work import WorkStore


@main.group("billing")
def billing_group():
    """What the tracked tickets' work was charged."""


@billing_group.command("statement")
@click.option("--customer", required=True, metavar="ID", help="The customer (its id in the policy).")
@click.option("--month", required=True, metavar="YYYY-MM", callback=valid_month,
              help="The month, in the customer's time zone: the work begun in it.")
@click.option("--format", "format_", type=click.Choice(["text", "csv", "json"]), default="text", show_default=True)
@data_dir_option
@decision_log_option("Read the work from this PostgreSQL database instead of the SQLite log.")
@policies_option
@rules_option
def statement_command(customer, month, format_, data_dir, decision_log, policies, rules):
    """Every charged line of the customer's tickets' work begun in the month, the work not billed and why
    (emergency, inside support hours, before notice, no notice, declined, prepaid), and the totals.

    Each line is as it was priced when its work was stored, with the versions in effect when it was done; the
    policy folders only say the customer exists and its time zone."""
    folders = folders_in_force(policies, rules)
    policy_set = load_policy(folders.roots, folders.label)
    if customer not in policy_set.customers:
        raise Failed(EXIT_FAILED, f"supportpolicy: no customer contract has the id {customer!r}")
    data_dir = _data_dir(data_dir, folders)
    log = stored_log(decision_log, data_dir)
    try:
        charges = WorkStore(log).charges_of(customer, month)
    except EngineError as error:
        raise Failed(EXIT_FAILED, f"supportpolicy: {error.detail}") from None
    finally:
        log.close()
    found = statement(customer, month, policy_set.time_zone(customer).key, charges)
    click.echo(REPORTERS[format_](found), nl=False)
    return EXIT_OK


def _money(money: dict | None) -> str:
    return "-" if money is None else f"{money['amount']} {money['currency']}"


def _when(line: dict) -> str:
    return f"{line['start'][:16].replace('T', ' ')} to {line['end'][:16].replace('T', ' ')}"


def text_statement(found: Statement) -> str:
    data = found.as_json()
    totals = data["totals"]
    out = [f"Statement: {data['customer']}, {data['month']} ({data['time_zone']})", "", "Charged"]
    out += [f"  {line['ticket_id']}  {_when(line)}  {line['period']}  {line['billed_minutes']} min at "
            f"{_money(line['rate'])}/h  {_money(line['amount'])}  ({line['policy']['id']} {line['policy']['version']};"
            f" {', '.join(line['rules'])})" for line in data["charged"]] or ["  none"]
    out += ["", "Not billed"]
    out += [f"  {line['ticket_id']}  {_when(line)}  {line['period']}  {line['worked_minutes']} min  "
            f"{line['reason']}  ({', '.join(line['rules']) or ', '.join(line['terms'])})"
            for line in data["unbilled"]] or ["  none"]
    charged = ", ".join(_money(m) for m in totals["charged"]) or "nothing"
    out += ["", f"Total charged: {charged} ({totals['charged_lines']} line{'s' if totals['charged_lines'] != 1 else ''}"
                f", {totals['billed_minutes']} billed minutes)"]
    unbilled = ", ".join(f"{minutes} min {reason}" for reason, minutes in totals["unbilled_minutes"].items())
    out.append(f"Not billed: {unbilled or 'nothing'}")
    return "\n".join(out) + "\n"


CSV_COLUMNS = ("row", "ticket_id", "start", "end", "entries", "period", "reason", "worked_minutes",
               "billed_minutes", "rate", "amount", "currency", "policy", "policy_digest", "rules", "terms")


def csv_statement(found: Statement) -> str:
    data = found.as_json()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row, lines in (("charged", data["charged"]), ("unbilled", data["unbilled"])):
        for line in lines:
            writer.writerow([row, line["ticket_id"], line["start"], line["end"], " ".join(line["entries"]),
                             line["period"], line["reason"], line["worked_minutes"], line["billed_minutes"],
                             line["rate"]["amount"] if line["rate"] else "", line["amount"]["amount"],
                             line["amount"]["currency"], f"{line['policy']['id']} {line['policy']['version']}",
                             line["policy"]["digest"], " ".join(line["rules"]), " ".join(line["terms"])])
    for total in data["totals"]["charged"]:
        writer.writerow(["total", "", "", "", "", "", "", "", data["totals"]["billed_minutes"], "", total["amount"],
                         total["currency"], "", "", "", ""])
    return out.getvalue()


def json_statement(found: Statement) -> str:
    return orjson.dumps(found.as_json(), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode()


REPORTERS = {"text": text_statement, "csv": csv_statement, "json": json_statement}


def charge_text(charge: Charge, zone) -> str:
    """How one ticket's charge was computed: each span in time order (its kind of time, whether and why it is
    charged, its rate, the versions, rules and terms that priced it), the notice where it falls, then the lines
    and the total."""
    local = lambda instant: instant.astimezone(zone).strftime("%a %Y-%m-%d %H:%M")  # noqa: E731
    out = [f"Charge for ticket {charge.ticket_id or '(no ticket_id)'}: {charge.customer}, in {charge.time_zone}"]
    notice = charge.notice
    out.append("Notice: none given" if notice is None else
               f"Notice: given {local(notice.given_at)}, {notice.response}")
    out += ["", "Spans"]
    spans = sorted((s for line in charge.lines for s in line.spans), key=lambda s: (s.start, s.entry.index))
    marked = notice is None
    for span in spans:
        if not marked and notice.given_at <= span.start:
            out.append(f"  -- notice given {local(notice.given_at)} ({notice.response}) --")
            marked = True
        rate = span.evaluation.decision.outcome.hourly_rate
        policy = span.evaluation.decision.policy
        out.append(f"  {span.entry.entry_id}  {local(span.start)} to {local(span.end)[4:]}  "
                   f"{_number(span.minutes)} min  {span.period}  {span.reason}{_rate(span.charged, rate)}")
        out.append(f"      {policy.id} {policy.version}; rules: "
                   f"{', '.join(f'{r.name} ({r.file}:{r.line})' for r in span.rules) or 'none'}; terms: "
                   f"{', '.join(span.named_terms) or 'none'}")
    if not marked:
        out.append(f"  -- notice given {local(notice.given_at)} ({notice.response}) --")
    out += ["", "Lines"]
    for line in charge.lines:
        rate = "" if line.rate is None else f" at {line.rate.amount} {line.rate.currency}/h"
        out.append(f"  {line.reason}  {line.period}  {_number(line.worked_minutes)} min worked, "
                   f"{_number(line.billed_minutes)} billed{rate}: {line.amount.amount} {line.amount.currency}  "
                   f"(terms: {', '.join(line.terms) or 'none'})")
    out += ["", f"Total: {charge.total.amount} {charge.total.currency}"]
    return "\n".join(out) + "\n"


def _rate(charged: bool, rate) -> str:
    if rate is None:
        return ""
    money = f"{rate.amount} {rate.currency}/h"
    return f" at {money}" if charged else f" (its rate, {money}, not charged)"


def _number(value) -> str:
    return format(value.normalize(), "f")
