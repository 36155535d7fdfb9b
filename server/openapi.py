"""The OpenAPI 3.1 description, built around the JSON Schemas in schemas/."""
from __future__ import annotations

from engine.schemas import schema


def _component(name: str) -> dict:
    document = dict(schema(name))
    document.pop("$schema", None)
    return document


def _problem_responses(*statuses: int) -> dict:
    descriptions = {400: "The body is not valid JSON.", 404: "Unknown customer or path.",
                    401: "No valid bearer token.", 403: "The token lacks the scope.",
                    405: "Method not allowed.", 413: "The body is larger than 1 MiB.",
                    415: "The body is not application/json.", 422: "A field is invalid; `errors` names each one.",
                    500: "The server failed (never for bad input).",
                    503: "The decision log cannot be written: the decision is not given."}
    return {str(s): {"description": descriptions[s], "content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}} for s in statuses}


def openapi_document() -> dict:
    document = _paths_and_components()
    # With tokens configured (supportpolicy serve --tokens), each operation that needs a scope
    # answers 401 without a valid token and 403 without the scope.
    document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    scopes = {"decide": "decide", "loggedDecision": "read", "loggedDecisions": "read", "customerTerms": "read",
              "listPolicies": "read", "status": "read", "reload": "admin"}
    for operations in document["paths"].values():
        for operation in operations.values():
            scope = scopes.get(operation["operationId"])
            if scope:
                operation["security"] = [{"bearer": [scope]}, {}]
                operation["description"] = f"Needs a token with the {scope} scope when tokens are configured."
                operation["responses"].update(_problem_responses(401, 403))
    return document


def _paths_and_components() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "supportpolicy", "version": "1",
                 "description": "Support contracts as versioned policy: decisions for ticketing systems."},
        "paths": {
            "/v1/decisions": {"get": {
                "operationId": "loggedDecisions",
                "summary": "Logged decisions, oldest first, a page at a time",
                "parameters": [
                    {"name": "customer", "in": "query", "schema": {"type": "string"}},
                    {"name": "since", "in": "query", "description": "Made at or after (RFC 3339).",
                     "schema": {"type": "string"}},
                    {"name": "until", "in": "query", "description": "Made before (RFC 3339).",
                     "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                    {"name": "after", "in": "query", "description": "The last decision_id of the previous page.",
                     "schema": {"type": "string"}}],
                "responses": {"200": {"description": "A page of decisions; `next` links the following page.",
                                      "content": {"application/json": {"schema": {
                                          "type": "object", "required": ["decisions", "next"],
                                          "properties": {"decisions": {"type": "array", "items": {
                                              "$ref": "#/components/schemas/LogRecord"}},
                                              "next": {"type": ["string", "null"]}}}}}},
                    **_problem_responses(404, 405, 422, 503)},
            }, "post": {
                "operationId": "decide",
                "summary": "Decide what the support contract says about a new request",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/DecisionRequest"}}}},
                "responses": {"200": {"description": "The decision.", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Decision"}}}},
                    **_problem_responses(400, 404, 405, 413, 415, 422, 503)},
            }},
            "/v1/decisions/{decision_id}": {"get": {
                "operationId": "loggedDecision",
                "summary": "A decision from the decision log",
                "parameters": [{"name": "decision_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The logged decision with its request.", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/LogRecord"}}}},
                    **_problem_responses(404, 405, 503)},
            }},
            "/v1/policies": {"get": {
                "operationId": "listPolicies",
                "summary": "The loaded policy files: ids, versions, effective dates, digests",
                "responses": {"200": {"description": "The policy set.", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/PolicySet"}}}}, **_problem_responses(405, 500)},
            }},
            "/v1/customers/{customer_id}": {"get": {
                "operationId": "customerTerms",
                "summary": "A customer's terms in force at a time, each with the file and line it comes from",
                "parameters": [
                    {"name": "customer_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "at", "in": "query", "description": "RFC 3339 with an offset [default: now].",
                     "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The terms in force.", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["customer", "at", "contract", "plan", "terms"]}}}},
                    **_problem_responses(404, 405, 422)},
            }},
            "/v1/status": {"get": {
                "operationId": "status",
                "summary": "The policy set in force, the last reload attempt and its errors",
                "responses": {"200": {"description": "Status of the worker that answered.", "content": {
                    "application/json": {"schema": {"type": "object",
                                                    "required": ["active", "last_attempt", "pid"]}}}},
                    **_problem_responses(405)},
            }},
            "/v1/admin/reload": {"post": {
                "operationId": "reload",
                "summary": "Load the policy folders again; put them in force only if valid",
                "responses": {"200": {"description": "Reloaded.", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["reloaded", "digest"]}}}},
                    **_problem_responses(405, 422)},
            }},
            "/healthz": {"get": {
                "operationId": "health",
                "summary": "Liveness, with the active policy digest",
                "responses": {"200": {"description": "The service is up.", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["status", "policy_digest"],
                               "properties": {"status": {"const": "ok"}, "policy_digest": {"type": "string"}}}}}},
                    **_problem_responses(405)},
            }},
            "/metrics": {"get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics of every worker: decisions, latency, problems, policy in force",
                "responses": {"200": {"description": "Prometheus text format.",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}},
                              **_problem_responses(405)},
            }},
            "/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
        },
        "components": {"schemas": {
            "DecisionRequest": _component("decision-request"),
            "Decision": _component("decision"),
            "Problem": _component("problem"),
            "LogRecord": {
                "type": "object",
                "required": ["decision_id", "decided_at", "customer", "received_at", "policy_digest", "request",
                             "decision"],
                "properties": {
                    "decision_id": {"type": "string"},
                    "decided_at": {"type": "string", "description": "When the decision was made, UTC."},
                    "customer": {"type": "string"}, "received_at": {"type": "string"},
                    "policy_digest": {"type": "string"},
                    "request": {"$ref": "#/components/schemas/DecisionRequest"},
                    "decision": {"$ref": "#/components/schemas/Decision"},
                },
            },
            "PolicySet": {
                "type": "object", "required": ["digest", "loaded_at", "files"],
                "properties": {
                    "digest": {"type": "string", "description": "sha256 over every file of the set."},
                    "loaded_at": {"type": "string", "description": "When the set was loaded, RFC 3339."},
                    "files": {"type": "array", "items": {
                        "type": "object", "required": ["path", "kind", "id", "version", "effective_from", "digest"],
                        "properties": {"path": {"type": "string"}, "kind": {"enum": ["plan", "customer", "ruleset"]},
                                       "id": {"type": "string"}, "version": {"type": "string"},
                                       "effective_from": {"type": "string"}, "digest": {"type": "string"}}}},
                },
            },
        }},
    }
