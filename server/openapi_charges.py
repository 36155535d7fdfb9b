"""The OpenAPI description of POST /v1/charges: its body (schemas/charge-request.schema.json) and answer."""
from __future__ import annotations

from supportpolicy.engine.load.schemas import schema
from supportpolicy.server.openapi_components import INSTANT, MAYBE_NAME, NAME, object_of, ref

_MINUTES = {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$", "description": "Minutes, exactly, e.g. \"90\"."}
_MONEY = {"type": "object", "required": ["amount", "currency"], "properties": {
    "amount": {"type": "string", "description": "Exact decimal, at least two places, e.g. \"300.00\"."},
    "currency": {"type": "string"}}}


def request_schema() -> dict:
    """The charge request's schema, its decision request the OpenAPI document's component."""
    document = {k: v for k, v in schema("charge-request").items() if k not in ("$schema", "$id")}
    request = document["properties"]["request"]
    properties = dict(document["properties"],
                      request=dict(ref("DecisionRequest"), description=request["description"]))
    return dict(document, properties=properties)


_LINE = object_of({
    "charged": {"type": "boolean"},
    "reason": {"enum": ["charged", "not_billable", "before_notice", "no_notice", "declined", "prepaid"],
               "description": "charged; or why not: the rules make it not billable (named in `rules`), or it "
                              "was worked before notice, with no notice, or after the customer declined, or it "
                              "was drawn from the prepaid block."},
    "period": {"enum": ["business_hours", "weeknight", "weekend", "holiday"]},
    "rate": {"oneOf": [{"type": "null"}, _MONEY]},
    "worked_minutes": _MINUTES,
    "billed_minutes": {**_MINUTES, "description": "Worked minutes with what the plan's minimum and increment add."},
    "amount": _MONEY,
    "spans": {"type": "array", "items": object_of({"entry_id": NAME, "start": INSTANT, "end": INSTANT})},
    "policy": {"description": "The versions in effect when the work was done, as a decision names them.",
               "type": "object", "required": ["id", "version", "digest", "files"]},
    "rules": {"type": "array", "items": object_of({"rule": NAME, "file": NAME, "line": {"type": "integer"}})},
    "terms": {"type": "array", "items": NAME,
              "description": "The terms that priced it, e.g. period_rate, after_hours.increment."},
})
RESPONSE = object_of({
    "ticket_id": MAYBE_NAME, "customer": NAME, "time_zone": NAME,
    "notice": {"oneOf": [{"type": "null"}, object_of({"given_at": INSTANT,
                                                    "response": {"enum": ["accepted", "declined"]}})]},
    "total": _MONEY,
    "lines": {"type": "array", "items": _LINE},
})
EXAMPLE = {
    "request": {"customer": "demo-city", "ticket_id": "T-1001", "received_at": "2026-11-28T23:00:00-06:00",
                "channel": "phone", "requester": {"email": "it.director@demo-city.gov"},
                "category": "usage_question"},
    "notice": {"given_at": "2026-11-28T23:05:00-06:00", "response": "accepted"},
    "entries": [{"entry_id": "w-1", "start": "2026-11-28T23:10:00-06:00", "end": "2026-11-29T00:40:00-06:00",
                 "by": "agent@example.com", "note": "Walked the webmaster through the page editor"}],
}


def charge_operations(problems, json_answer):
    """(path, method, Flask endpoint, operation) of the charge operations; ``problems`` and ``json_answer`` are
    server.openapi's builders of answers."""
    yield "/v1/charges", "post", "price_charges", {
        "operationId": "priceCharges",
        "tags": ["billing"],
        "summary": "What the work on a ticket costs: each span of work decided by the rules and terms in effect "
                   "when it was done, line by line; nothing is stored",
        "description": "The entries are split at every opening and closing of the support hours, at local "
                       "midnights and at the notice. Each span is decided as a request received at its start "
                       "(so with the versions in effect then): whether it is billable, at what rate, and whether "
                       "notice comes first. The plan's minimum charge and increment (per call-out or per ticket) "
                       "and its rounding rule, once per line, make the amounts. Overlapping or reversed entries, "
                       "work before received_at or in the future, a notice after the work ended, a currency "
                       "that is not the plan's and an entry's rate that is not the contract's are each a 422 "
                       "naming the field by JSON Pointer.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": request_schema(),
                                                                           "example": EXAMPLE}}},
        "responses": {
            **json_answer("The charge, line by line.", RESPONSE),
            **problems(400, "malformed-json"), **problems(404, "unknown-customer"),
            **problems(413, "payload-too-large", "limit-exceeded"), **problems(415, "unsupported-media-type"),
            **problems(422, "invalid-request", "no-policy-in-effect"),
            **problems(500, "internal-error", "engine-error")},
    }
