"""The baselines for the decision API's HTTP throughput.

``--app bare`` (the default): Flask doing nothing useful. ``POST /v1/decisions``
reads the body, parses it as JSON the way the real endpoint does
(``request.get_data`` + ``supportpolicy.engine.decide.request.decode_json``) and returns a fixed
small JSON document. Everything else the real app does per request is what
the benchmark's ratio decision/bare measures.

``--app fixed``: the real supportpolicy app, built and served exactly as
``supportpolicy serve`` builds it (hooks, metrics, request log, the body size
limit, the decision document encoded with orjson), whose policy set answers
every request with one decision made at start. It decides nothing per request: no
schema check, no facts, no rules, no deadline. Its ratio to the bare endpoint
is the most any decision could reach on this server; what it has over the
real server is what deciding costs inside a request.

Both run with exactly the gunicorn settings of ``supportpolicy serve``:
``supportpolicy.server.gunicorn.serve`` is called for each, so the worker class, preload,
timeouts and any later change to them are the same for all the servers.

    python benchmarks/bare_app.py --bind 127.0.0.1:8081 --workers 2 [--app bare|fixed]
"""
from __future__ import annotations

import argparse
import json

from flask import Flask, Response, request

from supportpolicy.engine.decide.request import decode_json

FIXED = json.dumps({"status": "ok", "decided": False}).encode()
# The request the fixed policy set decided once, at start: a Saturday-night
# usage question from a designated contact (billable, routed on call).
FIXED_REQUEST = {"customer": "demo-city", "received_at": "2026-11-28T23:00:00-06:00", "channel": "phone",
                 "requester": {"email": "it.director@demo-city.gov"}, "category": "usage_question"}


def create_bare_app() -> Flask:
    app = Flask("supportpolicy-bare")

    @app.post("/v1/decisions")
    def decide():
        decode_json(request.get_data(cache=False))
        return Response(FIXED, mimetype="application/json")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


class FixedDecision:
    """A policy set that answers every request with the decision it made for FIXED_REQUEST."""

    def __init__(self, policy_set):
        self._policy_set = policy_set
        self._decision = policy_set.decide(FIXED_REQUEST)

    def decide(self, body, decision_id=None):
        return self._decision

    def __getattr__(self, name):  # digest, files, describe() ...: the real set's
        return getattr(self._policy_set, name)


def serve(bind: str, workers: int, app: str = "bare") -> None:
    import supportpolicy.server.gunicorn as served
    from supportpolicy.engine import load_policy_set
    from supportpolicy.engine.resources import default_roots
    from supportpolicy.server.live import LivePolicy

    roots = default_roots()
    if app == "fixed":
        served.serve(LivePolicy(roots, policy_set=FixedDecision(load_policy_set(*roots))), bind, workers,
                     watch=False)
        return
    # serve() builds the app with create_app({"LIVE": ...}); hand it this one instead (the policy set is
    # loaded only because the server's reloads expect one).
    served.create_app = lambda config=None: create_bare_app()
    served.serve(LivePolicy(roots), bind, workers, watch=False)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="127.0.0.1:8081")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--app", choices=("bare", "fixed"), default="bare",
                        help="bare: Flask parsing the body; fixed: supportpolicy answering one fixed decision")
    args = parser.parse_args(argv)
    serve(args.bind, args.workers, args.app)


if __name__ == "__main__":
    main()
