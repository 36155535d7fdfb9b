"""The schemas of the OpenAPI document's components: the files in schemas/, and the shapes of the other answers."""
from __future__ import annotations

from supportpolicy.engine.load.schemas import schema
from supportpolicy.engine.vocabulary import UNITS

# The building blocks of the answers' schemas, shared by the operations' modules.
INSTANT = {"type": "string", "format": "date-time"}
MAYBE_INSTANT = {"type": ["string", "null"], "format": "date-time"}
NAME, MAYBE_NAME = {"type": "string"}, {"type": ["string", "null"]}


def object_of(properties: dict, required=None) -> dict:
    """An object with these properties, all of them required unless ``required`` says which."""
    return {"type": "object", "required": list(properties) if required is None else required,
            "properties": properties}


def ref(name: str) -> dict:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def _component(name: str) -> dict:
    document = dict(schema(name))
    document.pop("$schema", None)
    return document


def masked_request() -> dict:
    """A decision request as the decision log keeps it by default: the e-mail as a keyed hash, beside the
    requester's designated-contact status, and no summary."""
    document = _component("decision-request")
    document["title"] = "Masked decision request"
    document["description"] = ("A decision request as the decision log keeps it when it masks personal data: the "
                               "requester's e-mail only as a keyed hash, with whether the requester was a "
                               "designated contact; by default no summary and no other requester field.")
    document["properties"] = dict(document["properties"], requester={
        "type": "object", "required": ["email_hmac", "designated_contact"],
        "properties": {
            "email_hmac": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                           "description": "HMAC-SHA256 (hex) of the e-mail as compared (A-Z as a-z), with the "
                                          "server's key."},
            "designated_contact": {"type": "boolean", "description": "Whether the requester was a designated "
                                                                     "contact of the customer then."}}})
    return document


def policy_source(text: dict, nullable_text: dict) -> dict:
    instant = {"type": "string", "format": "date-time"}
    return {"description": "With `serve --policy-source`, the database this replica follows; null with folders.",
            "oneOf": [{"type": "null"}, {
                "type": "object", "additionalProperties": False,
                "required": ["kind", "where", "state", "since", "last_checked", "last_error", "published"],
                "properties": {
                    "kind": {"const": "postgresql"},
                    "where": {"type": "string", "description": "The database's URL, without its password."},
                    "state": {"enum": ["following", "unreachable"], "description": (
                        "unreachable: the replica decides with the last set it verified, and reconnects.")},
                    "since": {**instant, "description": "When the state began."},
                    "last_checked": {"oneOf": [{"type": "null"}, instant],
                                     "description": "When the set in force there was last read."},
                    "last_error": nullable_text,
                    "published": {**nullable_text, "description": "The digest in force in the database, as last "
                                                                  "read (null: nothing published)."}}}]}


def fleet(text: dict) -> dict:
    return {"description": "With `serve --policy-source`, every replica whose heartbeat was seen in the last minute "
                           "(the replica's own view, a few seconds old at most); null with folders.",
            "oneOf": [{"type": "null"}, {
                "type": "object", "additionalProperties": False, "required": ["published", "replicas", "digests"],
                "properties": {
                    "published": {"type": ["string", "null"]},
                    "replicas": {"type": "array", "items": {
                        "type": "object", "additionalProperties": False,
                        "required": ["replica", "host", "pid", "digest", "seen_at", "caught_up"],
                        "properties": {"replica": text, "host": text, "pid": {"type": "integer"},
                                       "digest": {"type": "string", "description": "The set it decides with."},
                                       "seen_at": {"type": "string", "format": "date-time"},
                                       "caught_up": {"type": "boolean",
                                                     "description": "Whether it decides with the published set."}}}},
                    "digests": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1},
                                "description": "Replicas by the digest they decide with."}}}]}


def components() -> dict:
    text, nullable_text = {"type": "string"}, {"type": ["string", "null"]}
    versioned = {"type": "object", "required": ["id", "version"], "properties": {"id": text, "version": text}}
    policy_file = {
        "type": "object", "required": ["path", "kind", "id", "version", "effective_from"],
        "properties": {"path": {"type": "string", "description": "Relative to the policy folders' parent."},
                       "kind": {"enum": ["plan", "customer", "ruleset", "integration"]}, "id": text, "version": text,
                       "effective_from": {"type": "string", "format": "date"}}}
    with_digest = {"allOf": [ref("PolicyFile")], "required": ["digest"],
                   "properties": {"digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}}}
    policy_error = {
        "type": "object", "required": ["file", "line", "column", "code", "message", "json_path", "severity"],
        "properties": {"file": text, "line": {"type": "integer"}, "column": {"type": "integer"}, "code": text,
                       "message": text, "json_path": text, "severity": {"enum": ["error", "warning"]}}}
    # As a plan writes a target: one unit ({immediately: true}, {business_hours: 4}, {minutes: 30}, ...), and the
    # schedule business units count in when it is not the support hours.
    units = {unit: {"const": True} if unit in ("immediately", "next_business_day") else {"type": "number"}
             for unit in UNITS}
    response_target = {
        "description": "One unit and its amount, as the plan writes it: " + ", ".join(UNITS) + "; with `schedule` "
                       "when business time counts in another schedule than the support hours.",
        "type": "object", "minProperties": 1, "maxProperties": 2, "additionalProperties": False,
        "properties": dict(units, schedule={"type": "string"})}
    masked_field = {
        "type": "object", "required": ["field", "method"],
        "properties": {"field": {"type": "string", "description": "A JSON Pointer into the request as received."},
                       "method": {"enum": ["hmac-sha256", "removed"]},
                       "kept_as": {"type": "string", "description": "Where the hash is (hmac-sha256)."},
                       "key_id": {"type": "string", "description": "The key that hashed it (hmac-sha256)."}}}
    log_privacy = {
        "type": "object", "required": ["personal_data", "keep", "key_id"],
        "properties": {"personal_data": {"enum": ["masked", "kept"]},
                       "keep": {"type": "array", "items": text, "description": "Personal fields kept whole."},
                       "key_id": {"type": ["string", "null"],
                                  "description": "The key that hashes e-mails; null when they are kept."}}}
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
                         "decision", "privacy"],
            "properties": {
                "decision_id": text,
                "decided_at": {"type": "string", "format": "date-time", "description": "When it was decided, UTC."},
                "customer": text, "received_at": text, "policy_digest": text,
                "request": {"description": "The request as the log kept it: as received, or masked as `privacy` "
                                           "says.", "anyOf": [ref("DecisionRequest"), ref("MaskedRequest")]},
                "decision": ref("Decision"),
                "privacy": {"type": "object", "required": ["masked"], "properties": {"masked": {
                    "description": "Each field of the request as received that the record does not keep so "
                                   "(empty: kept as received).",
                    "type": "array", "items": masked_field}}}}},
        "MaskedRequest": masked_request(),
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
                    {"type": "null"}, {"type": "object", "required": ["store", "where", "privacy"],
                                       "properties": {"store": text, "where": text, "privacy": log_privacy}}]},
                "policy_source": policy_source(text, nullable_text),
                "fleet": fleet(text)}},
        "CustomerList": {
            "type": "object", "required": ["customers"], "additionalProperties": False,
            "properties": {"customers": {"type": "array", "items": {
                "type": "object", "required": ["id", "name", "time_zone", "versions"],
                "properties": {
                    "id": text, "name": nullable_text, "time_zone": {"type": "string", "description": "IANA."},
                    "versions": {"type": "array", "minItems": 1, "items": {
                        "allOf": [ref("PolicyFile")], "required": ["plan"],
                        "properties": {"plan": {
                            "type": "object", "required": ["id", "version", "pinned", "current_version"],
                            "properties": {
                                "id": text,
                                "version": {"type": "string", "description": (
                                    "The plan version this contract version is on: a pinned one, or \"current\" "
                                    "(not pinned: the version in effect when a request is received decides it).")},
                                "pinned": {"type": "boolean",
                                           "description": "Whether `version` is a pinned plan version."},
                                "current_version": {"type": ["string", "null"], "description": (
                                    "The plan's version in effect now (null before the first).")}}}}}}}}}}},
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
                        "rulesets": {"type": "array", "description": "The rule set versions in effect that day.",
                                     "items": versioned},
                        "takes_effect": {"type": "array", "description": "The versions that take effect this day, "
                                         "at local midnight.", "items": {
                                             "type": "object", "required": ["kind", "id", "version", "path"],
                                             "properties": {"kind": {"enum": ["plan", "customer", "ruleset"]},
                                                            "id": text, "version": text, "path": text}}},
                        "periods": {"type": "array", "minItems": 1, "items": {
                            "type": "object", "required": ["from", "to", "coverage"],
                            "properties": {"from": {"type": "string", "format": "date-time"},
                                           "to": {"type": "string", "format": "date-time"},
                                           "coverage": {"enum": ["support_hours", "emergency_only",
                                                                 "no_contract"]}}}}}}},
                "customer_time_zone": {"type": "boolean", "description": "The support hours are kept in the "
                                       "customer's own time zone (the plan's time_zone: customer)."},
                "schedule_description": nullable_text,
                "versions": {"type": "array", "description": "The versions in effect over the week, each run of "
                             "days under the same ones once.", "items": {
                                 "type": "object", "required": ["from", "to", "contract", "plan", "rulesets"],
                                 "properties": {"from": {"type": "string", "format": "date"},
                                                "to": {"type": "string", "format": "date"}, "contract": text,
                                                "plan": versioned, "rulesets": {"type": "array",
                                                                                "items": versioned}}}},
                "upcoming_holidays": {"type": "array", "items": {
                    "type": "object", "required": ["date", "name"],
                    "properties": {"date": {"type": "string", "format": "date", "description": "The day closed."},
                                   "name": text,
                                   "actual_date": {"type": "string", "format": "date", "description":
                                                   "The holiday's own date, when it is observed on another day."}}}},
                "legend": {"type": "object", "description": "Each kind of period: its name and what the contract "
                           "gives in it, in words made from the terms in effect.", "additionalProperties": {
                               "type": "object", "required": ["label", "description"],
                               "properties": {"label": text, "description": text}}},
                "labels": {"type": "object", "description": "The plan's words for the identifiers its rules use.",
                           "additionalProperties": text},
                "emergency_support": {"oneOf": [{"type": "null"}, {
                    "type": "object", "required": ["available_to", "response_target"],
                    "properties": {"available_to": {"enum": ["designated_contacts", "any_requester"]},
                                   "response_target": response_target, "response_target_words": text}}]},
                "after_hours": {"oneOf": [{"type": "null"}, {
                    "type": "object", "required": ["rate", "notice_required"],
                    "properties": {"rate": money, "notice_required": {"type": "boolean"}}}]},
                "schedules": {"type": "object", "description": "The plan's other schedules over the same week, by "
                              "name: when each is open, in its own time zone.",
                              "additionalProperties": {
                                  "type": "object", "required": ["time_zone", "open"],
                                  "properties": {"time_zone": text, "customer_time_zone": {"type": "boolean"},
                                                 "label": text, "description": nullable_text,
                                                 "open": {"type": "array", "items": {
                                      "type": "object", "required": ["from", "to"],
                                      "properties": {"from": {"type": "string", "format": "date-time"},
                                                     "to": {"type": "string", "format": "date-time"}}}}}}}}},
    }
