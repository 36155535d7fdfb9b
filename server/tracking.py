"""Tracked tickets: POST /v1/tickets/{ticket_id}/events, GET /v1/tickets/{ticket_id} and the queue, GET /v1/tickets.

For ticketing systems that only send webhooks: the events are stored in the
decision log's store (server.storage.tickets), each once by the caller's event
id, and the clocks are read from them by ``engine.clock.evaluate`` as
POST /v1/tickets/evaluate reads a ticket sent whole. Views translate; every
error is raised, and server.problems renders it.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone

import orjson
from flask import Flask, Response, request, url_for
from werkzeug.routing import BaseConverter

from supportpolicy.engine.clock.deadlines import BREACH, WARNING, deadlines
from supportpolicy.engine.clock.evaluate import evaluate_ticket
from supportpolicy.engine.clock.ticket import LIMITS
from supportpolicy.engine.decide.request import check_limits, decode_json
from supportpolicy.engine.errors import EngineError, FieldError, InvalidRequest
from supportpolicy.engine.instants import POLICY_INSTANT, parse_instant
from supportpolicy.engine.tools.masked import MaskedRequest, replayable
from supportpolicy.server import params
from supportpolicy.server.body import json_body
from supportpolicy.server.problems import NotFoundProblem
from supportpolicy.server.storage.tickets import Settled, TicketEvent, TicketStore

# (rule, method, endpoint)
ROUTES = (("/v1/tickets/<ticket_id:ticket_id>/events", "POST", "append_ticket_events"),
          ("/v1/tickets/<ticket_id:ticket_id>", "GET", "tracked_ticket"),
          ("/v1/tickets", "GET", "ticket_queue"))
MAX_EVENTS = 1000  # a ticket's, stored and sent together: what an evaluation takes
MAX_ID = 200
QUEUE_PARAMETERS = ("customer", "due_before", "state", "limit", "after")
STATES = {"warning": WARNING, "breached": BREACH}
_CURSOR = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)(.+)$", re.S)
_EVENT = re.compile(r"^/events/(\d+)(.*)$", re.S)


class TicketId(BaseConverter):
    """A ticket id in a path: any segment but ``evaluate``, which is POST /v1/tickets/evaluate's (so that GET
    /v1/tickets/evaluate is a 405 naming POST, and no ticket is tracked that could not be read)."""

    regex = r"(?!evaluate(?![^/]))[^/]{1,200}"


class Tracking:
    def __init__(self, live, log):
        self.live, self.log = live, log

    def _store(self) -> TicketStore:
        if self.log is None:
            raise NotFoundProblem("this server keeps no decision log (it was started with --no-decision-log), "
                                  "so it tracks no ticket: send the ticket whole to POST /v1/tickets/evaluate")
        return TicketStore(self.log)

    def append_ticket_events(self, ticket_id: str):
        params.only(request.args, ())
        body = decode_json(json_body())
        given, events = _append_body(body)
        store = self._store()
        first = None if store.get(ticket_id) is not None else (given and (given, None, None)) or \
            self._logged_request(ticket_id)
        now = datetime.now(timezone.utc)

        def settle(stored, fresh):
            if stored is None and first is None:
                raise InvalidRequest(f"ticket {ticket_id!r} is not tracked yet", [FieldError(
                    "/request", f"is required: ticket {ticket_id!r} is not tracked yet, and no logged decision has "
                                "this ticket_id; send the ticket's decision request with its first events")])
            if stored is not None and given is not None and \
                    store.keyed(_with_ticket_id(given, ticket_id)) != stored.fingerprint:
                raise InvalidRequest("the request differs from the one the ticket is tracked with", [FieldError(
                    "/request", f"differs from the decision request ticket {ticket_id!r} is tracked with; leave it "
                                "out (a tracked ticket's request is kept), or send the same one")])
            engine_request, designated = first[:2] if stored is None else stored.decidable()
            old = stored.events if stored is not None else ()
            if len(old) + len(fresh) > MAX_EVENTS:
                raise InvalidRequest("the ticket would hold too many events", [FieldError(
                    "/events", f"would make {len(old) + len(fresh)} events of ticket {ticket_id!r} ({len(old)} are "
                               f"stored); a ticket holds at most {MAX_EVENTS:,}")])
            evaluation = _evaluated(self.live.current, _with_ticket_id(engine_request, ticket_id),
                                    [*old, *(e.event for e in fresh)], now, designated, len(old), fresh)
            decision = evaluation.evaluation.decision
            plan = evaluation.evaluation.contract.plan.file
            return Settled(evaluation, decision.customer, f"{plan.id} {plan.version}", deadlines(evaluation.targets),
                           None if stored is not None else _with_ticket_id(first[0], ticket_id),
                           decision.facts.designated_contact, None if stored is not None else first[2])

        appended = store.append(ticket_id, events, settle)
        answer = dict(appended.answer.as_json(), stored=appended.stored, already_stored=appended.already_stored)
        return Response(orjson.dumps(answer), mimetype="application/json")

    def _logged_request(self, ticket_id: str):
        """(request as the engine reads it, designated-contact status or None, (kept, masked) or None) of the
        latest logged decision for the ticket; None when there is none."""
        records = self.log.find(ticket_id=ticket_id, newest_first=True, limit=1)
        if not records:
            return None
        found, _ = replayable(records[0].as_json())
        if isinstance(found, MaskedRequest):
            return found.decidable(), found.designated_contact, (records[0].request, records[0].masked)
        return (found, None, None) if isinstance(found, dict) else None

    def tracked_ticket(self, ticket_id: str):
        params.only(request.args, ("at",))
        at = params.instant(request.args, "at", POLICY_INSTANT)
        stored = self._store().get(ticket_id)
        if stored is None:
            raise NotFoundProblem(f"no ticket {ticket_id!r} is tracked: its events are sent to "
                                  f"POST /v1/tickets/{ticket_id}/events")
        engine_request, designated = stored.decidable()
        received_at = parse_instant(engine_request["received_at"], POLICY_INSTANT)
        if at is not None and received_at is not None and at < received_at:
            raise InvalidRequest(f"at is before ticket {ticket_id!r} was received", [FieldError(
                "at", f"is before the ticket was received ({engine_request['received_at']}): give a later time, "
                      "or none (now)", "parameter")])
        events = [e for e in stored.events if at is None or parse_instant(e["at"], POLICY_INSTANT) <= at]
        evaluation = _evaluated(self.live.current, engine_request, events, at or datetime.now(timezone.utc),
                                designated, len(events), [])
        return Response(orjson.dumps(evaluation.as_json()), mimetype="application/json")

    def ticket_queue(self):
        params.only(request.args, QUEUE_PARAMETERS)
        due_before = params.instant(request.args, "due_before")
        state = request.args.get("state")
        if state is not None and state not in STATES:
            raise InvalidRequest("the query parameter state must be warning or breached",
                                 [FieldError("state", "must be warning or breached", "parameter")])
        limit = params.integer(request.args, "limit", 100, 1, 1000)
        after = _cursor(request.args.get("after"))
        tickets = self._store().queue(request.args.get("customer"), due_before, STATES.get(state), after, limit)
        following = None
        if len(tickets) == limit:
            last = tickets[-1]
            mark = last["next"] if state is None else last["warning" if state == "warning" else "breach"]
            given = {k: request.args[k] for k in QUEUE_PARAMETERS if k in request.args and k != "after"}
            following = url_for("ticket_queue", **given, after=mark["at"] + last["ticket_id"])
        return {"tickets": tickets, "next": following}


def _cursor(text: str | None):
    if text is None:
        return None
    found = _CURSOR.match(text)
    if found is None:
        raise InvalidRequest("the query parameter after is not a page mark this server gave",
                             [FieldError("after", "must be taken from the `next` link of the page before",
                                         "parameter")])
    return found.group(1), found.group(2)


def _append_body(body) -> tuple[dict | None, list[TicketEvent]]:
    """The body's decision request (None: not given) and its events, each with its id; InvalidRequest naming
    each field at fault (the events' other fields are checked with the stream)."""
    check_limits(body, limits=LIMITS)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be an object", [FieldError("", "must be an object holding events, "
                                                                           "and the first time request")])
    errors = [FieldError(f"/{k}", "is not a field here; the fields are: request, events") for k in sorted(body)
              if k not in ("request", "events")]
    events = body.get("events")
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        errors.append(FieldError("/events", f"is required: a list of 1 to {MAX_EVENTS:,} events, oldest first"))
        events = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            errors.append(FieldError(f"/events/{index}", "must be an object with a type, an at and an id"))
        elif not isinstance(event.get("id"), str) or not 1 <= len(event["id"]) <= MAX_ID:
            errors.append(FieldError(f"/events/{index}/id", f"is required: the event's own id in the ticketing "
                                                            f"system (1 to {MAX_ID} characters), by which a retry "
                                                            "is stored once"))
    given = body.get("request")
    if "request" in body and not isinstance(given, dict):
        errors.append(FieldError("/request", "must be the ticket's decision request, as POST /v1/decisions takes it"))
    if errors:
        raise InvalidRequest("the events cannot be stored", errors)
    return given, [TicketEvent(e["id"], e, i) for i, e in enumerate(events)]


def _with_ticket_id(request_body: dict, ticket_id: str) -> dict:
    if request_body.get("ticket_id") not in (None, ticket_id):
        raise InvalidRequest("the request names another ticket", [FieldError(
            "/request/ticket_id", f"is {request_body['ticket_id']!r}, not the ticket of the path ({ticket_id!r}); "
                                  "leave it out, or send it to that ticket")])
    return dict(request_body, ticket_id=ticket_id)


def _evaluated(policy_set, engine_request: dict, events: list, now: datetime, designated, stored: int,
               fresh: list[TicketEvent]):
    """The ticket evaluated; the errors naming an event sent now by its place in the body that sent it."""
    try:
        return evaluate_ticket(policy_set, {"request": engine_request, "events": events}, now, designated)
    except EngineError as error:
        error.errors = tuple(replace(e, pointer=_sent(e.pointer, stored, fresh)) for e in error.errors)
        raise


def _sent(pointer: str, stored: int, fresh: list[TicketEvent]) -> str:
    found = _EVENT.match(pointer)
    if found is None or int(found.group(1)) < stored or int(found.group(1)) - stored >= len(fresh):
        return pointer
    return f"/events/{fresh[int(found.group(1)) - stored].index}{found.group(2)}"


def register(app: Flask, live, log) -> None:
    """Add the routes; ``live`` holds the policy set in force, ``log`` is the decision log (None: no store)."""
    app.url_map.converters["ticket_id"] = TicketId
    views = Tracking(live, log)
    for rule, method, endpoint in ROUTES:
        app.add_url_rule(rule, endpoint, getattr(views, endpoint), methods=[method])
