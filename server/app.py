"""The Flask application factory: configuration, the hooks around every view, and the routes (views.py)."""
from __future__ import annotations

import json
import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson
from flask import Flask, g, request
from werkzeug.routing import BaseConverter, Map

from supportpolicy.engine.resources import default_roots
from supportpolicy.server import charges, problems, statements, tickets, tracking, webhooks, work
from supportpolicy.server.auth import authenticate
from supportpolicy.server.live import LivePolicy
from supportpolicy.server.metrics import Metrics
from supportpolicy.server.openapi import openapi_document
from supportpolicy.server.views import ROUTES, Views

MAX_BODY = 1024 * 1024
request_log = logging.getLogger("supportpolicy.requests")

# The scope each endpoint needs when tokens are configured; others are open
# (liveness, the OpenAPI document, problem types, the explorer's static files).
SCOPE_OF = {"decide": "decide", "decide_batch": "decide", "logged_decision": "read", "logged_decisions": "read",
            "customer": "read", "customers": "read", "customer_coverage": "read", "policies": "read",
            "status": "read", "reload": "admin", "prometheus": "metrics", "evaluate_ticket": "decide",
            "price_charges": "decide", "append_ticket_events": "decide", "tracked_ticket": "read",
            "ticket_queue": "read", "append_ticket_work": "decide", "ticket_work": "read",
            "customer_statement": "read"}
# A dry run (?dry_run=true) logs nothing: reading, not deciding, so either scope will do.
DRY_RUN_SCOPES = ("read", "decide")
# The policy explorer: its page, with a first view rendered here, and static files; the script asks the
# API above for everything else.
EXPLORER = Path(__file__).parent / "explorer"
EXPLORER_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                   "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


class _Routes(Map):
    """The URL map, without redirects. Werkzeug answers a path that differs from a route only by a doubled
    slash (/v1//decisions) with a 308 to the merged path, as an absolute URL built from the request's Host
    header: an open redirect any client can aim (and for a POST, a 308 sends the body and the bearer token
    on to wherever it points). Such a path is 404 instead, not a relative redirect: the API's clients take
    their paths from the OpenAPI document, so a doubled slash is a bug a 404 shows them at once, and no
    answer of this server then ever sends a client elsewhere."""

    def __init__(self, *args, **kwargs):
        kwargs["merge_slashes"] = False
        super().__init__(*args, **kwargs)


class _DecisionId(BaseConverter):
    """A decision id in a path: any segment but ``batch``, which is POST /v1/decisions/batch's, so that
    GET /v1/decisions/batch is a 405 naming POST rather than a look-up of a decision called "batch"."""

    regex = r"(?!batch$)[^/]+"


class _App(Flask):
    url_map_class = _Routes  # the static files' route is made in Flask's constructor: it must be this map

    def ensure_sync(self, func):
        # Flask asks, for every hook and view of every request, whether it is a coroutine; none here is.
        return func


class RequestLog:
    """One JSON line per request; bodies (summaries may hold personal data) are never logged.

    Served (``fd``: standard error), each line is one write of its own, so lines from the worker's threads
    never interleave and nothing is formatted twice; otherwise the lines go to the logger
    ``supportpolicy.requests``, at INFO.
    """

    def __init__(self, fd: int | None = None):
        self.fd = fd

    def write(self, entry: dict) -> None:
        if self.fd is not None:
            os.write(self.fd, orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE))
        elif request_log.isEnabledFor(logging.INFO):
            request_log.info(orjson.dumps(entry).decode())


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, then SUPPORTPOLICY_* environment variables, then ``config``.

    The policy set is loaded and compiled here, before the first request; an
    invalid set raises ``supportpolicy.engine.PolicySetInvalid`` with every
    error. Keys: POLICIES and RULES (folders, by default the shipped ones), or
    LIVE (a server.live.LivePolicy), or POLICY_SET (a loaded set to start with, in
    place of loading the folders; a reload still reads POLICIES and RULES);
    DECISION_LOG (a server.storage.decisionlog.DecisionLog, or None for no log);
    RELOAD_NOTIFY (None: an admin reload reloads in this process; under
    gunicorn, a call that has the master reload and returns its attempt and
    status, or None while it is still loading); TOKENS (the server.auth tokens that may call the API, or None for no
    authentication); POLICY_SOURCE (with `serve --policy-source`, a server.policysource.SourceReport: what
    the master's follower of the policy source last found, for GET /v1/status, /healthz and /metrics).
    """
    app = _App("supportpolicy", root_path=str(EXPLORER.parent), static_folder=str(EXPLORER),
                static_url_path="/explorer", template_folder=str(EXPLORER))
    app.config.from_mapping(POLICIES=None, RULES=None, LIVE=None, POLICY_SET=None, DECISION_LOG=None,
                            RELOAD_NOTIFY=None, TOKENS=None, METRICS=None, REQUEST_LOG=None, POLICY_SOURCE=None,
                            MAX_CONTENT_LENGTH=MAX_BODY)
    app.config.from_prefixed_env("SUPPORTPOLICY")
    app.config.update(config or {})
    app.json.sort_keys = False

    live: LivePolicy = app.config["LIVE"] or LivePolicy(_roots(app.config), policy_set=app.config["POLICY_SET"])
    log = app.config["DECISION_LOG"]
    tokens = app.config["TOKENS"]
    metrics = app.config["METRICS"] or Metrics()
    app.extensions["supportpolicy"] = live
    app.extensions["metrics"] = metrics
    problems.register(app)
    spec = json.dumps(openapi_document(SCOPE_OF if tokens is not None else None))  # describes this server

    requests_log = app.config["REQUEST_LOG"] or RequestLog()

    # One hook on each side of the view (each hook costs a dispatch on every request), each reading the
    # request proxy once (every read of it is a context lookup).
    @app.before_request
    def admit():
        current = request._get_current_object()
        current.environ["supportpolicy.started"] = time.perf_counter()
        scope = SCOPE_OF.get(current.endpoint)
        if tokens is None or scope is None:
            return None
        kind, _, secret = current.headers.get("Authorization", "").partition(" ")
        token = authenticate(tokens, secret.strip()) if kind.lower() == "bearer" and secret.strip() else None
        if token is None:
            return problems.problem(401, "unauthorized", "Unauthorized",
                                    "send a valid token: Authorization: Bearer <token>",
                                    headers={"WWW-Authenticate": 'Bearer realm="supportpolicy"'})
        # Exactly the value the view takes for a dry run: any other is decided and logged, and needs decide.
        scopes = DRY_RUN_SCOPES if scope == "decide" and current.args.getlist("dry_run") == ["true"] \
            else (scope,)
        if token.scopes.isdisjoint(scopes):
            lacks = f"the {scope} scope" if len(scopes) == 1 else "both the read and the decide scope (a dry run " \
                "takes either)"
            return problems.problem(403, "forbidden", "Forbidden", f"this token lacks {lacks}")
        current.environ["supportpolicy.client"] = token.name  # whose idempotency keys the request's are
        return None

    @app.after_request
    def finish(response):
        current = request._get_current_object()
        elapsed = time.perf_counter() - current.environ.get("supportpolicy.started", time.perf_counter())
        endpoint = current.endpoint
        problem_type = getattr(response, "problem_type", None)
        metrics.answered(endpoint or "unknown", elapsed, problem_type)
        # The set this process decides with (a decision's policy.digest is per contract version: it cannot
        # show a set change to a client spreading requests over a fleet).
        response.headers[problems.DIGEST_HEADER] = live.current.digest
        if endpoint in ("explorer", "static"):
            response.headers["Content-Security-Policy"] = EXPLORER_POLICY
            response.headers["X-Content-Type-Options"] = "nosniff"
        requests_log.write({
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "method": current.method,
            "path": current.path, "status": response.status_code, "latency_ms": round(elapsed * 1000, 3),
            "decision_id": g.get("decision_id"), "problem": problem_type})
        return response

    app.url_map.converters["decision_id"] = _DecisionId
    # The explorer's page is open; it shows the policy in its first view only when reading needs no token.
    views = Views(app, live, log, metrics, spec, app.config["RELOAD_NOTIFY"], public=tokens is None,
                  source=app.config["POLICY_SOURCE"])
    for rule, method, endpoint in ROUTES:
        # "/" answers an empty path too (a request line in absolute form, without one) rather than redirect it
        # to "/" by the client's Host header; no other route ends with a slash.
        app.add_url_rule(rule, endpoint, getattr(views, endpoint), methods=[method], strict_slashes=rule != "/")
    webhooks.register(app, live, log, metrics)  # Zendesk's and Jira's, each with its own secret
    tickets.register(app, live)  # POST /v1/tickets/evaluate
    charges.register(app, live)  # POST /v1/charges
    tracking.register(app, live, log)  # tracked tickets: their events, their clocks, the queue
    work.register(app, live, log)  # tracked tickets' work entries and charges
    statements.register(app, live, log)  # a customer's month of charges
    return app


def _roots(config) -> tuple:
    policies, rules = default_roots()
    return config["POLICIES"] or policies, config["RULES"] or rules
