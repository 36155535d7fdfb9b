"""Shared fixtures (the shipped policy set, the app, its client, request builders) and the test layers.

Each folder is a layer, and its tests carry its marker: ``unit`` (the engine and
server modules, in process), ``api`` (the Flask app through its test client),
``cli`` (the supportpolicy command, as a separate process), ``system``
(gunicorn, PostgreSQL, a browser, signals) and ``fuzz`` (generated and mutated
input). ``slow`` marks the tests that take seconds each; the fast loop is
``tox -e fast`` (unit and api, not slow).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from supportpolicy.engine import load_policy_set
from supportpolicy.server import create_app

from support import OTHER, REPO, make_request

LAYERS = ("unit", "api", "cli", "system", "fuzz")


def pytest_collection_modifyitems(config, items):
    for item in items:
        layer = Path(item.fspath).parent.name
        if layer in LAYERS:
            item.add_marker(getattr(pytest.mark, layer))


@pytest.fixture(scope="session")
def policy_set():
    """The shipped default policy (central-standard, demo-city), loaded once."""
    return load_policy_set()


@pytest.fixture(scope="session")
def app(policy_set):
    return create_app({"POLICY_SET": policy_set, "TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def decide(policy_set):
    """Decide a request for demo-city and return the decision document."""
    def run(received_at: str, channel: str = "email", category: str = "usage_question",
            email: str = OTHER, **extra) -> dict:
        return policy_set.decide(make_request(received_at, channel, category, email, **extra)).as_json()
    return run


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where tests leave files for people to look at (screenshots, reports)."""
    path = Path(os.environ.get("TEST_OUTPUT_DIR", REPO / "test-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path
