"""The OpenAPI description of POST /v1/tickets/evaluate: its body (schemas/ticket-evaluation.schema.json) and answer."""
from __future__ import annotations

from supportpolicy.engine.load.schemas import schema
from supportpolicy.server.openapi_components import INSTANT, MAYBE_INSTANT, MAYBE_NAME, NAME, object_of, ref

_STATES = ["running", "paused", "met", "breached", "not_started", "not_applicable"]


def _inlined(node, defs: dict):
    """The ticket schema with its own $defs written in place, and the decision request as the component."""
    if isinstance(node, list):
        return [_inlined(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    target = node.get("$ref")
    if target == "decision-request.schema.json":
        return dict(ref("DecisionRequest"), **{k: v for k, v in node.items() if k != "$ref"})
    if isinstance(target, str) and target.startswith("#/$defs/"):
        return _inlined(defs[target.removeprefix("#/$defs/")], defs)
    return {key: _inlined(value, defs) for key, value in node.items() if key not in ("$schema", "$defs")}


def request_schema() -> dict:
    document = schema("ticket-evaluation")
    # Inlined, its references are the OpenAPI document's (#/components/...): no longer the file's resource, so
    # without the file's $id, against which they would be resolved.
    return _inlined({k: v for k, v in document.items() if k != "$id"}, document["$defs"])


_LEVEL = object_of({"level": {"type": "integer", "minimum": 1}, "round": {"type": "integer", "minimum": 1},
                  "team": NAME, "via": MAYBE_NAME, "fires_at": MAYBE_INSTANT, "fired": {"type": "boolean"}})
_TARGET = object_of({
    "state": {"enum": _STATES}, "due": MAYBE_INSTANT, "started_at": MAYBE_INSTANT, "stopped_at": MAYBE_INSTANT,
    "breached_at": MAYBE_INSTANT, "breaches": {"type": "array", "items": INSTANT},
    "stop": {"enum": ["first_public_agent_reply", "each_agent_reply", "solved"]},
    "elapsed_seconds": {"type": "number", "minimum": 0}, "remaining_seconds": {"type": "number", "minimum": 0},
    "target_seconds": {"type": "number", "minimum": 0}, "schedule": MAYBE_NAME,
    "paused": {"type": "array", "items": object_of({"from": INSTANT, "to": MAYBE_INSTANT})},
    "ran": {"description": "Each stretch the clock ran in (started, not stopped, not paused), oldest first, with "
                           "the cycle it belongs to (a next update starts one at each agent reply).",
            "type": "array", "items": object_of({"cycle": {"type": "integer", "minimum": 1}, "from": INSTANT,
                                                 "to": INSTANT})},
    "warnings": {"type": "array", "items": object_of({
        "percent": {"type": "integer"}, "action": {"enum": ["notify", "escalate"]}, "team": NAME,
        "via": MAYBE_NAME, "fires_at": MAYBE_INSTANT, "fired": {"type": "boolean"}})},
    "cycles": {"type": "integer", "minimum": 0}, "rule": NAME, "file": NAME, "line": {"type": "integer"}})
RESPONSE = object_of({
    "ticket_id": MAYBE_NAME, "customer": NAME,
    "policy": {"description": "The versions in effect when the ticket was received, as a decision names them.",
               "type": "object", "required": ["id", "version", "digest", "files"]},
    "received_at": INSTANT, "at": {"description": "When the clocks were read.", **INSTANT},
    "time_zone": NAME, "status": {"description": "The ticket's status at `at`.", **NAME},
    "attributes": {"type": "object"},
    "targets": {"description": "Each target's clock, by the target's name.", "type": "object",
                "additionalProperties": _TARGET},
    "escalation": {"oneOf": [{"type": "null"}, object_of({
        "level": {"type": "integer", "minimum": 0, "description": "The level reached (0: none yet)."},
        "round": {"type": ["integer", "null"]}, "reached_at": MAYBE_INSTANT, "team": MAYBE_NAME,
        "via": MAYBE_NAME, "acknowledged_at": MAYBE_INSTANT, "next": {"oneOf": [{"type": "null"}, _LEVEL]},
        "levels": {"type": "array", "items": _LEVEL}})]},
    "clocks": {"description": "Where the plan's clock terms are written.",
               **object_of({"file": NAME, "line": {"type": "integer", "minimum": 1}})},
    "trace": {"type": "array", "items": object_of({"rule": NAME, "file": NAME, "line": {"type": "integer"}})},
})
EXAMPLE = {
    "request": {"customer": "harbor-county", "received_at": "2026-11-23T10:00:00-08:00", "channel": "email",
                "requester": {"email": "cio@harbor-county.gov"}, "category": "outage", "attributes": {"severity": 2}},
    "events": [{"type": "status", "at": "2026-11-23T10:05:00-08:00", "status": "open"},
               {"type": "agent_reply", "at": "2026-11-23T10:40:00-08:00"},
               {"type": "status", "at": "2026-11-23T11:00:00-08:00", "status": "pending_customer"}],
    "at": "2026-11-23T12:00:00-08:00",
}


def ticket_operations(problems, json_answer):
    """(path, method, Flask endpoint, operation) of the ticket operations; ``problems`` and ``json_answer`` are
    server.openapi's builders of answers."""
    yield "/v1/tickets/evaluate", "post", "evaluate_ticket", {
        "operationId": "evaluateTicket",
        "tags": ["tickets"],
        "summary": "A ticket's clocks at one instant: each target's state, due time, time counted and left, pauses "
                   "and warnings, and the escalation level; nothing is logged",
        "description": "Every instant is decided by the contract versions in effect when the ticket was received. "
                       "A stream of events the plan's clocks cannot run on (out of order, before received_at or "
                       "after `at`, an unknown status, a reply on a solved ticket not reopened) is a 422 naming "
                       "each event at fault by JSON Pointer (/events/<n>).",
        "requestBody": {"required": True, "content": {"application/json": {"schema": request_schema(),
                                                                           "example": EXAMPLE}}},
        "responses": {
            **json_answer("The ticket's clocks.", RESPONSE),
            **problems(400, "malformed-json"), **problems(404, "unknown-customer"),
            **problems(413, "payload-too-large", "limit-exceeded"), **problems(415, "unsupported-media-type"),
            **problems(422, "invalid-request", "no-policy-in-effect"),
            **problems(500, "internal-error", "engine-error")},
    }
