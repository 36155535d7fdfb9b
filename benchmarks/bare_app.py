"""The baseline for the decision API's HTTP throughput: Flask doing nothing useful.

``POST /v1/decisions`` reads the body, parses it as JSON the way the real
endpoint does (``request.get_data`` + ``engine.request.decode_json``) and
returns a fixed small JSON document. Everything else the real app does per
request (schema validation, facts, rules, deadlines, the decision document) is
what the benchmark's ratio decision/bare measures.

Run it with exactly the gunicorn settings of ``supportpolicy serve``:
``server.gunicorn.serve`` is called with this app in place of the decision app,
so the worker class, preload, timeouts and any later change to them are the
same for both servers.

    python benchmarks/bare_app.py --bind 127.0.0.1:8081 --workers 2
"""
from __future__ import annotations

import argparse
import json

from flask import Flask, Response, request

from engine.request import decode_json

FIXED = json.dumps({"status": "ok", "decided": False}).encode()


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


def serve(bind: str, workers: int) -> None:
    import server.gunicorn as served

    # serve() builds the app with create_app({"LIVE": ...}); hand it this one instead.
    served.create_app = lambda config=None: create_bare_app()
    served.serve(None, bind, workers, watch=False)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="127.0.0.1:8081")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    serve(args.bind, args.workers)


if __name__ == "__main__":
    main()
