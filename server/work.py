"""A tracked ticket's work: POST /v1/tickets/{ticket_id}/work stores work entries and the notice record, and
GET /v1/tickets/{ticket_id}/work shows them with the ticket's charge, month by month.

The entries go to the decision log's store (server.storage.work), each once by
its entry id, all or none; the charge is priced by ``engine.charge.ledger`` with
the engine POST /v1/charges prices with. Views translate; every error is
raised, and server.problems renders it.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal

import orjson
from flask import Flask, Response, request

from supportpolicy.engine.charge.ledger import Fresh, TicketWork, month_of, price_ticket_work
from supportpolicy.engine.charge.work import LIMITS
from supportpolicy.engine.decide.request import check_limits, decode_json
from supportpolicy.engine.errors import FieldError, InvalidRequest
from supportpolicy.engine.instants import POLICY_INSTANT, parse_instant
from supportpolicy.server import params
from supportpolicy.server.body import json_body
from supportpolicy.server.problems import NotFoundProblem
from supportpolicy.server.storage.work import Priced, StoredWork, WorkStore

# (rule, method, endpoint); the ticket_id converter is server.tracking's
ROUTES = (("/v1/tickets/<ticket_id:ticket_id>/work", "POST", "append_ticket_work"),
          ("/v1/tickets/<ticket_id:ticket_id>/work", "GET", "ticket_work"))
FIELDS = ("entries", "notice", "currency")
MAX_ENTRIES = 500  # sent at once, and stored for a ticket: as many as POST /v1/charges prices
MAX_ID = 200


class Work:
    def __init__(self, live, log):
        self.live, self.log = live, log

    def _store(self) -> WorkStore:
        if self.log is None:
            raise NotFoundProblem("this server keeps no decision log (it was started with --no-decision-log), "
                                  "so it stores no work: send the work whole to POST /v1/charges")
        return WorkStore(self.log)

    def append_ticket_work(self, ticket_id: str):
        params.only(request.args, ())
        entries, notice, currency = _work_body(decode_json(json_body()))
        policy_set, now = self.live.current, datetime.now(timezone.utc)

        def settle(work: StoredWork, fresh: list, notice_is_new: bool, prepaid_used: dict) -> Priced:
            if len(work.entries) + len(fresh) > MAX_ENTRIES:
                raise InvalidRequest("the ticket would hold too many work entries", [FieldError(
                    "/entries", f"would make {len(work.entries) + len(fresh)} entries of ticket {ticket_id!r} "
                                f"({len(work.entries)} are stored); a ticket holds at most {MAX_ENTRIES}, as many "
                                "as one charge prices")])
            engine_request, designated = work.ticket.decidable()
            ticket_work = TicketWork(engine_request, designated, notice if notice is not None else work.notice,
                                     work.entries, tuple(Fresh(i, e) for i, e in fresh), currency, notice_is_new)
            zone, months = price_ticket_work(policy_set, ticket_work, now, prepaid_used)
            local = lambda instant: instant.astimezone(zone).isoformat()  # noqa: E731
            return Priced(tuple((m.month, m.document(local), m.prepaid_minutes) for m in months),
                          {e["entry_id"]: month_of(parse_instant(e["start"], POLICY_INSTANT), zone) for _, e in fresh})

        appended = self._store().append(ticket_id, entries, notice, settle)
        if appended is None:
            raise _untracked(ticket_id)
        answer = dict(work_json(appended.work), stored=appended.stored, already_stored=appended.already_stored,
                      notice_stored=appended.notice_stored)
        return Response(orjson.dumps(answer), mimetype="application/json")

    def ticket_work(self, ticket_id: str):
        params.only(request.args, ())
        work = self._store().get(ticket_id)
        if work is None:
            raise _untracked(ticket_id)
        return Response(orjson.dumps(work_json(work)), mimetype="application/json")


def _untracked(ticket_id: str) -> NotFoundProblem:
    return NotFoundProblem(f"no ticket {ticket_id!r} is tracked: send its decision request with its first events "
                           f"to POST /v1/tickets/{ticket_id}/events, then its work here")


def work_json(work: StoredWork) -> dict:
    """The ticket's entries, notice and charges (each month's as priced when its work was stored), with the
    total of each currency."""
    totals: dict = {}
    for _, charge in work.charges:
        total = charge["total"]
        totals[total["currency"]] = totals.get(total["currency"], Decimal("0.00")) + Decimal(total["amount"])
    return {"ticket_id": work.ticket.ticket_id, "customer": work.ticket.customer, "notice": work.notice,
            "entries": list(work.entries), "charges": [charge for _, charge in work.charges],
            "totals": [{"amount": str(amount), "currency": currency} for currency, amount in sorted(totals.items())]}


def _work_body(body) -> tuple[list, dict | None, str | None]:
    """(index, entry) of each entry, the notice and the currency; InvalidRequest naming each field at fault (the
    entries' and notice's other fields are checked when they are priced, as POST /v1/charges checks them)."""
    check_limits(body, limits=LIMITS)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be an object", [FieldError("", "must be an object holding entries, "
                                                                           "and the notice once it is given")])
    errors = [FieldError(f"/{k}", f"is not a field here; the fields are: {', '.join(FIELDS)}") for k in sorted(body)
              if k not in FIELDS]
    entries = body.get("entries")
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_ENTRIES:
        errors.append(FieldError("/entries", f"is required: a list of 1 to {MAX_ENTRIES} work entries"))
        entries = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            errors.append(FieldError(f"/entries/{index}", "must be an object with an entry_id, a start and an end"))
        elif not isinstance(entry.get("entry_id"), str) or not 1 <= len(entry["entry_id"]) <= MAX_ID:
            errors.append(FieldError(f"/entries/{index}/entry_id", f"is required: the entry's own id (1 to {MAX_ID} "
                                                                   "characters), by which a retry is stored once"))
    notice = body.get("notice")
    if notice is not None and not isinstance(notice, dict):
        errors.append(FieldError("/notice", "must be null, or an object with given_at and response (accepted or "
                                            "declined)"))
    currency = body.get("currency")
    if "currency" in body and not (isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)):
        errors.append(FieldError("/currency", "must be an ISO 4217 currency code, e.g. USD, or be left out (the "
                                              "plan's currency)"))
    if errors:
        raise InvalidRequest("the work cannot be stored", errors)
    return list(enumerate(entries)), notice, currency


def register(app: Flask, live, log) -> None:
    """Add the routes (after server.tracking, whose ticket_id converter they use); ``live`` holds the policy set
    in force, ``log`` is the decision log (None: no store)."""
    views = Work(live, log)
    for rule, method, endpoint in ROUTES:
        app.add_url_rule(rule, endpoint, getattr(views, endpoint), methods=[method])
