"""The OpenAPI 3.1 description, built around the JSON Schemas in schemas/."""
from __future__ import annotations

from engine.schemas import schema


def _component(name: str) -> dict:
    document = dict(schema(name))
    document.pop("$schema", None)
    return document


def _problem_responses(*statuses: int) -> dict:
    descriptions = {400: "The body is not valid JSON.", 404: "Unknown customer or path.",
                    405: "Method not allowed.", 413: "The body is larger than 1 MiB.",
                    415: "The body is not application/json.", 422: "A field is invalid; `errors` names each one.",
                    500: "The server failed (never for bad input)."}
    return {str(s): {"description": descriptions[s], "content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}} for s in statuses}


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "supportpolicy", "version": "1",
                 "description": "Support contracts as versioned policy: decisions for ticketing systems."},
        "paths": {
            "/v1/decisions": {"post": {
                "operationId": "decide",
                "summary": "Decide what the support contract says about a new request",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/DecisionRequest"}}}},
                "responses": {"200": {"description": "The decision.", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Decision"}}}},
                    **_problem_responses(400, 404, 405, 413, 415, 422, 500)},
            }},
            "/v1/policies": {"get": {
                "operationId": "listPolicies",
                "summary": "The loaded policy files: ids, versions, effective dates, digests",
                "responses": {"200": {"description": "The policy set.", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/PolicySet"}}}}, **_problem_responses(405, 500)},
            }},
            "/healthz": {"get": {
                "operationId": "health",
                "summary": "Liveness, with the active policy digest",
                "responses": {"200": {"description": "The service is up.", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["status", "policy_digest"],
                               "properties": {"status": {"const": "ok"}, "policy_digest": {"type": "string"}}}}}},
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
