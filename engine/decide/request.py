"""A decision request: checked against its JSON Schema, then made a value."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Mapping

import orjson

from supportpolicy.engine.errors import FieldError, InvalidRequest, MalformedRequest, RequestTooComplex
from supportpolicy.engine.instants import FIRST_YEAR, LAST_YEAR, POLICY_INSTANT, parse_instant
from supportpolicy.engine.load.schemas import accepts, validator_for


@dataclass(frozen=True)
class Limits:
    """How big a decision request may be, beyond the 1 MiB body limit.

    A real request nests two levels deep with a handful of fields; the limits
    leave ample room for what ticketing systems add to ``requester`` while
    refusing, before any validation, bodies built to be expensive.
    """

    depth: int = 8  # objects and arrays within each other
    items: int = 64  # members of one object or elements of one array
    nodes: int = 1024  # values in the whole body
    string: int = 10_000  # characters in one string (the longest field, summary, allows 10,000)


LIMITS = Limits()


@dataclass(frozen=True)
class DecisionRequest:
    customer: str
    received_at: datetime
    channel: str
    requester_email: str
    category: str
    ticket_id: str | None = None
    summary: str | None = None
    # What the request says of itself, as the customer's plan declares its attributes.
    attributes: Mapping = field(default_factory=lambda: MappingProxyType({}))


def decode_json(raw: bytes | str, limits: Limits = LIMITS) -> object:
    """Strict JSON (RFC 8259, decoded by orjson): no NaN or Infinity, integers within
    64 bits, nesting within orjson's limit, no object naming a key twice; any failure is
    a MalformedRequest.

    orjson keeps the last of two equal keys, so a body with two ``requester``
    keys would be decided by the second while anyone reading the first saw
    another request. Counting the keys written against the keys kept costs a
    few microseconds (docs/speed.md); only a body where they differ is read again
    to name the key, once it is found within ``limits``.
    """
    body = loads(raw)
    if maybe_repeating(raw, body):
        repeated = repeated_keys(raw, body, limits)
        if repeated:
            raise duplicate_keys(repeated)
    return body


def loads(raw: bytes | str) -> object:
    """Strict JSON, as decode_json reads it, before any look for repeated keys."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, "
                               f"column {exc.colno}") from None


def maybe_repeating(raw: bytes | str, body: object) -> bool:
    """Whether the text may name a key twice in one object (the body, decoded, kept each key once)."""
    return _keys_written(raw) != _keys_kept(body)


_JSON_SPACE = b" \t\n\r"
_NO_JSON_SPACE = str.maketrans("", "", " \t\n\r")


def _keys_written(raw: bytes | str) -> int:
    """At least the number of keys the text writes, and exactly that unless a string holds a quote and a colon.

    Every key ends with a quote followed, after any whitespace, by its colon;
    without the whitespace, each is one '":'. A string can only add to the
    count (an escaped quote before a colon), which costs a second reading, never a
    duplicate missed.
    """
    if isinstance(raw, str):
        return raw.translate(_NO_JSON_SPACE).count('":')
    return bytes(raw).translate(None, _JSON_SPACE).count(b'":')


def _keys_kept(body: object) -> int:
    """The keys of every object of the decoded body, in which each key is kept once."""
    if type(body) is not dict and type(body) is not list:
        return 0
    count, stack = 0, [body]
    while stack:
        value = stack.pop()
        if type(value) is dict:
            count += len(value)
            value = value.values()
        # Only containers go on the stack: a request's values are mostly strings.
        stack.extend([v for v in value if type(v) is dict or type(v) is list])
    return count


@dataclass(frozen=True)
class _Repeating:
    """An object that names some key more than once: the keys named again, and every member whose value is an
    object or an array, as written (the first of two equal keys' too: it may repeat keys itself)."""

    repeated: tuple
    nested: list


def _object(pairs: list) -> dict | _Repeating:
    # json's object_pairs_hook: a dict, as json.loads makes, unless a key comes back (compared in C).
    members = dict(pairs)
    if len(members) == len(pairs):
        return members
    seen, again, nested = set(), set(), []
    for key, value in pairs:
        (again if key in seen else seen).add(key)
        if type(value) is dict or type(value) is list or type(value) is _Repeating:
            nested.append((key, value))
    return _Repeating(tuple(again), nested)


def repeated_keys(raw: bytes | str, body: object, limits: Limits = LIMITS) -> list[tuple[tuple, str]]:
    """(path of the object, key) for each key an object of the text names more than once, sorted.

    The limits come first: the standard library's parser, which keeps every
    member, recurses, so it only reads again a body as small and as shallow
    as ``limits`` allow.
    """
    check_limits(body, limits=limits)
    repeated, stack = [], [(json.loads(raw, object_pairs_hook=_object), ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _Repeating):
            repeated.extend((path, key) for key in value.repeated)
            members = value.nested
        elif isinstance(value, dict):
            members = value.items()
        elif isinstance(value, list):
            members = enumerate(value)
        else:
            continue
        stack.extend((member, path + (key,)) for key, member in members
                     if isinstance(member, (dict, list, _Repeating)))
    return sorted(repeated, key=lambda found: (pointer(found[0]), found[1]))


def duplicate_keys(repeated: list[tuple[tuple, str]]) -> MalformedRequest:
    """The error naming each repeated key (``repeated_keys``) and the object that holds it."""
    errors = [FieldError(pointer(path), f"holds the key {_shown(key)} more than once", key=key)
              for path, key in repeated]
    places = [f"{_shown(e.key)} {'at the top level' if not e.pointer else 'in the object at ' + e.pointer}"
              for e in errors]
    more = f" and {len(places) - 3} more" if len(places) > 3 else ""
    return MalformedRequest(f"the body names a key more than once in one object: {', '.join(places[:3])}{more}; "
                            "send each key once", errors)


def _shown(key: str) -> str:
    # JSON-quoted, so a key of control characters or quotes reads as written; a long one is cut short.
    text = json.dumps(key)
    return text if len(text) <= 80 else text[:76] + '..."'


def check_limits(body: object, path: tuple = (), depth: int = 0, limits: Limits = LIMITS) -> None:
    """Raise RequestTooComplex for the first container too deep or too large, InvalidRequest for a too-long string.

    Iterative, and stops at the first excess, so a hostile body costs no more
    than the limits allow.
    """
    stack, seen = [(body, path, depth)], 1
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if len(value) > limits.string:
                problem = f"is longer than {limits.string} characters"
                raise InvalidRequest(f"{pointer(path) or 'the body'} {problem}", [FieldError(pointer(path), problem)])
            continue
        if isinstance(value, dict):
            children = [(v, path + (k,), depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            children = [(v, path + (i,), depth + 1) for i, v in enumerate(value)]
        else:
            continue
        problem = (f"nests deeper than {limits.depth} levels" if depth >= limits.depth
                   else f"holds more than {limits.items} items" if len(children) > limits.items
                   else f"makes the body hold more than {limits.nodes} values"
                   if seen + len(children) > limits.nodes else None)
        if problem:
            where = pointer(path)
            raise RequestTooComplex(f"{where or 'the body'} {problem}", [FieldError(where, problem)])
        seen += len(children)
        stack.extend(children)


def pointer(path) -> str:
    """A JSON Pointer (RFC 6901) for a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _field_errors(body) -> list[FieldError]:
    validator = validator_for("decision-request")
    errors = []
    for error in validator.iter_errors(body):
        path = list(error.absolute_path)
        if error.validator == "required":
            # jsonschema reports a missing field at its parent; name the field itself.
            missing = [p for p in error.validator_value if p not in error.instance]
            name = next((p for p in missing if error.message.startswith(repr(p))), missing[0])
            errors.append(FieldError(pointer(path + [name]), "is required"))
        elif error.validator == "additionalProperties":
            known = error.schema.get("properties", {})
            for extra in sorted(k for k in error.instance if k not in known):
                errors.append(FieldError(pointer(path + [extra]), "is not a field of a decision request"))
        else:
            errors.append(FieldError(pointer(path), _message(error)))
    return errors


# What each patterned field must look like, in words: a client shown the regular expression has to decode it.
_FORMS = {
    "received_at": f"must be an RFC 3339 date-time with an offset, a real date and time from {FIRST_YEAR} to "
                   f"{LAST_YEAR}, e.g. 2026-11-27T09:30:00-06:00",
    "customer": "must be a customer id: lower-case letters, digits, '-' and '_', starting with a letter, "
                "at most 64 characters, e.g. demo-city",
    "email": "must be an e-mail address: text, one '@', more text, without spaces or control characters",
}


def _message(error) -> str:
    if error.validator == "pattern" and error.absolute_path and error.absolute_path[-1] in _FORMS:
        return _FORMS[error.absolute_path[-1]]
    if error.validator == "maxLength":
        return f"is longer than {error.validator_value} characters"
    if error.validator == "type":
        return f"must be of type {error.validator_value}"
    return error.message if len(error.message) <= 200 else error.message[:200] + "..."


def parse_request(body: object) -> DecisionRequest:
    """Turn a decoded JSON body into a DecisionRequest, or raise InvalidRequest naming each field."""
    fast = accepts("decision-request")
    if fast and fast(body):
        # The schema bounds every field but what ``requester`` carries beside the e-mail, and how many
        # attributes there are.
        check_limits(body["requester"], ("requester",), 1)
        if "attributes" in body:
            check_limits(body["attributes"], ("attributes",), 1)
        errors = []
    else:
        check_limits(body)
        errors = _field_errors(body)
    if errors:
        raise InvalidRequest(_summary(errors), sorted(set(errors), key=lambda e: e.pointer))
    # The schema's pattern for received_at is POLICY_INSTANT, so this reads it; checked again all the same,
    # since a decision must never be made on a time it could not read.
    received_at = parse_instant(body["received_at"], POLICY_INSTANT)
    if received_at is None:
        raise InvalidRequest("received_at is not a valid date-time",
                             [FieldError("/received_at", _FORMS["received_at"])])
    return DecisionRequest(
        customer=body["customer"],
        received_at=received_at,
        channel=body["channel"],
        requester_email=body["requester"]["email"],
        category=body["category"],
        ticket_id=body.get("ticket_id"),
        summary=body.get("summary"),
        attributes=MappingProxyType(body.get("attributes") or {}),
    )


def _summary(errors: list[FieldError]) -> str:
    names = sorted({e.pointer or "/" for e in errors})
    return f"the request has {len(names)} invalid field{'s' if len(names) != 1 else ''}: {', '.join(names)}"
