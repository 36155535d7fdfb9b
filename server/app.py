"""The Flask application: HTTP in, one engine call, HTTP out."""
from __future__ import annotations

import json
import logging
import re
import time
from datetime import date, datetime, timezone
from pathlib import Path

import orjson
from flask import Flask, Response, g, request, url_for
from werkzeug.exceptions import NotFound, UnsupportedMediaType

from engine import FieldError, InvalidRequest
from engine.assemble import default_roots
from engine.coverage import coverage
from engine.decisionlog import MAX_PAGE, LogRecord
from engine.live import LivePolicy
from engine.request import FIRST_YEAR, LAST_YEAR, decode_json
from engine.terms_in_force import terms_in_force
from server import problems
from server.auth import authenticate
from server.metrics import CONTENT_TYPE as METRICS_TYPE
from server.metrics import Metrics
from server.openapi import INSTANT, POLICY_DATE, POLICY_INSTANT, openapi_document

MAX_BODY = 1024 * 1024
request_log = logging.getLogger("supportpolicy.requests")

# The scope each endpoint needs when tokens are configured; others are open
# (liveness, the OpenAPI document, problem types).
SCOPE_OF = {"decide": "decide", "logged_decision": "read", "logged_decisions": "read", "customer": "read",
            "customers": "read", "customer_coverage": "read", "policies": "read", "status": "read",
            "reload": "admin"}
# The policy explorer: static files only; the page asks the API above for everything it shows.
EXPLORER = Path(__file__).parent / "explorer"
EXPLORER_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                   "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, then SUPPORTPOLICY_* environment variables, then ``config``.

    The policy set is loaded and compiled here, before the first request; an
    invalid set raises ``engine.PolicySetInvalid`` with every error. Keys:
    POLICIES and RULES (folders, by default the shipped ones), or LIVE (an
    engine.live.LivePolicy), or POLICY_SET (a loaded set to start with, in
    place of loading the folders; a reload still reads POLICIES and RULES);
    DECISION_LOG (an engine.decisionlog.DecisionLog, or None for no log);
    RELOAD_NOTIFY (called after an admin reload, to move the other workers
    too); TOKENS (the server.auth tokens that may call the API, or None for no
    authentication).
    """
    app = Flask("supportpolicy", root_path=str(EXPLORER.parent), static_folder=str(EXPLORER),
                static_url_path="/explorer")
    app.config.from_mapping(POLICIES=None, RULES=None, LIVE=None, POLICY_SET=None, DECISION_LOG=None,
                            RELOAD_NOTIFY=None, TOKENS=None, METRICS=None,
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

    # One hook on each side of the view (each hook costs a dispatch on every request).
    @app.before_request
    def admit():
        g.started = time.perf_counter()
        scope = SCOPE_OF.get(request.endpoint)
        if tokens is None or scope is None:
            return None
        kind, _, secret = request.headers.get("Authorization", "").partition(" ")
        token = authenticate(tokens, secret.strip()) if kind.lower() == "bearer" and secret.strip() else None
        if token is None:
            return problems.problem(401, "unauthorized", "Unauthorized",
                                    "send a valid token: Authorization: Bearer <token>",
                                    headers={"WWW-Authenticate": 'Bearer realm="supportpolicy"'})
        if scope not in token.scopes:
            return problems.problem(403, "forbidden", "Forbidden", f"this token lacks the {scope} scope")
        return None

    @app.after_request
    def finish(response):
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.endpoint
        problem_type = getattr(response, "problem_type", None)
        metrics.answered(endpoint or "unknown", elapsed, problem_type)
        if endpoint in ("explorer", "static"):
            response.headers["Content-Security-Policy"] = EXPLORER_POLICY
            response.headers["X-Content-Type-Options"] = "nosniff"
        # One line per request; bodies (summaries may hold personal data) are never logged.
        if request_log.isEnabledFor(logging.INFO):
            request_log.info(orjson.dumps({
                "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "method": request.method,
                "path": request.path, "status": response.status_code, "latency_ms": round(elapsed * 1000, 3),
                "decision_id": g.get("decision_id"), "problem": problem_type}).decode())
        return response

    @app.post("/v1/decisions")
    def decide():
        body = _json_body()
        current = live.current
        decision = current.decide(body).as_json()
        if log is not None:
            log.write(LogRecord.of(body, decision))  # before the answer: nothing acknowledged is unlogged
        g.decision_id = decision["decision_id"]
        metrics.decided(decision["route"]["team"], decision["billable"], decision["emergency"])
        metrics.policy_in_force(current.digest)
        return Response(orjson.dumps(decision), mimetype="application/json")

    @app.get("/metrics")
    def prometheus():
        metrics.policy_in_force(live.current.digest)
        return Response(metrics.exposition(), content_type=METRICS_TYPE)

    @app.get("/v1/decisions/<decision_id>")
    def logged_decision(decision_id: str):
        record = _log(log).get(decision_id)
        if record is None:
            raise NotFound(f"no decision {decision_id!r} is in the decision log")
        return record.as_json()

    @app.get("/v1/decisions")
    def logged_decisions():
        args = request.args
        limit = _integer(args, "limit", 100, 1, MAX_PAGE)
        records = _log(log).find(args.get("customer"), _instant(args, "since"), _instant(args, "until"),
                                 args.get("after"), limit)
        following = None
        if len(records) == limit:
            following = url_for("logged_decisions", **dict(args.items(), after=records[-1].decision_id))
        return {"decisions": [r.as_json() for r in records], "next": following}

    @app.get("/v1/customers/<customer_id>")
    def customer(customer_id: str):
        at = _instant(request.args, "at", POLICY_INSTANT) or datetime.now(timezone.utc)
        return terms_in_force(live.current, customer_id, at)

    @app.get("/v1/customers")
    def customers():
        current = live.current
        return {"customers": [
            {"id": customer_id, "name": versions[-1].name, "time_zone": current.time_zone(customer_id).key,
             "versions": [dict(c.file.as_json(), plan={"id": c.plan_id, "version": c.plan_version})
                          for c in versions]}
            for customer_id, versions in sorted(current.customers.items())]}

    @app.get("/v1/customers/<customer_id>/coverage")
    def customer_coverage(customer_id: str):
        return coverage(live.current, customer_id, _date(request.args, "week_of")).as_json()

    @app.get("/v1/policies")
    def policies():
        current = live.current
        return {"digest": current.digest, "loaded_at": current.loaded_at.isoformat(), "files": current.describe()}

    @app.get("/v1/status")
    def status():
        report = live.status()
        report["decision_log"] = None if log is None else {"store": type(log).__name__, "where": log.where}
        return report

    @app.post("/v1/admin/reload")
    def reload():
        attempt = live.reload("POST /v1/admin/reload")
        if not attempt.ok:
            metrics.reload_failures.inc()
        if app.config["RELOAD_NOTIFY"]:
            app.config["RELOAD_NOTIFY"]()
        if not attempt.ok:
            return problems.policy_problem(attempt)
        return {"reloaded": True, "digest": attempt.digest, "status": live.status()}

    @app.get("/")
    def explorer():
        return app.send_static_file("index.html")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "policy_digest": live.current.digest}

    @app.get("/openapi.json")
    def openapi():
        return Response(spec, mimetype="application/json")

    @app.get("/problems/<slug>")
    def problem_type(slug: str):
        if slug not in problems.PROBLEM_TYPES:
            return problems.problem(404, "not-found", "Not Found", f"there is no problem type {slug!r}")
        return Response(problems.PROBLEM_TYPES[slug] + "\n", mimetype="text/plain")

    return app


def _roots(config) -> tuple:
    policies, rules = default_roots()
    return config["POLICIES"] or policies, config["RULES"] or rules


def _json_body():
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(f"send the request body as application/json, not {request.mimetype or 'nothing'}")
    return decode_json(request.get_data(cache=False))


def _log(log):
    if log is None:
        raise NotFound("this server keeps no decision log")
    return log


def _instant(args, name: str, pattern: str = INSTANT) -> datetime | None:
    # Checked with the pattern the OpenAPI document gives the parameter: RFC 3339 only (fromisoformat alone
    # also takes week dates and basic forms), real days only, and for `at` the years the calendar reckons in.
    text = args.get(name)
    if text is None:
        return None
    if not re.fullmatch(pattern, text):
        years = "" if pattern == INSTANT else f", from {FIRST_YEAR} to {LAST_YEAR}"
        raise InvalidRequest(f"the query parameter {name} is not an RFC 3339 date-time with an offset{years}",
                             [FieldError(name, f"must be an RFC 3339 date-time with an offset{years}", "parameter")])
    return datetime.fromisoformat(text.upper().replace(" ", "T"))


def _date(args, name: str) -> date | None:
    text = args.get(name)
    if text is None:
        return None
    if not re.fullmatch(POLICY_DATE, text):  # as the OpenAPI document says; fromisoformat takes week dates too
        raise InvalidRequest(f"the query parameter {name} is not a date (YYYY-MM-DD) from {FIRST_YEAR} to {LAST_YEAR}",
                             [FieldError(name, f"must be a date (YYYY-MM-DD) from {FIRST_YEAR} to {LAST_YEAR}",
                                         "parameter")])
    return date.fromisoformat(text)


def _integer(args, name: str, default: int, low: int, high: int) -> int:
    text = args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise InvalidRequest(f"the query parameter {name} must be a whole number from {low} to {high}",
                             [FieldError(name, f"must be a whole number from {low} to {high}", "parameter")])
    return int(text)
