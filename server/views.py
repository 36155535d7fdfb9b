"""The API's views: each translates HTTP in, makes one engine call, and translates the answer out.

Errors are raised, never rendered here: server.problems turns every one into a
problem document.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import orjson
from flask import Response, g, request, url_for
from werkzeug.exceptions import NotFound, RequestEntityTooLarge, UnsupportedMediaType

from supportpolicy.engine.decide.request import decode_json
from supportpolicy.engine.errors import FieldError, InvalidRequest
from supportpolicy.engine.instants import (
    FIRST_YEAR,
    INSTANT,
    LAST_YEAR,
    POLICY_DATE,
    POLICY_INSTANT,
    parse_date,
    parse_instant,
)
from supportpolicy.engine.tools.coverage_week import coverage_week
from supportpolicy.engine.tools.terms_in_force import customer_list, terms_in_force
from supportpolicy.server import explorer_page, problems
from supportpolicy.server.metrics import CONTENT_TYPE as METRICS_TYPE
from supportpolicy.server.storage.decisionlog import MAX_PAGE, LogRecord

# (rule, method, endpoint): each endpoint is the Views method of that name.
ROUTES = (
    ("/v1/decisions", "POST", "decide"),
    ("/metrics", "GET", "prometheus"),
    ("/v1/decisions/<decision_id>", "GET", "logged_decision"),
    ("/v1/decisions", "GET", "logged_decisions"),
    ("/v1/customers/<customer_id>", "GET", "customer"),
    ("/v1/customers", "GET", "customers"),
    ("/v1/customers/<customer_id>/coverage", "GET", "customer_coverage"),
    ("/v1/policies", "GET", "policies"),
    ("/v1/status", "GET", "status"),
    ("/v1/admin/reload", "POST", "reload"),
    ("/", "GET", "explorer"),
    ("/healthz", "GET", "healthz"),
    ("/openapi.json", "GET", "openapi"),
    ("/problems/<slug>", "GET", "problem_type"),
)


RELOADING = {"reloaded": False, "detail": "the reload is still under way; GET /v1/status shows its outcome "
             "(last_attempt) when it is done, and the set in force (active)", "links": {"status": "/v1/status"}}


class Views:
    def __init__(self, app, live, log, metrics, spec: str, reload_notify=None, public: bool = True):
        self.app, self.live, self.log, self.metrics = app, live, log, metrics
        self.spec = spec  # the OpenAPI document, describing this server
        self.reload_notify = reload_notify
        self.public = public  # reading needs no token: the explorer's page may show the policy

    def decide(self):
        body = _json_body()
        current = self.live.current
        decision = current.decide(body)
        document = decision.as_json()
        if self.log is not None:
            # Before the answer: nothing acknowledged is unlogged.
            self.log.write(LogRecord.of(body, decision, document))
        g.decision_id = decision.decision_id
        self.metrics.decided(decision.outcome.route.team, decision.outcome.billable, decision.facts.emergency)
        self.metrics.policy_in_force(current.digest)
        return Response(orjson.dumps(document), mimetype="application/json")

    def prometheus(self):
        self.metrics.policy_in_force(self.live.current.digest)
        return Response(self.metrics.exposition(), content_type=METRICS_TYPE)

    def logged_decision(self, decision_id: str):
        record = self._log().get(decision_id)
        if record is None:
            raise NotFound(f"no decision {decision_id!r} is in the decision log")
        return record.as_json()

    def logged_decisions(self):
        args = request.args
        limit = _integer(args, "limit", 100, 1, MAX_PAGE)
        records = self._log().find(args.get("customer"), _instant(args, "since"), _instant(args, "until"),
                                   args.get("after"), limit)
        following = None
        if len(records) == limit:
            following = url_for("logged_decisions", **dict(args.items(), after=records[-1].decision_id))
        return {"decisions": [r.as_json() for r in records], "next": following}

    def customer(self, customer_id: str):
        at = _instant(request.args, "at", POLICY_INSTANT) or datetime.now(timezone.utc)
        return terms_in_force(self.live.current, customer_id, at)

    def customers(self):
        return {"customers": customer_list(self.live.current, datetime.now(timezone.utc))}

    def customer_coverage(self, customer_id: str):
        return coverage_week(self.live.current, customer_id, _date(request.args, "week_of")).as_json()

    def policies(self):
        current = self.live.current
        return {"digest": current.digest, "loaded_at": current.loaded_at.isoformat(), "files": current.describe()}

    def status(self):
        report = self.live.status()
        log = self.log
        report["decision_log"] = None if log is None else {"store": type(log).__name__, "where": log.where,
                                                            "privacy": log.privacy.describe()}
        return report

    def reload(self):
        if self.reload_notify is None:  # one process (tests, embedding): reload here
            attempt, status = self.live.reload("POST /v1/admin/reload"), None
            if not attempt.ok:
                self.metrics.reload_failures.inc()
        else:  # under gunicorn the master reloads, once for every worker; its answer, or None while it loads
            answer = self.reload_notify()
            if answer is None:
                return Response(orjson.dumps(RELOADING), status=202, mimetype="application/json",
                                headers={"Location": url_for("status")})
            attempt, status = answer
        if not attempt.ok:
            return problems.policy_problem(attempt)
        return {"reloaded": True, "digest": attempt.digest, "status": status or self.live.status()}

    def explorer(self):
        page = explorer_page.render(self.live.current, request.args, self.public).encode()
        # Ranges are answered as for the static files (a range past the end is a 416 problem).
        return Response(page, mimetype="text/html").make_conditional(request, True, len(page))

    def healthz(self):
        return {"status": "ok", "policy_digest": self.live.current.digest}

    def openapi(self):
        return Response(self.spec, mimetype="application/json")

    def problem_type(self, slug: str):
        if slug not in problems.PROBLEM_TYPES:
            return problems.problem(404, "not-found", "Not Found", f"there is no problem type {slug!r}")
        return Response(problems.PROBLEM_TYPES[slug] + "\n", mimetype="text/plain")

    def _log(self):
        if self.log is None:
            raise NotFound("this server keeps no decision log")
        return self.log


def _json_body():
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(f"send the request body as application/json, not {request.mimetype or 'nothing'}")
    return decode_json(_body())


def _body() -> bytes:
    """The body, refused (413) past the app's MAX_CONTENT_LENGTH, whether or not it said its length.

    Werkzeug refuses a Content-Length over the limit; but a body of unknown length (chunked) it only reads
    up to the limit and hands over as if that were all of it, so a valid JSON body followed by megabytes
    of spaces was decided. One byte more is asked of the server's own stream: any is too much.
    """
    data = request.get_data(cache=False)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit \
            and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    return data


def _instant(args, name: str, pattern: str = INSTANT) -> datetime | None:
    # Checked with the pattern the OpenAPI document gives the parameter: RFC 3339 only (fromisoformat alone
    # also takes week dates and basic forms), real days only, and for `at` the years the calendar reckons in.
    text = args.get(name)
    if text is None:
        return None
    instant = parse_instant(text, pattern)
    if instant is None:
        years = "" if pattern == INSTANT else f", from {FIRST_YEAR} to {LAST_YEAR}"
        raise InvalidRequest(f"the query parameter {name} is not an RFC 3339 date-time with an offset{years}",
                             [FieldError(name, f"must be an RFC 3339 date-time with an offset{years}", "parameter")])
    return instant


def _date(args, name: str) -> date | None:
    text = args.get(name)
    if text is None:
        return None
    day = parse_date(text, POLICY_DATE)
    if day is None:
        raise InvalidRequest(f"the query parameter {name} is not a date (YYYY-MM-DD) from {FIRST_YEAR} to {LAST_YEAR}",
                             [FieldError(name, f"must be a date (YYYY-MM-DD) from {FIRST_YEAR} to {LAST_YEAR}",
                                         "parameter")])
    return day


def _integer(args, name: str, default: int, low: int, high: int) -> int:
    text = args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise InvalidRequest(f"the query parameter {name} must be a whole number from {low} to {high}",
                             [FieldError(name, f"must be a whole number from {low} to {high}", "parameter")])
    return int(text)
