"""The OpenAPI operations of deciding and of the decision log: POST /v1/decisions, batches, and the log's lookups.

``decision_operations`` is given server.openapi's builders of answers and parameters, as the webhooks' and
the tickets' operations are.
"""
from __future__ import annotations

from supportpolicy.engine.decide.batch import MAX_BATCH
from supportpolicy.server.decisionviews import REPLAYED
from supportpolicy.server.openapi_components import ref as _ref
from supportpolicy.server.params import DATE_OR_INSTANT, IDEMPOTENCY_KEY, ORDERS

# Not `format: date-time` as well: validators take that to forbid the space RFC 3339 allows for the T.
SPELLINGS = "; a space or t for the T, and z for Z, as RFC 3339 allows"


def decision_operations(problems, json_answer, query, path):
    """(path, method, Flask endpoint, operation) of deciding and of the decision log."""
    dry_run = query("dry_run", "true: decide without logging (nothing is written, the decision is counted in "
                                 "supportpolicy_dry_runs_total, not supportpolicy_decisions_total, and `impact` never "
                                 "replays it; its decision_id is in no log). Needs the read or the decide scope "
                                 "[default: false].", {"type": "boolean"})
    idempotency_key = {
        "name": "Idempotency-Key", "in": "header",
        "description": "draft-ietf-httpapi-idempotency-key-header: a retry with the same key and the same body (keys "
                       "sorted, spacing aside) is answered with the decision first given (same decision_id, same "
                       "body, header Idempotent-Replayed: true) and logs nothing; the same key with another body is a "
                       "422 idempotency-key-reused. Keys are the client's own (each token's, with tokens), kept as "
                       "long as the decision log keeps the decision they gave. A quoted string (\"...\") or a bare "
                       "value, 1 to 255 visible ASCII characters. A dry run reads no key and keeps none.",
        "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY}, "example": '"T-1001-created"'}
    yield "/v1/decisions", "post", "decide", {
        "operationId": "decide",
        "tags": ["decisions"],
        "description": "Decides one request with the policy versions in effect at its received_at: whether it is an "
                       "emergency and covered, when the first response is due (respond_by) and every other target, "
                       "whether handling it now is billable and at what rate, who handles it and where it escalates. "
                       "The decision is written to the decision log before it is answered.",
        "summary": "Decide what the support contract says about a new request, and log the decision",
        "x-scope-note": " (a dry run: the read or the decide scope)",
        "parameters": [dry_run, idempotency_key],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": _ref("DecisionRequest"),
            "example": {"customer": "demo-city", "received_at": "2026-11-28T23:00:00-06:00", "channel": "phone",
                        "requester": {"email": "it.director@demo-city.gov"}, "category": "usage_question",
                        "ticket_id": "T-1001"}}}},
        "responses": {
            **json_answer("The decision (for a retry, the one first given).", _ref("Decision"), headers={REPLAYED: {
                "description": "true when this is the decision first given to the same Idempotency-Key and body.",
                "schema": {"const": "true"}}}, links={"loggedDecision": {
                    "operationId": "loggedDecision", "parameters": {"decision_id": "$response.body#/decision_id"},
                    "description": "The decision as logged; not for a dry run, whose decision is in no log."}}),
            **problems(400, "malformed-json", "unknown-parameter", "invalid-idempotency-key"),
            **problems(404, "unknown-customer"),
            **problems(413, "payload-too-large", "limit-exceeded"), **problems(415, "unsupported-media-type"),
            **problems(422, "invalid-request", "no-policy-in-effect", "idempotency-key-reused"),
            **problems(500, "internal-error", "engine-error"), **problems(503, "decision-log-unavailable")},
    }
    yield "/v1/decisions/batch", "post", "decide_batch", {
        "operationId": "decideBatch",
        "tags": ["decisions"],
        "summary": f"Decide up to {MAX_BATCH} requests at once, each on its own, and log them in one transaction",
        "description": f"The body is {{\"requests\": [1 to {MAX_BATCH} decision requests]}} (at most 1 MiB in "
                       "all). Each request is decided or refused on its own: its result is its decision, or a "
                       "problem document whose pointers are relative to the request (/received_at). Every "
                       "decision of the batch is logged in one transaction before the answer; if the log cannot "
                       "be written, none is given (503). A malformed envelope is a 400 invalid-batch, more than "
                       f"{MAX_BATCH} requests a 413 limit-exceeded, and nothing of it is decided.",
        "parameters": [dry_run],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": _ref("DecisionBatch"),
            "example": {"requests": [
                {"customer": "demo-city", "received_at": "2026-11-28T23:00:00-06:00", "channel": "phone",
                 "requester": {"email": "it.director@demo-city.gov"}, "category": "usage_question",
                 "ticket_id": "T-1001"},
                {"customer": "demo-city", "received_at": "2026-11-27T10:00:00-06:00", "channel": "email",
                 "requester": {"email": "resident@example.org"}, "category": "website_down",
                 "ticket_id": "T-1002"}]}}}},
        "responses": {
            **json_answer("One result per request, in the order sent.", _ref("BatchResults")),
            **problems(400, "malformed-json", "invalid-batch", "unknown-parameter"),
            **problems(413, "payload-too-large", "limit-exceeded"), **problems(415, "unsupported-media-type"),
            **problems(422, "invalid-request"), **problems(503, "decision-log-unavailable")},
    }
    yield "/v1/decisions", "get", "logged_decisions", {
        "operationId": "loggedDecisions",
        "tags": ["decisions"],
        "summary": "Logged decisions in the log's commit order, a page at a time",
        "description": "Decisions are listed in the order the log committed them, and decided_at never goes "
                       "back along that order: a follower that asks again with after=<the last decision_id "
                       "it saw>, or since=<its decided_at>, never misses a decision committed later. With "
                       "ticket_id (and no order), newest first. A parameter not listed here is a 400 "
                       "unknown-parameter; `next` carries the parameters given, and no other.",
        "parameters": [
            query("customer", "Only this customer's decisions.", {"type": "string"}),
            query("ticket_id", "Only the decisions of requests that gave this ticket_id; newest first unless "
                                "order says otherwise.", {"type": "string"}, "T-1001"),
            query("since", f"Made at or after this instant (RFC 3339 with an offset{SPELLINGS}), or from the "
                            "start of this date (YYYY-MM-DD), read as 00:00 UTC, as `log export --since` reads it.",
                   {"type": "string", "pattern": DATE_OR_INSTANT}),
            query("until", f"Made before this instant (RFC 3339 with an offset{SPELLINGS}), or before the start "
                            "of this date (YYYY-MM-DD), read as 00:00 UTC, as `log export --until` reads it.",
                   {"type": "string", "pattern": DATE_OR_INSTANT}),
            query("order", "oldest_first (the log's commit order) or newest_first (its reverse) [default: "
                            "newest_first with ticket_id, else oldest_first].",
                   {"type": "string", "enum": list(ORDERS)}),
            query("limit", "Decisions on a page [default: 100].", {"type": "integer", "minimum": 1, "maximum": 1000}),
            query("after", "The last decision_id of the previous page (or the last one a follower saw); the "
                            "page goes on from it in the order asked for. A decision_id that is not in the log is "
                            "a 422.", {"type": "string"})],
        "responses": {
            **json_answer("A page of decisions; `next` links the following page, or is null on the last one.", {
                "type": "object", "required": ["decisions", "next"], "additionalProperties": False,
                "properties": {"decisions": {"type": "array", "items": _ref("LogRecord")},
                               "next": {"type": ["string", "null"], "format": "uri-reference"}}}),
            **problems(400, "unknown-parameter"), **problems(404, "not-found"), **problems(422, "invalid-request"),
            **problems(503, "decision-log-unavailable")},
    }
    yield "/v1/decisions/{decision_id}", "get", "logged_decision", {
        "operationId": "loggedDecision",
        "tags": ["decisions"],
        "description": "The decision as it was answered, with the request it was made for, as the decision log keeps "
                       "them.",
        "summary": "A decision from the decision log, with its request",
        "parameters": [path("decision_id", "The decision's id.", {"type": "string"})],
        "responses": {**json_answer("The logged decision with its request.", _ref("LogRecord")),
                      **problems(400, "unknown-parameter"),
                      **problems(404, "not-found"), **problems(503, "decision-log-unavailable")},
    }
