"""Bearer tokens with scopes: every case a caller meets, and the open-bind refusal."""
from __future__ import annotations

import json
import stat

import pytest

from supportpolicy.server import create_app
from supportpolicy.server.auth import TokenFileError, add_token, authenticate, load_tokens, parse_tokens

from support import make_request, run_cli

BODY = make_request("2026-11-27T10:00:00-06:00")


@pytest.fixture(scope="module")
def secured(tmp_path_factory, policy_set):
    path = tmp_path_factory.mktemp("auth") / "tokens.json"
    secrets = {name: add_token(path, name, scopes) for name, scopes in
               (("ticketing", ["decide"]), ("ops", ["read", "admin"]))}
    app = create_app({"POLICY_SET": policy_set, "TOKENS": load_tokens(path), "TESTING": True})
    return app.test_client(), secrets


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    document = response.get_json()
    assert document["type"] == f"/problems/{slug}" and document["status"] == status
    return document


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwYXNz"},
                                     {"Authorization": "Bearer sp_not-a-token"}, {"Authorization": "sp_x"}])
def test_no_token_or_a_wrong_one_is_401_with_the_same_answer(secured, headers):
    client, _ = secured
    response = client.post("/v1/decisions", json=BODY, headers=headers)
    document = assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    reference = client.post("/v1/decisions", json=BODY)
    assert document == reference.get_json()  # nothing tells a wrong token from a missing one


@pytest.mark.parametrize("token,method,path", [
    ("ticketing", "get", "/v1/status"), ("ticketing", "post", "/v1/admin/reload"),
    ("ticketing", "get", "/v1/policies"), ("ops", "post", "/v1/decisions"),
])
def test_a_token_without_the_scope_is_403(secured, token, method, path):
    client, secrets = secured
    kwargs = {"json": BODY} if path == "/v1/decisions" else {}
    document = assert_problem(getattr(client, method)(path, headers=bearer(secrets[token]), **kwargs), 403,
                              "forbidden")
    assert "scope" in document["detail"]


def test_the_right_scope_is_let_through(secured):
    client, secrets = secured
    assert client.post("/v1/decisions", json=BODY, headers=bearer(secrets["ticketing"])).status_code == 200
    assert client.get("/v1/status", headers=bearer(secrets["ops"])).status_code == 200
    assert client.get("/v1/customers/demo-city", headers=bearer(secrets["ops"])).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json", "/problems/unauthorized"])
def test_liveness_and_documentation_stay_open(secured, path):
    client, _ = secured
    assert client.get(path).status_code == 200


def test_the_token_file_stores_only_hashes_readable_by_its_owner(tmp_path):
    path = tmp_path / "tokens.json"
    secret = add_token(path, "ticketing", ["decide"])
    text = path.read_text()
    assert secret not in text and json.loads(text)["tokens"][0]["name"] == "ticketing"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (token,) = load_tokens(path)
    assert authenticate((token,), secret) == token and authenticate((token,), secret + "x") is None
    with pytest.raises(ValueError):
        add_token(path, "ticketing", ["read"])


def test_adding_a_token_to_a_file_that_is_not_a_token_file_names_it_and_leaves_it(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text("not json\n")
    with pytest.raises(TokenFileError, match="is not a token file"):
        add_token(path, "ticketing", ["decide"])
    assert path.read_text() == "not json\n"


def test_tokens_may_come_from_the_environment(tmp_path):
    path = tmp_path / "tokens.json"
    secret = add_token(path, "ci", ["read"])
    (token,) = load_tokens(None, path.read_text())
    assert authenticate((token,), secret).name == "ci"
    with pytest.raises(ValueError):
        parse_tokens('{"tokens": [{"name": "x", "scopes": ["everything"], "sha256": "00"}]}', "env")


def test_token_add_prints_the_secret_once_and_refuses_unknown_scopes(tmp_path):
    path = tmp_path / "tokens.json"
    added = run_cli("token", "add", "ticketing", "--scopes", "decide", "--tokens", path, cwd=tmp_path)
    assert added.returncode == 0 and added.stdout_text.strip().startswith("sp_")
    assert added.stdout_text.strip() not in path.read_text()
    refused = run_cli("token", "add", "other", "--scopes", "decide,root", "--tokens", path, cwd=tmp_path)
    assert refused.returncode == 2 and "root" in refused.stderr_text


def test_serving_beyond_loopback_without_tokens_is_refused_saying_why(tmp_path):
    result = run_cli("serve", "--host", "0.0.0.0", "--port", "1", cwd=tmp_path, env_extra={"HOME": str(tmp_path)})
    assert result.returncode == 2
    assert "without authentication" in result.stderr_text and "--tokens" in result.stderr_text


# /metrics: decision counts by team, billing and emergency, the policy digest and worker pids are not public
# once tokens are configured; a Prometheus scraper holds a token with the metrics scope, which does nothing else.

@pytest.fixture(scope="module")
def with_scraper(tmp_path_factory, policy_set):
    path = tmp_path_factory.mktemp("scraper") / "tokens.json"
    secrets = {name: add_token(path, name, scopes) for name, scopes in
               (("prometheus", ["metrics"]), ("ops", ["read", "admin"]), ("ticketing", ["decide"]))}
    app = create_app({"POLICY_SET": policy_set, "TOKENS": load_tokens(path), "TESTING": True})
    return app.test_client(), secrets


def test_metrics_need_a_token_when_tokens_are_configured(with_scraper):
    client, _ = with_scraper
    response = client.get("/metrics")
    assert_problem(response, 401, "unauthorized")
    assert b"supportpolicy_" not in response.data


@pytest.mark.parametrize("token", ["ops", "ticketing"])
def test_metrics_need_the_metrics_scope_not_read_or_decide(with_scraper, token):
    client, secrets = with_scraper
    document = assert_problem(client.get("/metrics", headers=bearer(secrets[token])), 403, "forbidden")
    assert "metrics" in document["detail"]


def test_a_scraper_token_reads_the_metrics_and_nothing_else(with_scraper):
    client, secrets = with_scraper
    scraper = bearer(secrets["prometheus"])
    response = client.get("/metrics", headers=scraper)
    assert response.status_code == 200 and b"supportpolicy_policy_active" in response.data
    for method, path in (("get", "/v1/status"), ("get", "/v1/decisions"), ("get", "/v1/policies"),
                         ("get", "/v1/customers"), ("post", "/v1/admin/reload")):
        assert_problem(getattr(client, method)(path, headers=scraper), 403, "forbidden")
    assert_problem(client.post("/v1/decisions", json=BODY, headers=scraper), 403, "forbidden")


def test_metrics_stay_open_without_tokens(client):
    response = client.get("/metrics")
    assert response.status_code == 200 and b"supportpolicy_" in response.data


def test_the_openapi_document_asks_a_bearer_token_with_the_metrics_scope_for_metrics(with_scraper):
    client, _ = with_scraper
    operation = client.get("/openapi.json").get_json()["paths"]["/metrics"]["get"]
    assert operation["security"] == [{"bearer": ["metrics"]}]
    assert set(operation["responses"]) >= {"200", "401", "403"}


def test_token_add_takes_the_metrics_scope_and_its_help_says_what_each_scope_allows(tmp_path):
    path = tmp_path / "tokens.json"
    added = run_cli("token", "add", "prometheus", "--scopes", "metrics", "--tokens", path, cwd=tmp_path)
    assert added.returncode == 0, added.stderr_text
    assert json.loads(path.read_text())["tokens"][0]["scopes"] == ["metrics"]
    shown = " ".join(run_cli("token", "add", "--help", cwd=tmp_path).stdout_text.split())
    assert "metrics" in shown and "GET /metrics" in shown and "Prometheus" in shown
