"""Routing answers no client can steer: never a redirect (so never one built from the Host header), and
404 and 405 given before authentication, the same with tokens as without (docs/operations.md says why)."""
from __future__ import annotations

import pytest

from supportpolicy.server import create_app
from supportpolicy.server.auth import add_token, load_tokens

from support import make_request

BODY = make_request("2026-11-27T10:00:00-06:00")
# Paths that differ from a route only by a doubled slash: Werkzeug merged them with a 308 redirect whose
# Location it built from the Host header.
DOUBLED = ["/v1//decisions", "/v1/decisions//", "/v1//status", "/v1/customers//demo-city", "/explorer//explorer.css"]
# Leading slashes Werkzeug strips before matching: the same route, answered as it, never redirected.
LEADING = ["//healthz", "//v1/status", "///openapi.json", "//evil.example/v1/status"]


@pytest.fixture(scope="module", params=["tokens", "no tokens"])
def client(request, tmp_path_factory, policy_set):
    tokens = None
    if request.param == "tokens":
        path = tmp_path_factory.mktemp("routing") / "tokens.json"
        add_token(path, "ops", ["decide", "read", "admin", "metrics"])
        tokens = load_tokens(path)
    return create_app({"POLICY_SET": policy_set, "TOKENS": tokens, "TESTING": True}).test_client()


def problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    document = response.get_json()
    assert document["type"] == f"/problems/{slug}" and document["status"] == status
    return document


def get(client, path: str, **kwargs):
    """GET ``path`` as the WSGI server hands it over (the test client would read //x as a host)."""
    return client.get("/", environ_overrides={"PATH_INFO": path}, **kwargs)


@pytest.mark.parametrize("path", DOUBLED)
def test_a_doubled_slash_is_not_found_never_redirected_to_the_clients_host(client, path):
    response = get(client, path, headers={"Host": "evil.example"})
    problem(response, 404, "not-found")
    assert "Location" not in response.headers


@pytest.mark.parametrize("path", LEADING)
def test_leading_slashes_are_the_same_path_answered_as_it_not_redirected(client, path):
    response = get(client, path, headers={"Host": "evil.example"})
    assert response.status_code == get(client, "/" + path.lstrip("/")).status_code
    assert response.status_code < 300 or response.status_code >= 400, response.status_code
    assert "Location" not in response.headers


def test_an_empty_path_is_the_explorer_not_a_redirect_to_the_clients_host(client):
    # A request line in absolute form with no path (GET http://evil.example HTTP/1.1) reaches the app so.
    response = get(client, "", headers={"Host": "evil.example"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Location" not in response.headers


def test_a_post_to_a_doubled_slash_is_not_redirected_either(client):
    response = client.post("/v1//decisions", json=BODY, headers={"Host": "evil.example"})
    problem(response, 404, "not-found")
    assert "Location" not in response.headers


@pytest.mark.parametrize("method,path,allow", [
    ("delete", "/v1/status", {"GET"}), ("put", "/v1/decisions", {"GET", "POST"}),
    ("get", "/v1/admin/reload", {"POST"}), ("post", "/metrics", {"GET"}),
])
def test_a_method_the_path_does_not_take_is_405_before_any_token_is_asked_for(client, method, path, allow):
    response = getattr(client, method)(path)
    problem(response, 405, "method-not-allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) - {"HEAD", "OPTIONS"} == allow
    assert "WWW-Authenticate" not in response.headers


def test_an_unknown_path_is_404_before_any_token_is_asked_for(client):
    response = client.get("/v1/nothing-here")
    problem(response, 404, "not-found")
    assert "WWW-Authenticate" not in response.headers
