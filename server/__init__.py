"""supportpolicy's HTTP API, command line and decision log: adapters over ``supportpolicy.engine``.

``app`` (the Flask application factory, ``create_app``), ``problems`` (every
error as a problem document), ``openapi``, ``auth`` and ``metrics``;
``gunicorn``, ``live`` (the policy set in force, reloaded) and ``watch``
(following the policy folders) for serving; ``storage`` (the decision log);
``cli`` (the ``supportpolicy`` command) and ``reports`` (its output formats).
"""
from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):
    # Imported when first asked for, so the command line and the storage need not load Flask.
    if name == "create_app":
        from supportpolicy.server.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
