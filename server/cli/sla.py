"""`supportpolicy sla report`: a customer's month of tracked tickets against its targets, as text, CSV or JSON.

The tickets are those `serve` tracks (POST /v1/tickets/{ticket_id}/events), in
the decision log's store; each is read at the month's end with the policy in
force, so a month that is over always gives the same report, byte for byte.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import click
import orjson

from supportpolicy.engine.clock.evaluate import evaluate_ticket
from supportpolicy.engine.errors import EngineError
from supportpolicy.engine.instants import POLICY_INSTANT, parse_instant
from supportpolicy.engine.tools.sla_report import Month, SlaReport, sla_report
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
from supportpolicy.server.storage.tickets import TicketStore


@main.group("sla")
def sla_group():
    """Service-level reports from the tracked tickets."""


@sla_group.command("report")
@click.option("--customer", required=True, metavar="ID", help="The customer (its id in the policy).")
@click.option("--month", required=True, metavar="YYYY-MM", callback=valid_month,
              help="The month, in the customer's time zone: the tickets received in it, read at its end.")
@click.option("--format", "format_", type=click.Choice(["text", "csv", "json"]), default="text", show_default=True)
@data_dir_option
@decision_log_option("Read the tickets from this PostgreSQL database instead of the SQLite log.")
@policies_option
@rules_option
def report(customer, month, format_, data_dir, decision_log, policies, rules):
    """Per target: the share of its clocks met, each breach with how late, and the time paused.

    A clock run met on time is met, one whose target ran out is breached (late from its due time to its
    stop, or to the month's end); one still on time at the month's end is open. A month not over yet has
    no report (it would change as the month goes on).
    """
    folders = folders_in_force(policies, rules)
    policy_set = load_policy(folders.roots, folders.label)
    log = stored_log(decision_log, _data_dir(data_dir, folders))
    try:
        zone = _zone(policy_set, customer, month)
        period = Month(month, zone)
        if period.end > datetime.now(timezone.utc):
            raise Failed(EXIT_FAILED, f"supportpolicy: {month} is not over in {zone.key}: its report is final, "
                                      f"and given, from {period.end.isoformat()}")
        evaluations = [_evaluated(policy_set, ticket, period) for ticket in TicketStore(log).of_customer(customer)]
    except EngineError as error:
        raise Failed(EXIT_FAILED, f"supportpolicy: {error.detail}") from None
    finally:
        log.close()
    found = sla_report(customer, period, [e for e in evaluations if e is not None])
    click.echo(REPORTERS[format_](found), nl=False)
    return EXIT_OK


def _zone(policy_set, customer: str, month: str) -> ZoneInfo:
    """The customer's time zone, as its contract in effect in the middle of the month has it."""
    middle = datetime(int(month[:4]), int(month[5:]), 15, tzinfo=timezone.utc)
    return policy_set.contract(customer, middle).terms.schedule.zone


def _evaluated(policy_set, ticket, month: Month):
    """The ticket read at the month's end, if it was received in the month; None otherwise."""
    request, designated = ticket.decidable()
    received = parse_instant(request["received_at"], POLICY_INSTANT)
    if received is None or not month.holds(received):
        return None
    events = [e for e in ticket.events if parse_instant(e["at"], POLICY_INSTANT) <= month.end]
    try:
        return evaluate_ticket(policy_set, {"request": request, "events": events}, month.end, designated)
    except EngineError as error:
        error.detail = f"ticket {ticket.ticket_id!r} cannot be read with the policy in force: {error.detail}"
        raise


def _duration(seconds: float) -> str:
    minutes = int(round(seconds)) // 60
    return f"{minutes // 60}h{minutes % 60:02d}m"


def text_report(found: SlaReport) -> str:
    data = found.as_json()
    lines = [f"SLA report: {data['customer']}, {data['month']} ({data['time_zone']}): {data['tickets']} ticket"
             f"{'s' if data['tickets'] != 1 else ''} received"]
    for name, target in data["targets"].items():
        share = "no clock closed" if target["share_met"] is None else f"{target['share_met'] * 100:.1f}% met"
        lines.append(f"  {name}: {share} ({target['met']} met, {target['breached']} breached, {target['open']} open, "
                     f"of {target['tickets']} tickets); paused {_duration(target['paused_seconds'])}")
        for breach in target["breaches"]:
            stopped = f"stopped {breach['stopped']}" if breach["stopped"] else "still running at the month's end"
            lines.append(f"    breach: {breach['ticket_id']} due {breach['due']}, {stopped}: "
                         f"{_duration(breach['late_seconds'])} late")
    return "\n".join(lines) + "\n"


CSV_COLUMNS = ("row", "target", "tickets", "met", "breached", "open", "share_met", "paused_seconds", "ticket_id",
               "due", "stopped", "late_seconds")


def csv_report(found: SlaReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for name, target in found.as_json()["targets"].items():
        writer.writerow(["target", name, target["tickets"], target["met"], target["breached"], target["open"],
                         "" if target["share_met"] is None else target["share_met"], target["paused_seconds"],
                         "", "", "", ""])
        for breach in target["breaches"]:
            writer.writerow(["breach", name, "", "", "", "", "", "", breach["ticket_id"], breach["due"],
                             breach["stopped"] or "", breach["late_seconds"]])
    return out.getvalue()


def json_report(found: SlaReport) -> str:
    return orjson.dumps(found.as_json(), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode()


REPORTERS = {"text": text_report, "csv": csv_report, "json": json_report}
