"""The OpenAPI 3.1 description of the API, built around the JSON Schemas in schemas/.

The document describes the server that serves it. ``openapi_document(scope_of)``
is given the scopes that server enforces, by Flask endpoint (server.app.SCOPE_OF),
when tokens are configured, and None when they are not: each operation's
security requirement and its 401 and 403 answers then come from the one table
the server enforces. Each operation below names the Flask endpoint that serves
it for that look-up; operationIds are the published names and stay as they are.

Every error is a problem document; each response lists the problem types it may
carry in ``x-problem-types`` (each one explained at /problems/<slug>).

Query parameters that are dates or instants carry exact patterns (RFC 3339,
real calendar days only), and server.app checks them with these same patterns,
so what the document calls valid is what the server accepts.
"""
from __future__ import annotations

from supportpolicy.engine.instants import INSTANT, POLICY_DATE, POLICY_INSTANT
from supportpolicy.server.openapi_components import components
from supportpolicy.server.openapi_components import ref as _ref
from supportpolicy.server.openapi_tickets import ticket_operations
from supportpolicy.server.problems import PROBLEM_TYPES

# Routes that are not operations of this API: the policy explorer, a page for
# people (GET / and its static files), which asks the API below for its data.
EXCLUDED_ENDPOINTS = {"explorer": "the policy explorer page (text/html, for people)",
                      "static": "the policy explorer's files (/explorer/<file>)"}

# Not `format: date-time` as well: validators take that to forbid the space RFC 3339 allows for the T.
_SPELLINGS = "; a space or t for the T, and z for Z, as RFC 3339 allows"

_STATUS_TEXT = {400: "The body is not valid JSON.", 401: "No valid bearer token.", 403: "The token lacks the scope.",
                404: "Not found.", 405: "The path does not accept this method.",
                413: "The body is too large (over 1 MiB), or nests or holds more than any request needs.",
                415: "The body is not application/json.", 422: "A field or parameter is invalid; `errors` names it.",
                500: "The server failed; never an answer to bad input.",
                503: "The decision log cannot be written or read: the decision is not given."}
_ERROR_HEADERS = {401: {"WWW-Authenticate": {"description": "How to authenticate: Bearer.", "required": True,
                                             "schema": {"type": "string"}}},
                  405: {"Allow": {"description": "The methods the path accepts.", "required": True,
                                  "schema": {"type": "string"}}}}


def _problems(status: int, *slugs: str) -> dict:
    """An error response: a problem document of one of these types."""
    unknown = set(slugs) - set(PROBLEM_TYPES)
    if unknown:  # every type a response names must be explained at /problems/<slug>
        raise ValueError(f"problem types not in server.problems.PROBLEM_TYPES: {sorted(unknown)}")
    response = {"description": f"{_STATUS_TEXT[status]} Problem types: {', '.join(slugs)}.",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                "x-problem-types": [f"/problems/{slug}" for slug in slugs]}
    if status in _ERROR_HEADERS:
        response["headers"] = _ERROR_HEADERS[status]
    return {str(status): response}


def _json(description: str, body_schema: dict, **extra) -> dict:
    return {"200": {"description": description, "content": {"application/json": {"schema": body_schema}}, **extra}}




def _query(name: str, description: str, value_schema: dict, example=None) -> dict:
    parameter = {"name": name, "in": "query", "description": description, "schema": value_schema}
    if example is not None:
        parameter["example"] = example
    return parameter


def _path(name: str, description: str, value_schema: dict, example=None) -> dict:
    return dict(_query(name, description, value_schema, example), **{"in": "path", "required": True})


def openapi_document(scope_of: dict | None = None) -> dict:
    """The document; ``scope_of`` maps Flask endpoints to the scope each needs, None without tokens."""
    document = {
        "openapi": "3.1.0",
        "info": {"title": "supportpolicy", "version": "1",
                 "description": "Support contracts as versioned policy: decisions for ticketing systems. "
                                "The policy explorer at / is a page for people, not part of this API. "
                                "A request the HTTP server cannot parse, on any path (a request line over 4094 "
                                "bytes: 414; headers over its limits: 431; malformed HTTP, a malformed chunked body "
                                "included: 400; not whole within 15 s of its first byte: 408), is answered "
                                "with a problem document of type /problems/http-error."},
        "paths": {},
        "components": {"schemas": components()},
    }
    for path, method, endpoint, operation in _operations():
        scope = (scope_of or {}).get(endpoint)
        if scope:
            operation["security"] = [{"bearer": [scope]}]
            operation["description"] = f"Needs a bearer token with the {scope} scope."
            operation["responses"].update(_problems(401, "unauthorized"))
            operation["responses"].update(_problems(403, "forbidden"))
        # Every path answers 405 to a method it does not accept, and any operation may fail (500).
        operation["responses"].update(_problems(405, "method-not-allowed"))
        operation["responses"].setdefault("500", _problems(500, "internal-error")["500"])
        document["paths"].setdefault(path, {})[method] = operation
    if scope_of:
        document["components"]["securitySchemes"] = {"bearer": {
            "type": "http", "scheme": "bearer", "description": "A token from `supportpolicy token add`."}}
    return document


def documented_endpoints() -> dict:
    """Flask endpoint -> (path, method) of each operation, for the tests that keep the two in step."""
    return {endpoint: (path, method) for path, method, endpoint, _ in _operations()}


def _operations():
    """(path, method, Flask endpoint, operation) for every operation of the API."""
    customer_id = _path("customer_id", "A customer's id (demo-city in the shipped policy).", {"type": "string"},
                        "demo-city")
    yield "/v1/decisions", "post", "decide", {
        "operationId": "decide",
        "summary": "Decide what the support contract says about a new request, and log the decision",
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": _ref("DecisionRequest"),
            "example": {"customer": "demo-city", "received_at": "2026-11-28T23:00:00-06:00", "channel": "phone",
                        "requester": {"email": "it.director@demo-city.gov"}, "category": "usage_question",
                        "ticket_id": "T-1001"}}}},
        "responses": {
            **_json("The decision.", _ref("Decision"), links={"loggedDecision": {
                "operationId": "loggedDecision", "parameters": {"decision_id": "$response.body#/decision_id"}}}),
            **_problems(400, "malformed-json"), **_problems(404, "unknown-customer"),
            **_problems(413, "payload-too-large", "limit-exceeded"), **_problems(415, "unsupported-media-type"),
            **_problems(422, "invalid-request", "no-policy-in-effect"),
            **_problems(500, "internal-error", "engine-error"), **_problems(503, "decision-log-unavailable")},
    }
    yield "/v1/decisions", "get", "logged_decisions", {
        "operationId": "loggedDecisions",
        "summary": "Logged decisions in the log's commit order, a page at a time",
        "description": "Decisions are listed in the order the log committed them, and decided_at never goes "
                       "back along that order: a follower that asks again with after=<the last decision_id "
                       "it saw>, or since=<its decided_at>, never misses a decision committed later.",
        "parameters": [
            _query("customer", "Only this customer's decisions.", {"type": "string"}),
            _query("since", f"Made at or after this instant (RFC 3339 with an offset{_SPELLINGS}).",
                   {"type": "string", "pattern": INSTANT}),
            _query("until", f"Made before this instant (RFC 3339 with an offset{_SPELLINGS}).",
                   {"type": "string", "pattern": INSTANT}),
            _query("limit", "Decisions on a page [default: 100].", {"type": "integer", "minimum": 1, "maximum": 1000}),
            _query("after", "The last decision_id of the previous page (or the last one a follower saw); a "
                            "decision_id that is not in the log is a 422.", {"type": "string"})],
        "responses": {
            **_json("A page of decisions; `next` links the following page, or is null on the last one.", {
                "type": "object", "required": ["decisions", "next"], "additionalProperties": False,
                "properties": {"decisions": {"type": "array", "items": _ref("LogRecord")},
                               "next": {"type": ["string", "null"], "format": "uri-reference"}}}),
            **_problems(404, "not-found"), **_problems(422, "invalid-request"),
            **_problems(503, "decision-log-unavailable")},
    }
    yield "/v1/decisions/{decision_id}", "get", "logged_decision", {
        "operationId": "loggedDecision",
        "summary": "A decision from the decision log, with its request",
        "parameters": [_path("decision_id", "The decision's id.", {"type": "string"})],
        "responses": {**_json("The logged decision with its request.", _ref("LogRecord")),
                      **_problems(404, "not-found"), **_problems(503, "decision-log-unavailable")},
    }
    customer_links = {"customerTerms": {"operationId": "customerTerms",
                                        "parameters": {"customer_id": "$response.body#/customers/0/id"}},
                      "customerCoverage": {"operationId": "customerCoverage",
                                           "parameters": {"customer_id": "$response.body#/customers/0/id"}}}
    yield "/v1/customers", "get", "customers", {
        "operationId": "listCustomers",
        "summary": "The customers with a contract, each with its contract versions and their plans",
        "responses": _json("The customers, by id.", _ref("CustomerList"), links=customer_links),
    }
    yield "/v1/customers/{customer_id}", "get", "customer", {
        "operationId": "customerTerms",
        "summary": "A customer's terms in force at a time, each with the file and line it comes from",
        "parameters": [customer_id, _query(
            "at", f"The instant (RFC 3339 with an offset{_SPELLINGS}, from 2000 to 2199) [default: now]. Before the "
                  "customer's first contract takes effect the answer is a 422 no-policy-in-effect; outside the years "
                  "the contract's holiday calendar knows (the US calendar: up to 2100), a 422 invalid-request.",
            {"type": "string", "pattern": POLICY_INSTANT}, "2026-11-27T10:00:00-06:00")],
        "responses": {**_json("The terms in force.", _ref("CustomerTerms")),
                      **_problems(404, "unknown-customer", "not-found"),
                      **_problems(422, "invalid-request", "no-policy-in-effect")},
    }
    yield "/v1/customers/{customer_id}/coverage", "get", "customer_coverage", {
        "operationId": "customerCoverage",
        "summary": "Who is covered when over one week, by local day: support hours, emergency-only periods, "
                   "holidays",
        "parameters": [customer_id, _query(
            "week_of", "A day of the week shown (YYYY-MM-DD, from 2000 to 2199), which starts on its Monday "
                       "[default: today in the customer's time zone]. A week reaching past the years the contract's "
                       "holiday calendar knows (the US calendar: up to 2100) is a 422 invalid-request; the upcoming "
                       "holidays stop at the calendar's last year.",
            {"type": "string", "format": "date", "pattern": POLICY_DATE}, "2026-11-23")],
        "responses": {**_json("The week's coverage, in the customer's time zone.", _ref("Coverage")),
                      **_problems(404, "unknown-customer", "not-found"), **_problems(422, "invalid-request")},
    }
    yield "/v1/policies", "get", "policies", {
        "operationId": "listPolicies",
        "summary": "The loaded policy files: ids, versions, effective dates, digests",
        "responses": _json("The policy set.", _ref("PolicySet")),
    }
    yield "/v1/status", "get", "status", {
        "operationId": "status",
        "summary": "The policy set in force, the last reload attempt and its errors, the decision log",
        "responses": _json("Status of the worker that answered.",
                           {"allOf": [_ref("PolicyStatus")], "required": ["decision_log"]}),
    }
    yield "/v1/admin/reload", "post", "reload", {
        "operationId": "reload",
        "summary": "Load the policy folders again; put them in force only if valid",
        "responses": {**_json("Reloaded and in force (or unchanged, and still in force).", {
            "type": "object", "required": ["reloaded", "digest", "status"], "additionalProperties": False,
            "properties": {"reloaded": {"const": True}, "digest": {"type": "string"},
                           "status": _ref("PolicyStatus")}}),
            "202": {"description": "The reload is still under way (it took longer than the server waits, 10 s by "
                                   "default): GET /v1/status shows its outcome when it is done.",
                    "headers": {"Location": {"description": "/v1/status", "required": True,
                                             "schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": {
                        "type": "object", "required": ["reloaded", "detail", "links"], "additionalProperties": False,
                        "properties": {"reloaded": {"const": False}, "detail": {"type": "string"},
                                       "links": {"type": "object", "required": ["status"],
                                                 "properties": {"status": {"type": "string"}}}}}}}},
            **_problems(422, "invalid-policy-set")},
    }
    yield from ticket_operations(_problems, _json)
    yield "/healthz", "get", "healthz", {
        "operationId": "health",
        "summary": "Liveness, with the active policy digest",
        "responses": _json("The service is up.", {
            "type": "object", "required": ["status", "policy_digest"], "additionalProperties": False,
            "properties": {"status": {"const": "ok"}, "policy_digest": {"type": "string"}}}),
    }
    yield "/metrics", "get", "prometheus", {
        "operationId": "metrics",
        "summary": "Prometheus metrics of every worker: decisions, latency, problems, policy in force",
        "responses": {"200": {"description": "Prometheus text format 0.0.4.",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}},
    }
    yield "/openapi.json", "get", "openapi", {
        "operationId": "openapi",
        "summary": "This document",
        "responses": _json("OpenAPI 3.1 document.", {"type": "object", "required": ["openapi", "info", "paths"]}),
    }
    yield "/problems/{slug}", "get", "problem_type", {
        "operationId": "problemType",
        "summary": "What a problem type means: the `type` of a problem document links here",
        "parameters": [_path("slug", "The problem type's name.", {"type": "string", "enum": sorted(PROBLEM_TYPES)},
                             "invalid-request")],
        "responses": {"200": {"description": "The explanation, one paragraph.",
                              "content": {"text/plain": {"schema": {"type": "string", "minLength": 1}}}},
                      **_problems(404, "not-found")},
    }
