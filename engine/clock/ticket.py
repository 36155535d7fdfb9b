"""A ticket evaluation request: checked against its JSON Schema, then made values, its events checked in order.

The decision request inside it is the decision stage's to check (its errors are
named under ``/request``); here the envelope and the events: each event's shape
by its type, then the stream as a whole against the plan's statuses (an unknown
status, an event before received_at or before the event before it, one after
the instant the clocks are read at, a reply on a solved ticket not reopened).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

from supportpolicy.engine.calendar import utc
from supportpolicy.engine.clockterms import ClockTerms
from supportpolicy.engine.decide.request import Limits, check_limits, pointer
from supportpolicy.engine.errors import EngineError, FieldError, InvalidRequest
from supportpolicy.engine.instants import POLICY_INSTANT, parse_instant
from supportpolicy.engine.load.schemas import accepts_document, schema, validator_for

SCHEMA = "ticket-evaluation"
# A ticket's body: the decision request keeps its own limits; the events may be many, each small. Beyond what
# the schema allows (1,000 events: a 422 naming /events), so only a body built to be expensive meets them (413).
LIMITS = Limits(depth=8, items=2000, nodes=20_000)
STATUS, AGENT_REPLY, CUSTOMER_REPLY, ACKNOWLEDGED, ATTRIBUTES = (
    "status", "agent_reply", "customer_reply", "acknowledged", "attributes")
REPLIES = (AGENT_REPLY, CUSTOMER_REPLY)


@dataclass(frozen=True)
class Event:
    """One thing that happened to the ticket, at an instant (in UTC)."""

    index: int  # its place in the request's events
    type: str
    at: datetime
    status: str | None = None
    public: bool = True
    attributes: Mapping = field(default_factory=lambda: MappingProxyType({}))
    id: str | None = None

    @property
    def pointer(self) -> str:
        return f"/events/{self.index}"


@dataclass(frozen=True)
class TicketRequest:
    request: Mapping  # the decision request, as sent
    events: tuple  # Event, oldest first
    at: datetime | None  # when the clocks are read; None: now


def parse_ticket(body: object) -> TicketRequest:
    """The ticket, or InvalidRequest naming each field at fault (the decision request's are found later)."""
    if not _accepted(body):
        check_limits(body, limits=LIMITS)
        errors = _field_errors(body)
        if errors:
            raise InvalidRequest(_summary(errors), sorted(set(errors), key=lambda e: e.pointer))
    # Valid, the events are bounded by the schema (how many, and each field of each); the decision request is
    # checked by the decision stage.
    events = tuple(Event(i, e["type"], utc(parse_instant(e["at"], POLICY_INSTANT)), e.get("status"),
                         e.get("public", True), MappingProxyType(e.get("attributes", {})), e.get("id"))
                   for i, e in enumerate(body["events"]))
    at = body.get("at")
    return TicketRequest(body["request"], events, None if at is None else utc(parse_instant(at, POLICY_INSTANT)))


def naming_request(error: EngineError) -> EngineError:
    """The same error, its fields named within the ticket's ``request``."""
    error.errors = tuple(replace(e, pointer="/request" + e.pointer) for e in error.errors)
    return error


@lru_cache(maxsize=None)
def _fast_checks():
    """Compiled checks of the envelope (each event only an object) and of each type of event: a oneOf tried
    branch by branch would cost most of an evaluation."""
    document = schema(SCHEMA)
    events = dict(document["properties"]["events"], items={"type": "object"})
    envelope = dict(document, properties=dict(document["properties"], events=events))
    envelope.pop("$defs")
    branches = {kind: accepts_document(document["$defs"][name]) for kind, name in _EVENT_SCHEMAS.items()}
    return accepts_document(envelope, ("decision-request",)), branches


def _accepted(body) -> bool:
    envelope, branches = _fast_checks()
    if envelope is None or None in branches.values() or not envelope(body):
        return False
    return all(isinstance(event.get("type"), str) and event["type"] in branches and branches[event["type"]](event)
               for event in body["events"])


_EVENT_SCHEMAS = {branch["properties"]["type"]["const"]: name for name, branch in schema(SCHEMA)["$defs"].items()
                  if "properties" in branch}


def _field_errors(body) -> list[FieldError]:
    if not isinstance(body, dict):
        return [FieldError("", "must be an object holding request and events")]
    errors = []
    for error in validator_for(SCHEMA).iter_errors(body):
        path = list(error.absolute_path)
        if path[:1] == ["request"]:
            continue  # the decision stage explains the decision request's own errors
        if path[:1] == ["events"] and len(path) == 2 and error.validator == "oneOf":
            errors += _event_errors(error.instance, path)
        else:
            errors.append(_explained(error, path))
    return errors


def _event_errors(event, path: list) -> list[FieldError]:
    """An event's errors against the schema of its type (a oneOf's own message names no field)."""
    kind = event.get("type") if isinstance(event, dict) else None
    if not isinstance(kind, str) or kind not in _EVENT_SCHEMAS:
        if not isinstance(event, dict):
            return [FieldError(pointer(path), "must be an object with a type and an at")]
        return [FieldError(pointer(path + ["type"]), f"must be one of: {', '.join(_EVENT_SCHEMAS)}")]
    branch = validator_for(SCHEMA).evolve(schema={"$ref": f"{SCHEMA}.schema.json#/$defs/{_EVENT_SCHEMAS[kind]}"})
    return [_explained(e, path + list(e.absolute_path)) for e in branch.iter_errors(event)]


def _explained(error, path: list) -> FieldError:
    if error.validator == "required":
        missing = [p for p in error.validator_value if p not in error.instance]
        return FieldError(pointer(path + missing[:1]), "is required")
    if error.validator == "additionalProperties":
        known = error.schema.get("properties", {})
        extra = sorted(k for k in error.instance if k not in known)
        return FieldError(pointer(path + extra[:1]), f"is not a field here; the fields are: {', '.join(known)}")
    if error.validator == "pattern" and path and path[-1] == "at":
        return FieldError(pointer(path), "must be an RFC 3339 date-time with an offset, from 2000 to 2199, e.g. "
                                         "2026-11-27T09:30:00-06:00")
    if error.validator == "pattern":
        return FieldError(pointer(path), "must be a name in lower case: letters, digits, - and _, starting with a "
                                         "letter")
    message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
    return FieldError(pointer(path), message)


def _summary(errors: list[FieldError]) -> str:
    names = sorted({e.pointer or "/" for e in errors})
    return f"the ticket has {len(names)} invalid field{'s' if len(names) != 1 else ''}: {', '.join(names)}"


def event_errors(ticket: TicketRequest, clocks: ClockTerms, received_at: datetime, at: datetime,
                 plan: str) -> list[FieldError]:
    """What is wrong with the stream of events under the plan's clock terms, each event named by JSON Pointer."""
    errors, status, previous = [], clocks.initial_status, None
    for event in ticket.events:
        if event.at < received_at:
            errors.append(FieldError(f"{event.pointer}/at", "is before the ticket's received_at; an event "
                                                           "happens after the ticket is received"))
        elif previous is not None and event.at < previous.at:
            errors.append(FieldError(f"{event.pointer}/at", f"is before the event before it ({previous.pointer}); "
                                                           "send the events oldest first"))
        if event.at > at:
            errors.append(FieldError(f"{event.pointer}/at", f"is after the time the clocks are read at "
                                                           f"({at.isoformat()}); send `at`, or only past events"))
        if event.type == STATUS and event.status not in clocks.statuses:
            errors.append(FieldError(f"{event.pointer}/status", f"is not a status of plan {plan}; its statuses "
                                                               f"are: {', '.join(clocks.statuses)}"))
        elif event.type == STATUS:
            status = event.status
        if event.type in REPLIES and status == clocks.solved_status:
            errors.append(FieldError(event.pointer, f"is a reply on a ticket solved by {_solving(ticket, event)}; "
                                                    "send the status change that reopened it first"))
        previous = event
    return errors


def _solving(ticket: TicketRequest, reply: Event) -> str:
    return next(e.pointer for e in reversed(ticket.events[:reply.index]) if e.type == STATUS)
