"""The OpenAPI description of a tracked ticket's work (storing entries, showing them with the ticket's charge)
and of a customer's monthly statement."""
from __future__ import annotations

from supportpolicy.server.openapi_charges import _LINE, _MINUTES, _MONEY, RESPONSE
from supportpolicy.server.openapi_charges import request_schema as charge_schema
from supportpolicy.server.openapi_components import NAME, object_of

_MONTH = "^(20[0-9]{2}|21[0-9]{2})-(0[1-9]|1[0-2])$"
UNBILLED = ["emergency", "inside_support_hours", "not_billable", "before_notice", "no_notice", "declined", "prepaid"]
_STORED_LINE = {"allOf": [_LINE, {"type": "object", "required": ["unbilled"], "properties": {"unbilled": {
    "description": "null for a charged line; else why the work was not billed: an emergency of a contact "
                   "entitled to emergency support, inside support hours, not billable otherwise (its rules say "
                   "why), before notice, with no notice, declined, or drawn from the prepaid block.",
    "oneOf": [{"type": "null"}, {"enum": UNBILLED}]}}}]}
_MONTH_CHARGE = {"allOf": [{**RESPONSE, "properties": dict(RESPONSE["properties"], lines={
    "type": "array", "items": _STORED_LINE})}, {"type": "object", "required": ["month"], "properties": {
        "month": {"description": "The local month the work began in (YYYY-MM), which bills it.",
                  "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}}}]}
_ENTRY = {"type": "object", "required": ["entry_id", "start", "end"], "properties": {
    "entry_id": NAME, "start": NAME, "end": NAME, "by": NAME, "note": NAME, "rate": _MONEY}}
WORK = object_of({
    "ticket_id": NAME, "customer": NAME,
    "notice": {"oneOf": [{"type": "null"}, object_of({"given_at": NAME,
                                                    "response": {"enum": ["accepted", "declined"]}})]},
    "entries": {"description": "The entries stored, by start (each keeps `by` only where the log keeps personal "
                               "data).", "type": "array", "items": _ENTRY},
    "charges": {"description": "Each month's charge, as priced when its work was stored.", "type": "array",
                "items": _MONTH_CHARGE},
    "totals": {"description": "The charges' totals, by currency.", "type": "array", "items": _MONEY},
})
APPENDED = {"allOf": [WORK, object_of({
    "stored": {"description": "Entries stored by this request.", "type": "integer", "minimum": 0},
    "already_stored": {"description": "Entries whose id was stored before with the same entry (a retry): stored "
                                      "once, not again.", "type": "integer", "minimum": 0},
    "notice_stored": {"description": "Whether the notice record was stored by this request.", "type": "boolean"}})]}
EXAMPLE = {"notice": {"given_at": "2026-11-28T23:05:00-06:00", "response": "accepted"},
           "entries": [{"entry_id": "w-1", "start": "2026-11-28T23:10:00-06:00", "end": "2026-11-29T00:40:00-06:00",
                        "by": "agent@example.com", "note": "Walked the webmaster through the page editor"}]}
_STATEMENT_LINE = object_of({
    "ticket_id": NAME, "start": NAME, "end": NAME, "entries": {"type": "array", "items": NAME},
    "period": {"enum": ["business_hours", "weeknight", "weekend", "holiday"]},
    "reason": {"description": "`charged`, or why the work was not billed.", "enum": ["charged", *UNBILLED]},
    "worked_minutes": _MINUTES, "billed_minutes": _MINUTES, "rate": {"oneOf": [{"type": "null"}, _MONEY]},
    "amount": _MONEY,
    "policy": object_of({"id": NAME, "version": NAME, "digest": NAME}),
    "rules": {"type": "array", "items": NAME}, "terms": {"type": "array", "items": NAME}})
STATEMENT = object_of({
    "customer": NAME, "month": NAME, "time_zone": NAME,
    "charged": {"type": "array", "items": _STATEMENT_LINE},
    "unbilled": {"description": "The work not billed, each line with its reason.", "type": "array",
                 "items": _STATEMENT_LINE},
    "totals": object_of({"charged": {"type": "array", "items": _MONEY}, "charged_lines": {"type": "integer"},
                         "billed_minutes": _MINUTES,
                         "unbilled_minutes": {"type": "object", "additionalProperties": _MINUTES}})})


def _work_schema() -> dict:
    charge = charge_schema()
    properties = {k: charge["properties"][k] for k in ("entries", "notice", "currency")}
    properties["notice"] = dict(properties["notice"], description="When the customer was told the work would be "
                                "charged, and their answer: sent once (with the first entries, or later); the "
                                "same again, or left out, afterwards.")
    return {"type": "object", "required": ["entries"], "additionalProperties": False, "properties": properties}


def work_operations(problems, json_answer, query, path):
    """(path, method, Flask endpoint, operation) of the work and statement operations."""
    ticket_id = path("ticket_id", "The ticketing system's own id for the ticket.",
                     {"type": "string", "minLength": 1, "maxLength": 200}, "T-1001")
    stored = {**problems(503, "decision-log-unavailable"), **problems(500, "internal-error", "engine-error")}
    yield "/v1/tickets/{ticket_id}/work", "post", "append_ticket_work", {
        "operationId": "appendTicketWork",
        "tags": ["billing"],
        "summary": "Store a tracked ticket's work entries and notice record, each entry once by its id, and "
                   "answer with the ticket's charge",
        "description": "The ticket is tracked first (POST /v1/tickets/{ticket_id}/events); an unknown ticket is a "
                       "404. The entries go to the decision log's store, all or none; an entry whose id was stored "
                       "before with the same content is a retry, stored once, and the same id with another entry "
                       "is a 422 naming it (/entries/<n>/entry_id). Overlapping or reversed entries (against those "
                       "stored too), work before received_at or in the future, a notice after the work ended or "
                       "other than the one stored, a currency not the plan's and an entry's rate not the contract's "
                       "are each a 422 naming the field. "
                       "Each month's work is priced as POST /v1/charges prices it, and kept as priced.",
        "parameters": [ticket_id],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _work_schema(),
                                                                           "example": EXAMPLE}}},
        "responses": {
            **json_answer("The ticket's work and charge, with what was stored.", APPENDED),
            **problems(400, "malformed-json", "unknown-parameter"), **problems(404, "not-found", "unknown-customer"),
            **problems(413, "payload-too-large", "limit-exceeded"), **problems(415, "unsupported-media-type"),
            **problems(422, "invalid-request", "no-policy-in-effect"), **stored},
    }
    yield "/v1/tickets/{ticket_id}/work", "get", "ticket_work", {
        "operationId": "ticketWork",
        "tags": ["billing"],
        "summary": "A tracked ticket's stored work entries, notice record and charge, month by month",
        "description": "The entries as stored, by start, the notice record, and the charge of each local month the "
                       "work began in, as priced when its work was stored (so a later policy change leaves it as "
                       "it was); a ticket not tracked is a 404.",
        "parameters": [ticket_id],
        "responses": {**json_answer("The ticket's work and charge.", WORK), **problems(400, "unknown-parameter"),
                      **problems(404, "not-found"), **stored},
    }
    customer_id = path("customer_id", "A customer's id (demo-city in the shipped policy).", {"type": "string"},
                       "demo-city")
    yield "/v1/customers/{customer_id}/statement", "get", "customer_statement", {
        "operationId": "customerStatement",
        "tags": ["billing"],
        "summary": "A customer's monthly statement: each charged line, the work not billed and why, the totals",
        "description": "Read from the charges stored with the tickets' work, as priced when the work was stored "
                       "(each line names the versions in effect when it was done), so the same month gives the "
                       "same statement and a later policy change does not alter a past month. A month's work is "
                       "the work begun in it, in the customer's time zone.",
        "parameters": [customer_id, dict(query("month", "The month, YYYY-MM (2000-01 to 2199-12), in the customer's "
                                                        "time zone.", {"type": "string", "pattern": _MONTH},
                                               "2026-11"), required=True)],
        "responses": {**json_answer("The statement.", STATEMENT), **problems(400, "unknown-parameter"),
                      **problems(404, "unknown-customer", "not-found"), **problems(422, "invalid-request"),
                      **stored},
    }
