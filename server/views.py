"""The API's views: each translates HTTP in, makes one engine call, and translates the answer out.

Errors are raised, never rendered here: server.problems turns every one into a
problem document.
"""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
from flask import Response, request, url_for

from supportpolicy.engine.instants import POLICY_INSTANT
from supportpolicy.engine.tools.coverage_week import coverage_week
from supportpolicy.engine.tools.terms_in_force import customer_list, terms_in_force
from supportpolicy.server import explorer_page, params, problems
from supportpolicy.server.decisionviews import DecisionViews
from supportpolicy.server.metrics import CONTENT_TYPE as METRICS_TYPE
from supportpolicy.server.storage.log import DecisionLogUnavailable
from supportpolicy.server.storage.tickets import open_clocks

# (rule, method, endpoint): each endpoint is the Views method of that name.
ROUTES = (
    ("/v1/decisions", "POST", "decide"),
    ("/v1/decisions/batch", "POST", "decide_batch"),
    ("/metrics", "GET", "prometheus"),
    ("/v1/decisions/<decision_id:decision_id>", "GET", "logged_decision"),
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


class Views(DecisionViews):
    def __init__(self, app, live, log, metrics, spec: str, reload_notify=None, public: bool = True, source=None):
        self.app, self.live, self.log, self.metrics = app, live, log, metrics
        self.source = source  # server.policysource.SourceReport, or None: the folders are the source
        self.spec = spec  # the OpenAPI document, describing this server
        self.reload_notify = reload_notify
        self.public = public  # reading needs no token: the explorer's page may show the policy

    def prometheus(self):
        self.metrics.policy_in_force(self.live.current.digest)
        clocks = None
        if self.log is not None:
            try:
                clocks = open_clocks(self.log, datetime.now(timezone.utc))
            except DecisionLogUnavailable:  # the other metrics still tell; the tickets' gauge is absent meanwhile
                clocks = None
        fleet = self._source_report()["fleet"]
        return Response(self.metrics.exposition(clocks, fleet["digests"] if fleet else None),
                        content_type=METRICS_TYPE)

    def _source_report(self) -> dict:
        """What the follower of the policy source last found (both null with folders)."""
        report = self.source.latest() if self.source is not None else None
        return report or {"policy_source": None, "fleet": None}

    def customer(self, customer_id: str):
        at = params.instant(request.args, "at", POLICY_INSTANT) or datetime.now(timezone.utc)
        return terms_in_force(self.live.current, customer_id, at)

    def customers(self):
        return {"customers": customer_list(self.live.current, datetime.now(timezone.utc))}

    def customer_coverage(self, customer_id: str):
        return coverage_week(self.live.current, customer_id, params.day(request.args, "week_of")).as_json()

    def policies(self):
        current = self.live.current
        return {"digest": current.digest, "loaded_at": current.loaded_at.isoformat(), "files": current.describe()}

    def status(self):
        report = self.live.status()
        log = self.log
        report["decision_log"] = None if log is None else {"store": type(log).__name__, "where": log.where,
                                                            "privacy": log.privacy.describe()}
        report.update(self._source_report())
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
        health = {"status": "ok", "policy_digest": self.live.current.digest}
        source = self._source_report()["policy_source"]
        if source is not None:  # with folders, as before there were policy sources
            health["policy_source"] = source["state"]
        return health

    def openapi(self):
        return Response(self.spec, mimetype="application/json")

    def problem_type(self, slug: str):
        if slug not in problems.PROBLEM_TYPES:
            return problems.problem(404, "not-found", "Not Found", f"there is no problem type {slug!r}")
        return Response(problems.PROBLEM_TYPES[slug] + "\n", mimetype="text/plain")
