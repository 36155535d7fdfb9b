"""A ticketing system's webhook payload, made a decision request by its integration's mapping, and decided.

The mapping (``load.integrations``) says, for each field of the decision
request, where in the payload it is read (a JSON Pointer) or which value it
always takes. What the mapping cannot read, and what the decision request
then refuses, is reported naming the payload's field, so the admin of the
ticketing system sees which placeholder or smart value to fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Mapping

from supportpolicy.engine.decide.decision import Decision
from supportpolicy.engine.decide.request import Limits, check_limits, decode_json
from supportpolicy.engine.errors import EngineError, FieldError
from supportpolicy.engine.instants import POLICY_INSTANT, parse_instant
from supportpolicy.engine.load.integrations import FieldMapping, Integration, comparable_word

# Ticketing systems send whole issues (Jira's hold a hundred fields and more), not the few fields of a
# decision request: deeper and wider than a request may be, still far within what costs little to read.
PAYLOAD_LIMITS = Limits(depth=16, items=2_000, nodes=50_000, string=100_000)
MISSING = object()
# ISO 8601 date-times as ticketing systems write them: seconds optional (Zendesk's 2013-12-12T05:35Z), the
# offset with or without its colon (Jira's 2022-02-18T15:20:11.662+0530).
_ISO_INSTANT = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2})(:\d{2}(?:[.,]\d{1,9})?)?"
                          r"([Zz]|[+-]\d{2}(?::?\d{2})?)")


class UnmappablePayload(EngineError):
    status = 422
    slug = "unmappable-payload"
    title = "The webhook payload cannot be made a decision request"


class NoIntegration(EngineError):
    status = 404
    slug = "not-found"
    title = "Not Found"


@dataclass(frozen=True)
class MappedRequest:
    """The decision request a payload makes, and where in the payload each of its fields was read."""

    body: dict
    sources: Mapping  # request field (JSON Pointer) -> the FieldMapping it came from


def decode_payload(raw: bytes) -> object:
    """The payload's JSON (strict, as a decision request's), within PAYLOAD_LIMITS."""
    body = decode_json(raw, PAYLOAD_LIMITS)
    check_limits(body, limits=PAYLOAD_LIMITS)
    return body


def map_payload(integration: Integration, payload) -> MappedRequest:
    """The decision request ``payload`` makes under ``integration``; UnmappablePayload naming every payload
    field it cannot read."""
    body, sources, errors = {}, {}, []
    for field in integration.fields:
        value, problem = _value(field, payload)
        if problem is not None:
            errors.append(problem)
            continue
        if value is MISSING:
            continue
        _put(body, field.target, value)
        sources[field.target] = field
    if errors:
        names = sorted({e.pointer for e in errors})
        raise UnmappablePayload(f"the payload cannot be mapped ({integration.file.path}): "
                                f"{len(names)} field{'s' if len(names) != 1 else ''} at fault: {', '.join(names)}",
                                sorted(errors, key=lambda e: e.pointer))
    return MappedRequest(body, MappingProxyType(sources))


def decide_payload(policy_set, system: str, payload, at: datetime,
                   decision_id: str | None = None) -> tuple[dict, Decision]:
    """The decision request the payload makes under the system's mapping in effect ``at``, and its decision.

    Errors of the decision request name the payload field the refused value came from.
    """
    integration = policy_set.integration(system, at)
    if integration is None:
        raise NoIntegration(f"the policy set in force maps no {system} webhook: add an `integration: {system}` "
                            "file to the policies (see docs/integrations.md)")
    mapped = map_payload(integration, payload)
    _keep_declared_attributes(policy_set, mapped.body)
    try:
        return mapped.body, policy_set.decide(mapped.body, decision_id)
    except EngineError as error:
        error.errors = tuple(_in_payload_terms(e, mapped.sources) for e in error.errors)
        raise


def _keep_declared_attributes(policy_set, body: dict) -> None:
    """Leave out the attributes the customer's contract does not declare: one ticketing system serves customers
    of several plans, and a mapped attribute (a severity) means something only under the plans declaring it."""
    if not body.get("attributes"):
        return
    received_at = parse_instant(body.get("received_at"), POLICY_INSTANT)
    try:
        contract = policy_set.contract(body.get("customer"), received_at) if received_at else None
    except EngineError:  # an unknown customer, or no contract yet: the decision request reports it
        contract = None
    if contract is not None:
        body["attributes"] = {k: v for k, v in body["attributes"].items() if k in contract.terms.attributes}
        if not body["attributes"]:
            del body["attributes"]


def _value(field: FieldMapping, payload) -> tuple[object, FieldError | None]:
    """The request field's value (or MISSING: an optional field the payload leaves out), or the problem."""
    if field.source is None:
        return _converted(field, field.value, None)
    raw = resolve(payload, field.source)
    if raw is MISSING or raw is None or (isinstance(raw, str) and not raw.strip()):
        if field.default is not None:
            return _converted(field, field.default, None)
        if field.required:
            return None, FieldError(field.source, f"is missing or empty; the mapping ({field.place}) reads "
                                                  f"{_named(field.target)} from it")
        return MISSING, None
    if isinstance(raw, (dict, list)):
        return None, FieldError(field.source, f"is {'an object' if isinstance(raw, dict) else 'a list'}; "
                                              f"{_named(field.target)} needs a word, a number or true/false "
                                              f"(the mapping, {field.place}, may point into it)")
    if field.map:
        word = comparable_word(raw)
        if word in field.map:
            return _converted(field, field.map[word], field.source)
        if field.otherwise is None:
            known = ", ".join(repr(k) for k in list(field.map)[:10]) + (", ..." if len(field.map) > 10 else "")
            return None, FieldError(field.source, f"{_shown(raw)} is not a word the mapping ({field.place}) "
                                                  f"turns into {_named(field.target)}; it knows: {known}")
        return _converted(field, field.otherwise, field.source)
    return _converted(field, raw, field.source)


def _converted(field: FieldMapping, value, source: str | None) -> tuple[object, FieldError | None]:
    where = source or field.target
    if field.target.startswith("/attributes/"):
        return value, None
    if isinstance(value, bool):
        return None, FieldError(where, f"is true/false; {_named(field.target)} needs text")
    text = str(value).strip() if field.target not in ("/summary",) else str(value)
    if field.target != "/received_at":
        return text, None
    match = _ISO_INSTANT.fullmatch(text)
    if match is None:
        return None, FieldError(where, f"{_shown(value)} is not a date-time with an offset (ISO 8601, e.g. "
                                       f"2026-11-27T09:30:00-06:00 or 2026-11-27T15:30Z); {_named(field.target)} "
                                       "is read from it")
    day, minutes, seconds, offset = match.groups()
    offset = offset.upper()
    if offset != "Z":
        offset = offset[:3] + ":" + (offset[3:].lstrip(":") or "00")
    return f"{day}T{minutes}{(seconds or ':00').replace(',', '.')}{offset}", None


def resolve(document, pointer: str):
    """The value at the JSON Pointer (RFC 6901) in ``document``, or MISSING."""
    value = document
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isascii() and token.isdigit() and int(token) < len(value) \
                and (token == "0" or not token.startswith("0")):
            value = value[int(token)]
        else:
            return MISSING
    return value


def _put(body: dict, target: str, value) -> None:
    *parents, name = target.strip("/").split("/")
    for parent in parents:
        body = body.setdefault(parent, {})
    body[name] = value


def _in_payload_terms(error: FieldError, sources: Mapping) -> FieldError:
    """A decision request's field error, naming the payload field its value came from."""
    field = next((f for target, f in sources.items()
                  if error.pointer == target or error.pointer.startswith(target + "/")), None)
    if field is None or error.kind != "pointer":
        return error
    if field.source is None:
        return FieldError(error.pointer, f"{error.message} (the value the mapping, {field.place}, always gives "
                                         f"{_named(field.target)})")
    return FieldError(field.source, f"{error.message} (as {_named(field.target)}, mapped at {field.place})")


def _named(target: str) -> str:
    return "the decision request's " + target.strip("/").replace("/", ".")


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:76] + "...'"
