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

from supportpolicy.engine.instants import INSTANT, POLICY_DATE, POLICY_INSTANT  # noqa: F401 (INSTANT: the tests')
from supportpolicy.server.openapi_charges import charge_operations
from supportpolicy.server.openapi_components import components
from supportpolicy.server.openapi_components import ref as _ref
from supportpolicy.server.openapi_decisions import SPELLINGS as _SPELLINGS
from supportpolicy.server.openapi_decisions import decision_operations
from supportpolicy.server.openapi_tickets import ticket_operations
from supportpolicy.server.openapi_tracking import tracking_operations
from supportpolicy.server.openapi_webhooks import SECURITY_SCHEMES, webhook_operations
from supportpolicy.server.openapi_work import work_operations
from supportpolicy.server.problems import DIGEST_HEADER, PROBLEM_TYPES

# Routes that are not operations of this API: the policy explorer, a page for
# people (GET / and its static files), which asks the API below for its data.
EXCLUDED_ENDPOINTS = {"explorer": "the policy explorer page (text/html, for people)",
                      "static": "the policy explorer's files (/explorer/<file>)"}


_STATUS_TEXT = {400: "The body is not valid JSON, or the request names a parameter the operation does not take, "
                      "or a header is malformed.",
                401: "No valid credentials: a bearer token, or a webhook's own.", 403: "The token lacks the scope.",
                404: "Not found.", 405: "The path does not accept this method.",
                413: "The body is too large (over 1 MiB), or nests or holds more than any request needs.",
                415: "The body is not application/json.", 422: "A field or parameter is invalid; `errors` names it.",
                500: "The server failed; never an answer to bad input.",
                503: "The decision log cannot be written or read: the decision is not given."}
_ERROR_HEADERS = {401: {"WWW-Authenticate": {"description": "How to authenticate: Bearer.", "required": True,
                                             "schema": {"type": "string"}}},
                  405: {"Allow": {"description": "The methods the path accepts.", "required": True,
                                  "schema": {"type": "string"}}}}


DIGEST_REF = "#/components/headers/PolicySetDigest"
POLICY_SET_DIGEST = {
    "description": "The digest of the policy set in force in the server process that answered (as GET /v1/policies "
                   "and `supportpolicy publish` show it). A decision's `policy.digest` covers the contract versions "
                   "that decided it; this header shows which whole set a replica decides with, so a client spreading "
                   "requests over a fleet sees a new set reach each replica.",
    "required": True, "schema": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}}


# The groups of operations, in the order a reader meets them.
TAGS = {"decisions": "Deciding requests, and the decision log.",
        "customers": "Customers, their terms in force and their weekly coverage.",
        "policies": "The loaded policy files.",
        "webhooks": "Decisions for Zendesk triggers and Jira automation rules, mapped from their payloads.",
        "tickets": "A ticket's clocks: its targets' states, warnings and breaches, and how far it has escalated; "
                   "tracked tickets (their events stored) and the queue of those due soonest.",
        "billing": "What the work on a ticket costs, priced by the contract versions in effect when it was done.",
        "operations": "Health, status, metrics and reloads, for the people who run the server.",
        "documentation": "This document and the problem types it names."}


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
                                "with a problem document of type /problems/http-error.",
                 # The software's licence; the contact is the provider's who runs it, which the project cannot know.
                 "license": {"name": "MIT", "identifier": "MIT"}},
        "servers": [{"url": "/", "description": "The server that serves this document."}],
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": {},
        "components": {"schemas": components(), "headers": {"PolicySetDigest": POLICY_SET_DIGEST}},
    }
    for path, method, endpoint, operation in _operations():
        scope = (scope_of or {}).get(endpoint)
        if "security" not in operation:  # the webhooks say theirs: a ticketing system's own credentials
            # An operation without a scope needs no token: `security: []` says so, rather than leaving it unsaid.
            operation["security"] = [{"bearer": [scope]}] if scope else []
            needs = (f"Needs a bearer token with the {scope} scope{operation.pop('x-scope-note', '')}." if scope
                     else "Needs no token." if scope_of
                     else "Needs no token: this server was started without tokens.")
            operation["description"] = f"{operation.get('description', '')} {needs}".lstrip()
        if scope:
            operation["responses"].update(_problems(401, "unauthorized"))
            operation["responses"].update(_problems(403, "forbidden"))
        # Every path answers 405 to a method it does not accept, and any operation may fail (500).
        operation["responses"].update(_problems(405, "method-not-allowed"))
        operation["responses"].setdefault("500", _problems(500, "internal-error")["500"])
        operation.pop("x-scope-note", None)
        for response in operation["responses"].values():  # every answer names the set it was decided with
            response["headers"] = {**response.get("headers", {}), DIGEST_HEADER: {"$ref": DIGEST_REF}}
        document["paths"].setdefault(path, {})[method] = operation
    document["components"]["securitySchemes"] = dict(SECURITY_SCHEMES)  # the webhooks' own
    if scope_of:
        document["components"]["securitySchemes"]["bearer"] = {
            "type": "http", "scheme": "bearer", "description": "A token from `supportpolicy token add`."}
    return document


def documented_endpoints() -> dict:
    """Flask endpoint -> (path, method) of each operation, for the tests that keep the two in step."""
    return {endpoint: (path, method) for path, method, endpoint, _ in _operations()}


def _operations():
    """(path, method, Flask endpoint, operation) for every operation of the API."""
    customer_id = _path("customer_id", "A customer's id (demo-city in the shipped policy).", {"type": "string"},
                        "demo-city")
    yield from decision_operations(_problems, _json, _query, _path)
    customer_links = {"customerTerms": {"operationId": "customerTerms",
                                        "parameters": {"customer_id": "$response.body#/customers/0/id"}},
                      "customerCoverage": {"operationId": "customerCoverage",
                                           "parameters": {"customer_id": "$response.body#/customers/0/id"}}}
    yield "/v1/customers", "get", "customers", {
        "operationId": "listCustomers",
        "tags": ["customers"],
        "description": "Every customer of the loaded policy set, with each version of its contract, the date it takes "
                       "effect and the plan it is on.",
        "summary": "The customers with a contract, each with its contract versions and their plans",
        "responses": _json("The customers, by id.", _ref("CustomerList"), links=customer_links),
    }
    yield "/v1/customers/{customer_id}", "get", "customer", {
        "operationId": "customerTerms",
        "tags": ["customers"],
        "description": "The terms of a customer's contract in force at an instant (its plan with the customer's "
                       "overrides applied), each term with the policy file and line that sets it.",
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
        "tags": ["customers"],
        "description": "One week of a customer's coverage, day by day in the customer's time zone: the support hours, "
                       "the periods only emergency support (and billable after-hours work) covers, holidays, and the "
                       "contract and plan versions in effect.",
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
        "tags": ["policies"],
        "description": "The policy files the server decides with: kind, id, version, the date each takes effect and "
                       "its content digest, with the digest of the whole set.",
        "summary": "The loaded policy files: ids, versions, effective dates, digests",
        "responses": _json("The policy set.", _ref("PolicySet")),
    }
    yield "/v1/status", "get", "status", {
        "operationId": "status",
        "tags": ["operations"],
        "description": "The policy set in force on the worker that answered, the outcome and errors of the last reload "
                       "attempt, the policy folders and the decision log in use; with `serve --policy-source`, the "
                       "database followed (`policy_source`) and the fleet of replicas (`fleet`).",
        "summary": "The policy set in force, the last reload attempt and its errors, the decision log",
        "responses": _json("Status of the worker that answered.",
                           {"allOf": [_ref("PolicyStatus")], "required": ["decision_log", "policy_source", "fleet"]}),
    }
    yield "/v1/admin/reload", "post", "reload", {
        "operationId": "reload",
        "tags": ["operations"],
        "description": "Loads the policy folders again and puts the new set in force only when every file is valid; "
                       "otherwise the set in force stays and the answer lists each error with its file, line and "
                       "column.",
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
    yield from webhook_operations(_problems, _json, _ref)
    yield from ticket_operations(_problems, _json)
    yield from charge_operations(_problems, _json)
    yield from tracking_operations(_problems, _json, _query, _path)
    yield from work_operations(_problems, _json, _query, _path)
    yield "/healthz", "get", "healthz", {
        "operationId": "health",
        "tags": ["operations"],
        "description": "Answers 200 while the worker is up (and so decides: also while its policy source cannot "
                       "be reached), with the digest of the policy set in force; for load balancers and liveness "
                       "probes.",
        "summary": "Liveness, with the active policy digest",
        "responses": _json("The service is up.", {
            "type": "object", "required": ["status", "policy_digest"], "additionalProperties": False,
            "properties": {"status": {"const": "ok"}, "policy_digest": {"type": "string"},
                           "policy_source": {"enum": ["following", "unreachable"], "description": (
                               "With `serve --policy-source` (absent with folders): whether the replica follows the "
                               "database, or cannot reach it and decides with the last set it verified.")}}}),
    }
    yield "/metrics", "get", "prometheus", {
        "operationId": "metrics",
        "tags": ["operations"],
        "description": "The counters and histograms of every worker in the Prometheus text format: decisions by "
                       "outcome, latency, problems by type, reloads and the policy set in force.",
        "summary": "Prometheus metrics of every worker: decisions, latency, problems, policy in force",
        "responses": {"200": {"description": "Prometheus text format 0.0.4.",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}},
    }
    yield "/openapi.json", "get", "openapi", {
        "operationId": "openapi",
        "tags": ["documentation"],
        "description": "This OpenAPI 3.1 document, describing the server that serves it (the security of each "
                       "operation included).",
        "summary": "This document",
        "responses": _json("OpenAPI 3.1 document.", {
            "type": "object", "required": ["openapi", "info", "paths"],
            "properties": {"openapi": {"type": "string"}, "info": {"type": "object"}, "paths": {"type": "object"}}}),
    }
    yield "/problems/{slug}", "get", "problem_type", {
        "operationId": "problemType",
        "tags": ["documentation"],
        "description": "What a problem type means, in one paragraph: the `type` URI of every problem document links "
                       "here.",
        "summary": "What a problem type means: the `type` of a problem document links here",
        "parameters": [_path("slug", "The problem type's name.", {"type": "string", "enum": sorted(PROBLEM_TYPES)},
                             "invalid-request")],
        "responses": {"200": {"description": "The explanation, one paragraph.",
                              "content": {"text/plain": {"schema": {"type": "string", "minLength": 1}}}},
                      **_problems(404, "not-found")},
    }
