"""POST /v1/charges: what the work on a ticket costs, priced from its decision request, notice and entries
(stateless).

A view like the others: HTTP in, one engine call (``engine.charge.price``), HTTP
out; every error is raised, and server.problems renders it.
"""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
from flask import Flask, Response

from supportpolicy.engine.charge.price import price_work
from supportpolicy.engine.decide.request import decode_json
from supportpolicy.server.body import json_body

ROUTE = ("/v1/charges", "POST", "price_charges")


def register(app: Flask, live) -> None:
    """Add the route; ``live`` holds the policy set in force (server.live.LivePolicy)."""

    def view():
        policy_set = live.current
        charge = price_work(policy_set, decode_json(json_body()), datetime.now(timezone.utc))
        zone = policy_set.time_zone(charge.customer)
        document = charge.as_json(lambda instant: instant.astimezone(zone).isoformat())
        return Response(orjson.dumps(document), mimetype="application/json")

    rule, method, endpoint = ROUTE
    app.add_url_rule(rule, endpoint, view, methods=[method])
