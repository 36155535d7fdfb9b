"""The schemas of the OpenAPI document's components: the files in schemas/, and the shapes of the other answers."""
from __future__ import annotations

from supportpolicy.engine.load.schemas import schema


def ref(name: str) -> dict:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def _component(name: str) -> dict:
    document = dict(schema(name))
    document.pop("$schema", None)
    return document


def components() -> dict:
    text, nullable_text = {"type": "string"}, {"type": ["string", "null"]}
    policy_file = {
        "type": "object", "required": ["path", "kind", "id", "version", "effective_from"],
        "properties": {"path": {"type": "string", "description": "Relative to the policy folders' parent."},
                       "kind": {"enum": ["plan", "customer", "ruleset"]}, "id": text, "version": text,
                       "effective_from": {"type": "string", "format": "date"}}}
    with_digest = {"allOf": [ref("PolicyFile")], "required": ["digest"],
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
        "DecisionBatch": {
            "type": "object", "required": ["requests"], "additionalProperties": False,
            "properties": {"requests": {
                "type": "array", "minItems": 1, "maxItems": 100,
                "description": "Decision requests (DecisionRequest), each checked on its own: one that is not "
                               "valid is refused in its result, and the others are decided.",
                "items": {"description": "A decision request (DecisionRequest)."}}}},
        "BatchResults": {
            "type": "object", "required": ["results"], "additionalProperties": False,
            "properties": {"results": {"type": "array", "items": {"oneOf": [
                {"type": "object", "required": ["status", "decision"], "additionalProperties": False,
                 "properties": {"status": {"const": 200}, "decision": ref("Decision")}},
                {"type": "object", "required": ["status", "problem"], "additionalProperties": False,
                 "properties": {"status": {"type": "integer", "minimum": 400, "maximum": 599},
                                "problem": ref("Problem")}}]}}}},
        "LogRecord": {
            "type": "object",
            "required": ["decision_id", "decided_at", "customer", "received_at", "policy_digest", "request",
                         "decision"],
            "properties": {
                "decision_id": text,
                "decided_at": {"type": "string", "format": "date-time", "description": "When it was decided, UTC."},
                "customer": text, "received_at": text, "policy_digest": text,
                "request": ref("DecisionRequest"), "decision": ref("Decision")}},
        "PolicySet": {
            "type": "object", "required": ["digest", "loaded_at", "files"],
            "properties": {
                "digest": {"type": "string", "description": "sha256 over every file of the set."},
                "loaded_at": {"type": "string", "format": "date-time", "description": "When the set was loaded."},
                "files": {"type": "array", "items": with_digest}}},
        "PolicyStatus": {
            "type": "object", "required": ["active", "last_attempt", "folders", "pid"],
            "properties": {
                "active": ref("PolicySet"),
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
                        "allOf": [ref("PolicyFile")], "required": ["plan"],
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
                "contract": ref("PolicyFile"), "plan": ref("PolicyFile"),
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
                    "properties": {"rate": money, "notice_required": {"type": "boolean"}}}]},
                "schedules": {"type": "object", "description": "The plan's other schedules over the same week, by "
                              "name: when each is open, in its own time zone.",
                              "additionalProperties": {
                                  "type": "object", "required": ["time_zone", "open"],
                                  "properties": {"time_zone": text, "open": {"type": "array", "items": {
                                      "type": "object", "required": ["from", "to"],
                                      "properties": {"from": {"type": "string", "format": "date-time"},
                                                     "to": {"type": "string", "format": "date-time"}}}}}}}}},
    }
