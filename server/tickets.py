"""POST /v1/tickets/evaluate: a ticket's clocks, read from its decision request and its events (stateless).

A view like the others: HTTP in, one engine call (``engine.clock.evaluate``),
HTTP out; every error is raised, and server.problems renders it.
"""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
from flask import Flask, Response, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from supportpolicy.engine.clock.evaluate import evaluate_ticket
from supportpolicy.engine.decide.request import decode_json

ROUTE = ("/v1/tickets/evaluate", "POST", "evaluate_ticket")


def register(app: Flask, live) -> None:
    """Add the route; ``live`` holds the policy set in force (server.live.LivePolicy)."""

    def view():
        evaluation = evaluate_ticket(live.current, decode_json(_body()), datetime.now(timezone.utc))
        return Response(orjson.dumps(evaluation.as_json()), mimetype="application/json")

    rule, method, endpoint = ROUTE
    app.add_url_rule(rule, endpoint, view, methods=[method])


def _body() -> bytes:
    """The JSON body, refused (413) past the app's MAX_CONTENT_LENGTH even when sent without a length, as the
    decision views read theirs."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(f"send the request body as application/json, not {request.mimetype or 'nothing'}")
    data = request.get_data(cache=False)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit \
            and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    return data
