"""The Flask application: HTTP in, one engine call, HTTP out."""
from __future__ import annotations

import json

import orjson
from flask import Flask, Response, request
from werkzeug.exceptions import UnsupportedMediaType

from engine import PolicySet, load_policy_set
from engine.assemble import default_roots
from engine.request import decode_json
from server import problems
from server.openapi import openapi_document

MAX_BODY = 1024 * 1024


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, then SUPPORTPOLICY_* environment variables, then ``config``.

    The policy set is loaded and compiled here, before the first request; an
    invalid set raises ``engine.PolicySetInvalid`` with every error.
    Keys: POLICIES and RULES (folders), or POLICY_SET (an already loaded set).
    """
    app = Flask("supportpolicy")
    app.config.from_mapping(POLICIES=None, RULES=None, POLICY_SET=None, MAX_CONTENT_LENGTH=MAX_BODY)
    app.config.from_prefixed_env("SUPPORTPOLICY")
    app.config.update(config or {})
    app.json.sort_keys = False

    policy_set: PolicySet = app.config["POLICY_SET"] or load_policy_set(*_roots(app.config))
    app.extensions["supportpolicy"] = policy_set
    problems.register(app)
    spec = json.dumps(openapi_document())

    @app.post("/v1/decisions")
    def decide():
        decision = policy_set.decide(_json_body())
        return Response(orjson.dumps(decision.as_json()), mimetype="application/json")

    @app.get("/v1/policies")
    def policies():
        return {"digest": policy_set.digest, "loaded_at": policy_set.loaded_at.isoformat(),
                "files": policy_set.describe()}

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "policy_digest": policy_set.digest}

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
