"""POST /v1/tickets/evaluate: a ticket's clocks, read from its decision request and its events (stateless).

A view like the others: HTTP in, one engine call (``engine.clock.evaluate``),
HTTP out; every error is raised, and server.problems renders it.
"""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
from flask import Flask, Response

from supportpolicy.engine.clock.evaluate import evaluate_ticket
from supportpolicy.engine.decide.request import decode_json
from supportpolicy.server.body import json_body

ROUTE = ("/v1/tickets/evaluate", "POST", "evaluate_ticket")


def register(app: Flask, live) -> None:
    """Add the route; ``live`` holds the policy set in force (server.live.LivePolicy)."""

    def view():
        evaluation = evaluate_ticket(live.current, decode_json(json_body()), datetime.now(timezone.utc))
        return Response(orjson.dumps(evaluation.as_json()), mimetype="application/json")

    rule, method, endpoint = ROUTE
    app.add_url_rule(rule, endpoint, view, methods=[method])
