"""The OpenAPI document against the server it describes: routes, scopes, answers, problem types, patterns.

`tox -e api` (tests/api/run_schemathesis.py) fuzzes a served API against its document at length; these
tests keep in the ordinary suite what must never drift, and the answers schemathesis cannot cheaply
provoke: 403, 413 of both kinds, 503 from a failing decision log, 422 from an invalid reload.
"""
from __future__ import annotations

import calendar
import re
import shutil
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from supportpolicy.engine.instants import FIRST_YEAR, LAST_YEAR
from supportpolicy.engine.load.schemas import schema
from supportpolicy.engine.resources import shipped
from supportpolicy.server import create_app
from supportpolicy.server.app import SCOPE_OF
from supportpolicy.server.auth import SCOPES, add_token, load_tokens
from supportpolicy.server.live import LivePolicy
from supportpolicy.server.openapi import (
    EXCLUDED_ENDPOINTS,
    INSTANT,
    POLICY_DATE,
    POLICY_INSTANT,
    TAGS,
    _operations,
    documented_endpoints,
    openapi_document,
)
from supportpolicy.server.problems import PROBLEM_TYPES
from supportpolicy.server.storage.decisionlog import DecisionLogUnavailable, open_log
from supportpolicy.server.storage.privacy import LogPrivacy, read_key

from support import DESIGNATED, make_request

REQUEST = make_request("2026-11-28T23:00:00-06:00", "phone", email=DESIGNATED)
# The webhooks' own security schemes, by endpoint.
WEBHOOK_SCHEMES = {"zendesk_webhook": "zendeskSignature", "jira_webhook": "jiraWebhookToken"}
# Produced only by the explorer's static files (a Range past the end: 416), which are no operation.
EXPLORER_ONLY_PROBLEMS = {"http-error"}
# A value for each path parameter, to call every operation.
PATH_VALUES = {"customer_id": "demo-city", "decision_id": "no-such-decision", "slug": "not-found",
               "ticket_id": "zd-881"}


class BrokenLog:
    """A decision log whose store has failed."""

    where = "nowhere"

    def write(self, record):
        raise DecisionLogUnavailable("the decision log failed: the disk is gone")

    def write_many(self, records):
        raise DecisionLogUnavailable("the decision log failed: the disk is gone")

    def get(self, decision_id):
        raise DecisionLogUnavailable("the decision log failed: the disk is gone")

    def keyed(self, key):
        raise DecisionLogUnavailable("the decision log failed: the disk is gone")

    def find(self, *args, **kwargs):
        raise DecisionLogUnavailable("the decision log failed: the disk is gone")


@pytest.fixture(scope="module")
def secrets(tmp_path_factory):
    """A token file with a token for every scope and one that may only decide; name -> secret."""
    path = tmp_path_factory.mktemp("tokens") / "tokens.json"
    secrets = {name: add_token(path, name, scopes) for name, scopes in
               (("all", list(SCOPES)), ("ticketing", ["decide"]))}
    return dict(secrets, file=path)


@pytest.fixture(scope="module")
def secured(policy_set, secrets, tmp_path_factory):
    """A server with tokens and a decision log masking personal data, as `supportpolicy serve --tokens` runs it."""
    folder = tmp_path_factory.mktemp("log")
    log = open_log(None, folder, privacy=LogPrivacy.of(key=read_key(data_dir=folder, create=True)))
    log.setup()
    return create_app({"POLICY_SET": policy_set, "TOKENS": load_tokens(secrets["file"]), "DECISION_LOG": log,
                       "TESTING": True})


@pytest.fixture(scope="module")
def document(secured) -> dict:
    return served(secured)


def served(app) -> dict:
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def bearer(secret: str | None) -> dict:
    return {"Authorization": f"Bearer {secret}"} if secret else {}


def url(path: str, **values: str) -> str:
    values = dict(PATH_VALUES, **values)
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def validator(document: dict, *pointer: str) -> Draft202012Validator:
    """A validator for the schema at ``pointer`` in the document, its #/components/... references resolved."""
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    escaped = "/".join(part.replace("~", "~0").replace("/", "~1") for part in pointer)
    return Draft202012Validator({"$ref": f"urn:openapi#/{escaped}"},
                                registry=Registry().with_resource("urn:openapi", resource))


def assert_documented(document: dict, path: str, method: str, response) -> None:
    """The answer's status, media type, headers, body and problem type are the ones the document gives it."""
    operation = document["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method.upper()} {path} answers an undocumented {status}"
    documented = operation["responses"][status]
    assert response.mimetype in documented["content"], (method, path, status, response.mimetype)
    for header, spec in documented.get("headers", {}).items():
        assert not spec.get("required") or header in response.headers, (method, path, status, header)
    if response.mimetype in ("application/json", "application/problem+json"):
        body = response.get_json(force=True)
        schema_at = ("paths", path, method, "responses", status, "content", response.mimetype, "schema")
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(document, *schema_at).iter_errors(body)]
        assert errors == [], (method, path, status)
        if response.mimetype == "application/problem+json":
            assert body["type"] in documented["x-problem-types"], (method, path, status, body["type"])


# Every route, and the scope each needs

def test_every_route_is_a_documented_operation_or_deliberately_left_out(app):
    routes = {}
    for rule in app.url_map.iter_rules():
        (method,) = rule.methods - {"HEAD", "OPTIONS"}
        routes[rule.endpoint] = (re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), method.lower())
    assert {e: r for e, r in routes.items() if e not in EXCLUDED_ENDPOINTS} == documented_endpoints()
    assert set(EXCLUDED_ENDPOINTS) <= set(routes), "an exclusion names a route that no longer exists"


def test_with_tokens_each_operation_asks_for_the_scope_the_server_enforces(document):
    assert set(SCOPE_OF) <= set(documented_endpoints()), "a scope is enforced on an undocumented endpoint"
    for endpoint, (path, method) in documented_endpoints().items():
        operation = document["paths"][path][method]
        if endpoint in SCOPE_OF:
            assert operation["security"] == [{"bearer": [SCOPE_OF[endpoint]]}], endpoint
            assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True
            assert operation["responses"]["403"]["x-problem-types"] == ["/problems/forbidden"]
        elif endpoint in WEBHOOK_SCHEMES:  # the ticketing systems' own credentials, never the API's tokens
            assert operation["security"] == [{WEBHOOK_SCHEMES[endpoint]: []}], endpoint
            assert "403" not in operation["responses"], endpoint
        else:  # liveness, this document and the problem types stay open, and say so
            assert operation["security"] == [] and "401" not in operation["responses"], endpoint
            assert operation["description"].endswith("Needs no token."), endpoint
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document == openapi_document(SCOPE_OF)


def test_without_tokens_no_operation_asks_for_one_but_the_webhooks_their_own(app):
    document = served(app)
    webhooks = {documented_endpoints()[endpoint] for endpoint in WEBHOOK_SCHEMES}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if (path, method) in webhooks:
                assert operation["security"] != [] and "bearer" not in operation["security"][0], (method, path)
                assert operation["responses"]["401"]["x-problem-types"] == ["/problems/webhook-unauthorized"]
                continue
            assert operation["security"] == [], (method, path)
            assert operation["description"].endswith("Needs no token: this server was started without tokens.")
            assert not {"401", "403"} & set(operation["responses"]), (method, path)
    assert set(document["components"]["securitySchemes"]) == set(WEBHOOK_SCHEMES.values())
    assert document == openapi_document(None)


def test_every_operation_is_tagged_and_described_in_its_own_words(document):
    # What Redocly's recommended rules and Spectral's spectral:oas ask of each (tox -e openapi runs them).
    assert [t["name"] for t in document["tags"]] == list(TAGS) and all(t["description"] for t in document["tags"])
    for path, method, endpoint, operation in _operations():
        assert len(operation["tags"]) == 1 and operation["tags"][0] in TAGS, endpoint
        assert len(operation.get("description", "")) >= 40, f"{endpoint} has no description of its own"
        assert operation["summary"] != operation["description"], endpoint
    assert document["servers"] == [{"url": "/", "description": "The server that serves this document."}]
    assert document["info"]["license"] == {"name": "MIT", "identifier": "MIT"}


def test_every_schema_file_names_itself_so_other_validators_resolve_its_references():
    for path in sorted(shipped("schemas").glob("*.schema.json")):
        assert schema(path.name.removesuffix(".schema.json"))["$id"] == path.name, path.name


def test_every_instant_a_decision_gives_is_typed_as_a_date_time(document):
    decision = document["components"]["schemas"]["Decision"]["properties"]
    for name in ("received_at", "local_time", "respond_by"):
        assert decision[name]["format"] == "date-time", name
    assert decision["targets"]["additionalProperties"]["properties"]["due"]["format"] == "date-time"


def test_operation_ids_are_unique_and_every_schema_and_example_is_valid(document):
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    for component in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(component)
    for operation in operations:
        for parameter in operation.get("parameters", []):
            Draft202012Validator.check_schema(parameter["schema"])
            if "example" in parameter:
                assert Draft202012Validator(parameter["schema"]).is_valid(parameter["example"]), parameter
    body = document["paths"]["/v1/decisions"]["post"]["requestBody"]["content"]["application/json"]
    assert not list(validator(document, "components", "schemas", "DecisionRequest").iter_errors(body["example"]))
    ticket = ("paths", "/v1/tickets/evaluate", "post", "requestBody", "content", "application/json")
    example = document["paths"]["/v1/tickets/evaluate"]["post"]["requestBody"]["content"]["application/json"]
    assert not list(validator(document, *ticket, "schema").iter_errors(example["example"]))


# Answers keep to the document

def test_every_operation_answers_as_documented(secured, secrets, document):
    client = secured.test_client()
    decided = client.post("/v1/decisions", json=REQUEST, headers=bearer(secrets["all"]))
    assert decided.status_code == 200
    assert_documented(document, "/v1/decisions", "post", decided)
    decision_id = decided.get_json()["decision_id"]
    batch = client.post("/v1/decisions/batch", json={"requests": [REQUEST, dict(REQUEST, channel="fax")]},
                        headers=bearer(secrets["all"]))
    assert [r["status"] for r in batch.get_json()["results"]] == [200, 422]
    assert_documented(document, "/v1/decisions/batch", "post", batch)
    for endpoint, (path, method) in documented_endpoints().items():
        if endpoint in ("decide", "decide_batch") or endpoint in WEBHOOK_SCHEMES:  # webhooks: test_webhooks_answer_as_documented
            continue
        query = {"limit": 1} if endpoint == "logged_decisions" else {}  # a page with a `next` link
        query.update((p["name"], p["example"]) for p in document["paths"][path][method].get("parameters", [])
                     if p["in"] == "query" and p.get("required"))  # a parameter it needs: its example
        body = document["paths"][path][method].get("requestBody", {}).get("content", {}).get("application/json", {})
        sent = {"json": body["example"]} if "example" in body else {}  # an operation that takes a body: its example
        response = getattr(client, method)(url(path, decision_id=decision_id), query_string=query,
                                           headers=bearer(secrets["all"]), **sent)
        assert response.status_code == 200, (method, path, response.get_data(as_text=True))
        assert_documented(document, path, method, response)


@pytest.mark.parametrize("case,slug,body", [
    ("too large", "payload-too-large", {"data": b" " * (1024 * 1024 + 1), "content_type": "application/json"}),
    ("nested too deep", "limit-exceeded",
     {"json": dict(REQUEST, requester=dict(REQUEST["requester"], more={"a": {"b": {"c": {"d": {"e": {"f": {
         "g": {"h": "deeper than 8"}}}}}}}}))}),
    ("too many members", "limit-exceeded",
     {"json": dict(REQUEST, requester=dict(REQUEST["requester"], **{f"k{n}": n for n in range(64)}))}),
    ("too many values", "limit-exceeded",  # 18 lists of 60: each small enough, 1,080 values in all
     {"json": dict(REQUEST, requester=dict(REQUEST["requester"], **{f"k{n}": [0] * 60 for n in range(18)}))}),
    ("not json", "malformed-json", {"data": "{", "content_type": "application/json"}),
    ("not application/json", "unsupported-media-type", {"data": "{}", "content_type": "text/plain"}),
    ("unknown customer", "unknown-customer", {"json": dict(REQUEST, customer="nowhere")}),
    ("no contract yet", "no-policy-in-effect", {"json": dict(REQUEST, received_at="2025-06-01T10:00:00Z")}),
    ("unknown channel", "invalid-request", {"json": dict(REQUEST, channel="fax")}),
])
def test_every_problem_of_a_decision_is_documented(secured, secrets, document, case, slug, body):
    response = secured.test_client().post("/v1/decisions", headers=bearer(secrets["all"]), **body)
    assert response.get_json(force=True)["type"] == f"/problems/{slug}", case
    assert_documented(document, "/v1/decisions", "post", response)


@pytest.mark.parametrize("endpoint,token,status", [
    (endpoint, token, status) for endpoint in sorted(SCOPE_OF)
    for token, status in ((None, 401), ("wrong", 401), ("ticketing", 403))
    if not (token == "ticketing" and SCOPE_OF[endpoint] == "decide")])  # the ticketing token may decide
def test_a_missing_token_or_scope_is_documented(secured, secrets, document, endpoint, token, status):
    path, method = documented_endpoints()[endpoint]
    response = getattr(secured.test_client(), method)(url(path), headers=bearer(secrets.get(token, token)))
    assert response.status_code == status
    assert_documented(document, path, method, response)


@pytest.mark.parametrize("endpoint", sorted(documented_endpoints()))
def test_a_method_a_path_does_not_accept_is_a_documented_405_with_allow(secured, document, endpoint):
    path, method = documented_endpoints()[endpoint]
    response = secured.test_client().delete(url(path))
    assert response.status_code == 405
    assert_documented(document, path, method, response)


def test_a_failing_decision_log_is_a_documented_503(policy_set):
    client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": BrokenLog(), "TESTING": True}).test_client()
    document = served(client.application)
    for path, method, response in [
            ("/v1/decisions", "post", client.post("/v1/decisions", json=REQUEST)),
            ("/v1/decisions", "post", client.post("/v1/decisions", json=REQUEST, headers={"Idempotency-Key": "k"})),
            ("/v1/decisions/batch", "post", client.post("/v1/decisions/batch", json={"requests": [REQUEST]})),
            ("/v1/decisions", "get", client.get("/v1/decisions")),
            ("/v1/decisions/{decision_id}", "get", client.get("/v1/decisions/x"))]:
        assert response.status_code == 503, path
        assert_documented(document, path, method, response)


def test_without_a_decision_log_the_log_is_a_documented_404(app):
    client, document = app.test_client(), served(app)
    for path in ("/v1/decisions", "/v1/decisions/{decision_id}"):
        response = client.get(url(path))
        assert response.status_code == 404
        assert_documented(document, path, "get", response)


def test_a_reload_is_documented_whether_the_files_are_valid_or_not(tmp_path):
    roots = tuple(shutil.copytree(shipped(name), tmp_path / name) for name in ("policies", "rules"))
    app = create_app({"LIVE": LivePolicy(roots), "TESTING": True})
    client, document = app.test_client(), served(app)
    assert_documented(document, "/v1/admin/reload", "post", client.post("/v1/admin/reload"))
    (tmp_path / "rules" / "billing.yaml").write_text("decides: [\n", encoding="utf-8")
    refused = client.post("/v1/admin/reload")
    assert refused.status_code == 422
    assert_documented(document, "/v1/admin/reload", "post", refused)


# Problem types

def test_every_problem_type_is_served_and_every_documented_one_exists(secured, document):
    client = secured.test_client()
    slug = document["paths"]["/problems/{slug}"]["get"]["parameters"][0]
    assert slug["schema"]["enum"] == sorted(PROBLEM_TYPES)
    listed = {kind for ops in document["paths"].values() for op in ops.values()
              for response in op["responses"].values() for kind in response.get("x-problem-types", [])}
    assert listed <= {f"/problems/{s}" for s in PROBLEM_TYPES}
    assert {f"/problems/{s}" for s in set(PROBLEM_TYPES) - EXPLORER_ONLY_PROBLEMS} <= listed
    for name in PROBLEM_TYPES:
        response = client.get(f"/problems/{name}")
        assert response.status_code == 200 and response.mimetype == "text/plain", name
        assert_documented(document, "/problems/{slug}", "get", response)


def test_an_explorer_file_asked_for_past_its_end_names_a_problem_type_that_exists(app):
    client = app.test_client()
    response = client.get("/", headers={"Range": "bytes=99999999-"})
    assert response.status_code == 416 and response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "/problems/http-error"
    assert client.get("/problems/http-error").status_code == 200


# The patterns of dates and instants, which the server checks its query parameters with

def test_the_policy_date_pattern_admits_exactly_the_days_from_2000_to_2199():
    day = date(FIRST_YEAR - 1, 12, 1)
    while day <= date(LAST_YEAR + 1, 1, 31):
        assert bool(re.fullmatch(POLICY_DATE, day.isoformat())) == (FIRST_YEAR <= day.year <= LAST_YEAR), day
        day += timedelta(days=1)
    for year in (2000, 2001, 2100, 2104, 2199):
        for month in range(1, 13):
            for number in (29, 30, 31, 32):
                real = number <= calendar.monthrange(year, month)[1]
                assert bool(re.fullmatch(POLICY_DATE, f"{year}-{month:02}-{number}")) == real, (year, month, number)


@pytest.mark.parametrize("year", [1, 4, 100, 200, 400, 1600, 1900, 2000, 2023, 2024, 2100, 2400, 9996, 9999])
def test_the_instant_pattern_knows_the_leap_years_of_every_century(year):
    leap_day = f"{year:04}-02-29T12:00:00Z"
    assert bool(re.fullmatch(INSTANT, leap_day)) == calendar.isleap(year)
    assert re.fullmatch(INSTANT, f"{year:04}-02-28T12:00:00Z")
    assert not re.fullmatch(INSTANT, "0000-01-01T00:00:00Z")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.from_regex(INSTANT, fullmatch=True), st.from_regex(POLICY_INSTANT, fullmatch=True)))
def test_every_instant_the_patterns_admit_is_one_datetime_reads(text):
    instant = datetime.fromisoformat(text.upper().replace(" ", "T"))
    assert instant.tzinfo is not None
    if re.fullmatch(POLICY_INSTANT, text):
        assert FIRST_YEAR <= instant.year <= LAST_YEAR


@pytest.mark.parametrize("path,name,value,status", [
    ("/v1/customers/demo-city", "at", "2026-11-27T10:00:00-06:00", 200),
    ("/v1/customers/demo-city", "at", "2026-11-27t16:00:00z", 200),
    ("/v1/customers/demo-city", "at", "2026-11-27 16:00:00.123456789Z", 200),
    ("/v1/customers/demo-city", "at", "2026-W48-5T10:00Z", 422),  # ISO 8601, not RFC 3339
    ("/v1/customers/demo-city", "at", "20261127T100000Z", 422),
    ("/v1/customers/demo-city", "at", "2026-02-29T10:00:00Z", 422),
    ("/v1/customers/demo-city", "at", "0001-01-01T00:00:00+01:00", 422),  # was a 500: before year 1 in UTC
    ("/v1/customers/demo-city", "at", "9999-12-31T23:59:59-23:59", 422),  # was a 500: after 9999 in UTC
    ("/v1/customers/demo-city/coverage", "week_of", "2026-11-23", 200),
    ("/v1/customers/demo-city/coverage", "week_of", "2026-W48-1", 422),
    ("/v1/customers/demo-city/coverage", "week_of", "2026-11-31", 422),
    ("/v1/decisions", "since", "0001-01-01T00:00:00+01:00", 200),
    ("/v1/decisions", "until", "9999-12-31T23:59:59-23:59", 200),
    ("/v1/decisions", "until", "2026-04-01 09:00:00z", 200),
    ("/v1/decisions", "since", "20260101T000000Z", 422),
    ("/v1/decisions", "since", "2026-01-01T00:00:00+00:00:30", 422),
    ("/v1/decisions", "since", "2026-01-01T00:00:00+00:60", 422),
])
def test_query_parameters_are_checked_with_the_documented_patterns(secured, secrets, document, path, name, value,
                                                                   status):
    response = secured.test_client().get(path, query_string={name: value}, headers=bearer(secrets["all"]))
    assert response.status_code == status, response.get_data(as_text=True)
    template = next(p for p in document["paths"] if url(p) == path)
    assert_documented(document, template, "get", response)
    if status == 422:
        assert [e["parameter"] for e in response.get_json()["errors"]] == [name]


def test_the_at_parameter_and_received_at_accept_the_same_instants():
    # One is code (server/openapi.py), the other data (schemas/decision-request.schema.json): kept equal here,
    # so GET /v1/customers/{id}?at= and POST /v1/decisions never disagree on what an instant is.
    assert schema("decision-request")["properties"]["received_at"]["pattern"] == POLICY_INSTANT


def test_webhooks_answer_as_documented(policy_set, tmp_path):
    from webhook_calls import JIRA_TOKEN, NOW, ZENDESK_SECRET, jira_headers, raw, zendesk_headers

    log = open_log(None, tmp_path)
    log.setup()
    app = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log, "TESTING": True, "WEBHOOK_CLOCK": lambda: NOW,
                      "ZENDESK_WEBHOOK_SECRET": ZENDESK_SECRET, "JIRA_WEBHOOK_TOKEN": JIRA_TOKEN})
    client, document = app.test_client(), served(app)
    zendesk, jira = raw("zendesk-ticket-created.json"), raw("jira-issue-automation-format.json")
    for path, response in [
            ("/v1/webhooks/zendesk", client.post("/v1/webhooks/zendesk", data=zendesk, headers=zendesk_headers(zendesk))),
            ("/v1/webhooks/zendesk", client.post("/v1/webhooks/zendesk", data=zendesk,
                                                 headers={"Content-Type": "application/json"})),
            ("/v1/webhooks/jira", client.post("/v1/webhooks/jira", data=jira, headers=jira_headers())),
            ("/v1/webhooks/jira", client.post("/v1/webhooks/jira", data=jira, headers=jira_headers("wrong"))),
            ("/v1/webhooks/jira", client.post("/v1/webhooks/jira", data=b'{"fields": {}}', headers=jira_headers()))]:
        assert_documented(document, path, "post", response)
    assert [r.status_code for r in (response,)] == [422]
