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

from engine.schemas import schema
from server.problems import PROBLEM_TYPES

# Routes that are not operations of this API: the policy explorer, a page for
# people (GET / and its static files), which asks the API below for its data.
EXCLUDED_ENDPOINTS = {"explorer": "the policy explorer page (text/html, for people)",
                      "static": "the policy explorer's files (/explorer/<file>)"}

# RFC 3339 (section 5.6) dates and date-times, admitting only days the calendar
# has (no 02-30; 02-29 in leap years only), as Python's datetime parses them.
_MONTH_DAY = ("(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
              "|02-(?:0[1-9]|1[0-9]|2[0-8]))")
_TIME = ("[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?"
         "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])")


def _full_date(years: str, leap_years: str) -> str:
    return f"(?:{years}-{_MONTH_DAY}|{leap_years}-02-29)"


# Any year datetime holds (0001-9999): for searching the decision log.
_ANY_DATE = _full_date("(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)",
                       "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][48]|[13579][26]|[2468]0)00)")
# 2000-2199 (engine.request FIRST_YEAR to LAST_YEAR), the years the policy
# calendar reckons in, as for a decision request's received_at.
_POLICY_DATE = _full_date("2[01][0-9]{2}", "(?:2000|2[01](?:0[48]|[2468][048]|[13579][26]))")
# Not `format: date-time` as well: validators take that to forbid the space RFC 3339 allows for the T.
_SPELLINGS = "; a space or t for the T, and z for Z, as RFC 3339 allows"
INSTANT = f"^{_ANY_DATE}{_TIME}$"
POLICY_INSTANT = f"^{_POLICY_DATE}{_TIME}$"
POLICY_DATE = f"^{_POLICY_DATE}$"

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


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


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
                                "bytes: 414; headers over its limits: 431; malformed HTTP: 400), is answered "
                                "before any operation with a problem document of type /problems/http-error."},
        "paths": {},
        "components": {"schemas": _components()},
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
        "summary": "Logged decisions, oldest first, a page at a time",
        "parameters": [
            _query("customer", "Only this customer's decisions.", {"type": "string"}),
            _query("since", f"Made at or after this instant (RFC 3339 with an offset{_SPELLINGS}).",
                   {"type": "string", "pattern": INSTANT}),
            _query("until", f"Made before this instant (RFC 3339 with an offset{_SPELLINGS}).",
                   {"type": "string", "pattern": INSTANT}),
            _query("limit", "Decisions on a page [default: 100].", {"type": "integer", "minimum": 1, "maximum": 1000}),
            _query("after", "The last decision_id of the previous page.", {"type": "string"})],
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
                  "customer's first contract takes effect the answer is a 422 no-policy-in-effect.",
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
                       "[default: today in the customer's time zone].",
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
        "responses": {**_json("Reloaded and in force.", {
            "type": "object", "required": ["reloaded", "digest", "status"], "additionalProperties": False,
            "properties": {"reloaded": {"const": True}, "digest": {"type": "string"},
                           "status": _ref("PolicyStatus")}}),
            **_problems(422, "invalid-policy-set")},
    }
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


def _component(name: str) -> dict:
    document = dict(schema(name))
    document.pop("$schema", None)
    return document


def _components() -> dict:
    text, nullable_text = {"type": "string"}, {"type": ["string", "null"]}
    policy_file = {
        "type": "object", "required": ["path", "kind", "id", "version", "effective_from"],
        "properties": {"path": {"type": "string", "description": "Relative to the policy folders' parent."},
                       "kind": {"enum": ["plan", "customer", "ruleset"]}, "id": text, "version": text,
                       "effective_from": {"type": "string", "format": "date"}}}
    with_digest = {"allOf": [_ref("PolicyFile")], "required": ["digest"],
                   "properties": {"digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}}}
    policy_error = {
        "type": "object", "required": ["file", "line", "column", "code", "message", "json_path", "severity"],
        "properties": {"file": text, "line": {"type": "integer"}, "column": {"type": "integer"}, "code": text,
                       "message": text, "json_path": text, "severity": {"enum": ["error", "warning"]}}}
    response_target = {
        "description": "{immediately: true}, {business_hours: n} or {calendar_hours: n}.",
        "type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
        "properties": {"immediately": {"const": True}, "business_hours": {"type": "number"},
                       "calendar_hours": {"type": "number"}}}
    money = {"type": "object", "required": ["amount", "currency"],
             "properties": {"amount": {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2,4}$"},
                            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}}}
    return {
        "DecisionRequest": _component("decision-request"),
        "Decision": _component("decision"),
        "Problem": _component("problem"),
        "PolicyFile": policy_file,
        "LogRecord": {
            "type": "object",
            "required": ["decision_id", "decided_at", "customer", "received_at", "policy_digest", "request",
                         "decision"],
            "properties": {
                "decision_id": text,
                "decided_at": {"type": "string", "format": "date-time", "description": "When it was decided, UTC."},
                "customer": text, "received_at": text, "policy_digest": text,
                "request": _ref("DecisionRequest"), "decision": _ref("Decision")}},
        "PolicySet": {
            "type": "object", "required": ["digest", "loaded_at", "files"],
            "properties": {
                "digest": {"type": "string", "description": "sha256 over every file of the set."},
                "loaded_at": {"type": "string", "format": "date-time", "description": "When the set was loaded."},
                "files": {"type": "array", "items": with_digest}}},
        "PolicyStatus": {
            "type": "object", "required": ["active", "last_attempt", "folders", "pid"],
            "properties": {
                "active": _ref("PolicySet"),
                "last_attempt": {
                    "type": "object", "required": ["at", "reason", "ok", "digest", "errors"],
                    "properties": {"at": {"type": "string", "format": "date-time"}, "reason": text,
                                   "ok": {"type": "boolean"}, "digest": nullable_text,
                                   "errors": {"type": "array", "items": policy_error}}},
                "folders": {"type": "array", "items": text},
                "pid": {"type": "integer", "description": "The worker process that answered."},
                "decision_log": {"description": "null when the server keeps no decision log.", "oneOf": [
                    {"type": "null"}, {"type": "object", "required": ["store", "where"],
                                       "properties": {"store": text, "where": text}}]}}},
        "CustomerList": {
            "type": "object", "required": ["customers"], "additionalProperties": False,
            "properties": {"customers": {"type": "array", "items": {
                "type": "object", "required": ["id", "name", "time_zone", "versions"],
                "properties": {
                    "id": text, "name": nullable_text, "time_zone": {"type": "string", "description": "IANA."},
                    "versions": {"type": "array", "minItems": 1, "items": {
                        "allOf": [_ref("PolicyFile")], "required": ["plan"],
                        "properties": {"plan": {
                            "type": "object", "required": ["id", "version"],
                            "properties": {"id": text, "version": {
                                "type": ["string", "null"],
                                "description": "A pinned plan version, or null: the one in effect."}}}}}}}}}}},
        "CustomerTerms": {
            "type": "object",
            "required": ["customer", "name", "at", "contract", "plan", "designated_contacts", "terms"],
            "properties": {
                "customer": text, "name": nullable_text, "at": {"type": "string", "format": "date-time"},
                "contract": _ref("PolicyFile"), "plan": _ref("PolicyFile"),
                "designated_contacts": {"type": "array", "items": text},
                "terms": {"type": "array", "items": {
                    "type": "object", "required": ["term", "value", "from"],
                    "properties": {
                        "term": {"type": "string", "description": "Dotted, e.g. after_hours.rate."},
                        "value": {"description": "As the policy file writes it."},
                        "from": {"type": "object", "required": ["file", "line"],
                                 "properties": {"file": text, "line": {"type": "integer", "minimum": 1}}}}}}}},
        "Coverage": {
            "type": "object",
            "required": ["customer", "name", "time_zone", "from", "to", "days", "upcoming_holidays",
                         "emergency_support", "after_hours"],
            "properties": {
                "customer": text, "name": nullable_text, "time_zone": text,
                "from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"},
                "days": {"type": "array", "minItems": 7, "maxItems": 7, "items": {
                    "type": "object", "required": ["date", "weekday", "holiday", "contract", "plan", "periods"],
                    "properties": {
                        "date": {"type": "string", "format": "date"},
                        "weekday": {"enum": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                             "sunday"]},
                        "holiday": nullable_text,
                        "contract": {"type": ["string", "null"], "description": "The customer version in effect."},
                        "plan": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["id", "version"],
                                                               "properties": {"id": text, "version": text}}]},
                        "periods": {"type": "array", "minItems": 1, "items": {
                            "type": "object", "required": ["from", "to", "coverage"],
                            "properties": {"from": {"type": "string", "format": "date-time"},
                                           "to": {"type": "string", "format": "date-time"},
                                           "coverage": {"enum": ["support_hours", "emergency_only",
                                                                 "no_contract"]}}}}}}},
                "upcoming_holidays": {"type": "array", "items": {
                    "type": "object", "required": ["date", "name"],
                    "properties": {"date": {"type": "string", "format": "date"}, "name": text}}},
                "emergency_support": {"oneOf": [{"type": "null"}, {
                    "type": "object", "required": ["available_to", "response_target"],
                    "properties": {"available_to": {"enum": ["designated_contacts", "any_requester"]},
                                   "response_target": response_target}}]},
                "after_hours": {"oneOf": [{"type": "null"}, {
                    "type": "object", "required": ["rate", "notice_required"],
                    "properties": {"rate": money, "notice_required": {"type": "boolean"}}}]}}},
    }
