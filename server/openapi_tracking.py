"""The OpenAPI description of the tracked tickets: appending events, a ticket's clocks, and the queue."""
from __future__ import annotations

from supportpolicy.engine.instants import INSTANT, POLICY_INSTANT
from supportpolicy.server.openapi_components import INSTANT as _INSTANT
from supportpolicy.server.openapi_components import ref
from supportpolicy.server.openapi_tickets import RESPONSE, request_schema

_MARK = {"oneOf": [{"type": "null"}, {"type": "object", "required": ["at", "target"], "properties": {
    "at": _INSTANT, "target": {"type": "string"}}}]}
_QUEUED = {"type": "object", "required": ["ticket_id", "customer", "plan", "state", "state_at_last_event", "warning",
                                          "breach", "next", "events", "updated_at"], "properties": {
    "ticket_id": {"type": "string"}, "customer": {"type": "string"},
    "plan": {"description": "The plan in effect when the ticket was received: `<id> <version>`.", "type": "string"},
    "state": {"description": "Now: breached once a breach has passed, warning once a warning has, else as at "
                             "its last event.", "enum": ["breached", "warning", "running", "paused", "met"]},
    "state_at_last_event": {"enum": ["breached", "running", "paused", "met"]},
    "warning": {"description": "The first warning of a clock still open (fired, or foreseen if it runs on "
                               "without a pause), in UTC.", **_MARK},
    "breach": {"description": "The first breach of a clock still open (passed, or foreseen likewise), in UTC.",
               **_MARK},
    "next": {"description": "The sooner of the two: the queue's order.", "oneOf": [{"type": "null"}, {
        "type": "object", "required": ["at", "kind", "target"], "properties": {
            "at": _INSTANT, "kind": {"enum": ["warning", "breach"]}, "target": {"type": "string"}}}]},
    "events": {"type": "integer", "minimum": 0}, "updated_at": _INSTANT}}
APPENDED = {"allOf": [RESPONSE, {"type": "object", "required": ["stored", "already_stored"], "properties": {
    "stored": {"description": "Events stored by this request.", "type": "integer", "minimum": 0},
    "already_stored": {"description": "Events whose id was stored before with the same event (a retry): "
                                      "stored once, not again.", "type": "integer", "minimum": 0}}}]}
EXAMPLE = {
    "request": {"customer": "harbor-county", "received_at": "2026-11-23T10:00:00-08:00", "channel": "email",
                "requester": {"email": "cio@harbor-county.gov"}, "category": "outage", "attributes": {"severity": 2}},
    "events": [{"type": "status", "at": "2026-11-23T10:05:00-08:00", "status": "open", "id": "zd-881-1"},
               {"type": "agent_reply", "at": "2026-11-23T10:40:00-08:00", "id": "zd-881-2"}],
}


def _append_schema() -> dict:
    ticket = request_schema()
    event = dict(ticket["properties"]["events"]["items"])
    return {"type": "object", "required": ["events"], "additionalProperties": False, "properties": {
        "request": {"description": "The ticket's decision request, the first time: else the ticket's, or that of "
                                   "the latest logged decision with this ticket_id. Its ticket_id is the path's.",
                    **ref("DecisionRequest")},
        "events": {"description": "Events, oldest first, each with the ticketing system's own `id`.",
                   "type": "array", "minItems": 1, "maxItems": 1000,
                   "items": {"allOf": [event, {"required": ["id"], "properties": {
                       "id": {"type": "string", "minLength": 1, "maxLength": 200}}}]}}}}


def tracking_operations(problems, json_answer, query, path):
    """(path, method, Flask endpoint, operation) of the tracked tickets' operations."""
    ticket_id = path("ticket_id", "The ticketing system's own id for the ticket (any but `evaluate`, which names "
                                  "POST /v1/tickets/evaluate).", {"type": "string", "minLength": 1, "maxLength": 200},
                     "zd-881")
    yield "/v1/tickets/{ticket_id}/events", "post", "append_ticket_events", {
        "operationId": "appendTicketEvents",
        "tags": ["tickets"],
        "summary": "Store a tracked ticket's events, each once by its id, and answer with its clocks now",
        "description": "For ticketing systems that only send webhooks. The events go to the decision log's store, "
                       "all or none; an event whose id was stored before with the same content is a retry, stored "
                       "once, and the same id with another event is a 422 naming it (/events/<n>/id). The first "
                       "time, the body gives the ticket's decision request, or the latest logged decision with "
                       "this ticket_id does. A stream the plan's clocks cannot run on (out of order, before "
                       "received_at or in the future, an unknown status, a reply on a solved ticket not "
                       "reopened) is a 422 naming each event at fault by its place in this body.",
        "parameters": [ticket_id],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _append_schema(),
                                                                           "example": EXAMPLE}}},
        "responses": {
            **json_answer("The ticket's clocks now, with what was stored.", APPENDED),
            **problems(400, "malformed-json", "unknown-parameter"), **problems(404, "unknown-customer", "not-found"),
            **problems(413, "payload-too-large", "limit-exceeded"), **problems(415, "unsupported-media-type"),
            **problems(422, "invalid-request", "no-policy-in-effect"), **problems(503, "decision-log-unavailable"),
            **problems(500, "internal-error", "engine-error")},
    }
    yield "/v1/tickets/{ticket_id}", "get", "tracked_ticket", {
        "operationId": "trackedTicket",
        "tags": ["tickets"],
        "summary": "A tracked ticket's clocks, now or at an instant, from its stored events",
        "description": "As POST /v1/tickets/evaluate answers for the ticket's decision request and the events "
                       "stored up to `at`.",
        "parameters": [ticket_id, query(
            "at", "When to read the clocks (RFC 3339 with an offset, from 2000 to 2199) [default: now]; the events "
                  "stored after it are left out.", {"type": "string", "pattern": POLICY_INSTANT},
            "2026-11-23T12:00:00-08:00")],
        "responses": {
            **json_answer("The ticket's clocks.", RESPONSE), **problems(400, "unknown-parameter"),
            **problems(404, "not-found", "unknown-customer"), **problems(422, "invalid-request", "no-policy-in-effect"),
            **problems(503, "decision-log-unavailable"), **problems(500, "internal-error", "engine-error")},
    }
    yield "/v1/tickets", "get", "ticket_queue", {
        "operationId": "ticketQueue",
        "tags": ["tickets"],
        "summary": "The queue: tracked tickets that reach a warning or breach before an instant, soonest first",
        "description": "Read from an index of each ticket's next deadline, written at its last event, so the "
                       "first page is fast however many tickets are tracked. `next` links the following page.",
        "parameters": [
            query("customer", "Only this customer's tickets.", {"type": "string"}, "harbor-county"),
            query("due_before", "Only deadlines before this instant (RFC 3339 with an offset).",
                  {"type": "string", "pattern": INSTANT}, "2026-11-24T00:00:00Z"),
            query("state", "`warning`: by the first warning; `breached`: by the breach [default: by the sooner].",
                  {"enum": ["warning", "breached"]}, "breached"),
            query("limit", "Tickets on a page [default: 100].", {"type": "integer", "minimum": 1, "maximum": 1000},
                  50),
            query("after", "Where the page starts: taken from the `next` link of the page before.",
                  {"type": "string", "minLength": 28})],
        "responses": {
            **json_answer("A page of the queue.", {"type": "object", "required": ["tickets", "next"], "properties": {
                "tickets": {"type": "array", "items": _QUEUED},
                "next": {"description": "The following page, or null on the last.", "type": ["string", "null"]}}}),
            **problems(400, "unknown-parameter"), **problems(404, "not-found"), **problems(422, "invalid-request"),
            **problems(503, "decision-log-unavailable"), **problems(500, "internal-error", "engine-error")},
    }
