"""The HTTP API as a ticketing system sees it: health, the loaded policy, the
OpenAPI document, and responses that keep to the published schemas."""
import hashlib
import itertools
import json
import re
from datetime import datetime

import pytest
from jsonschema import Draft202012Validator

from supportpolicy.engine.load.schemas import schema

from support import CATEGORIES, CHANNELS, DESIGNATED, OTHER, REPO, make_request

# docs/decision-api.md's response table, in its order.
CONTRACT_FIELDS = [
    "decision_id", "ticket_id", "customer", "policy", "received_at", "local_time", "in_business_hours", "holiday",
    "emergency", "designated_contact", "emergency_support", "billable", "hourly_rate", "notice_required",
    "respond_by", "route", "escalation", "trace",
]
REQUEST_FIELDS = {"customer", "received_at", "channel", "requester", "category", "ticket_id", "summary", "attributes"}
REQUIRED_REQUEST_FIELDS = {"customer", "received_at", "channel", "requester", "category"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")

TIMES = [
    "2026-11-27T10:00:00-06:00",  # Friday, open
    "2026-11-28T23:00:00-06:00",  # Saturday night
    "2026-11-26T12:00:00-06:00",  # Thanksgiving
    "2026-03-06T18:30:00.25-06:00",  # Friday before spring forward, fractional seconds
    "2026-10-31T06:30:00Z",  # the night daylight saving ends
    "2026-07-15t15:00:00z",  # lower-case T and Z
    "2026-07-15 20:30:00+05:30",  # a space for the T
]


def rfc3339_with_offset(text: str) -> bool:
    return bool(RFC3339.match(text)) and datetime.fromisoformat(text).utcoffset() is not None


def decision_grid():
    for at, channel, category, email in itertools.product(TIMES, CHANNELS, CATEGORIES, [DESIGNATED, OTHER]):
        yield make_request(at, channel, category, email, ticket_id=f"T-{channel}-{category}")


@pytest.fixture(scope="module")
def decisions(app):
    client = app.test_client()
    documents = []
    for body in decision_grid():
        response = client.post("/v1/decisions", json=body)
        assert response.status_code == 200, (body, response.get_data(as_text=True))
        assert response.mimetype == "application/json"
        documents.append((body, json.loads(response.get_data(as_text=True))))
    return documents


# Health and the loaded policy

def test_healthz_reports_ok_and_the_policy_digest(client, policy_set):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == {"status": "ok", "policy_digest": policy_set.digest}
    assert DIGEST.match(policy_set.digest)


def test_policies_lists_every_shipped_file_with_its_version_and_date(client, policy_set):
    document = client.get("/v1/policies").get_json()
    assert document["digest"] == policy_set.digest
    assert rfc3339_with_offset(document["loaded_at"])
    listed = {(f["kind"], f["id"], f["version"], f["effective_from"]) for f in document["files"]}
    assert listed == {
        ("plan", "central-standard", "2026.1", "2026-01-01"),
        ("customer", "demo-city", "2026.1", "2026-01-01"),
        ("ruleset", "billing", "2026.1", "2026-01-01"),
        ("ruleset", "escalation", "2026.1", "2026-01-01"),
        ("ruleset", "response-deadline", "2026.1", "2026-01-01"),
        ("ruleset", "route-and-coverage", "2026.1", "2026-01-01"),
        ("plan", "premium-24x7", "2026.1", "2026-01-01"),
        ("customer", "harbor-county", "2026.1", "2026-01-01"),
        ("ruleset", "premium-billing", "2026.1", "2026-01-01"),
        ("ruleset", "premium-route-and-coverage", "2026.1", "2026-01-01"),
        ("ruleset", "premium-targets", "2026.1", "2026-01-01"),
        ("integration", "zendesk", "2026.1", "2026-01-01"),
        ("integration", "jira", "2026.1", "2026-01-01"),
    }


def test_each_listed_file_digest_is_the_sha256_of_its_content(client):
    for entry in client.get("/v1/policies").get_json()["files"]:
        assert set(entry) >= {"path", "kind", "id", "version", "effective_from", "digest"}
        content = (REPO / entry["path"]).read_bytes()
        assert entry["digest"] == "sha256:" + hashlib.sha256(content).hexdigest(), entry["path"]


def test_a_decision_carries_the_digest_of_every_file_that_took_part(decisions, policy_set):
    from supportpolicy.engine.decide.policyset import digest

    by_path = {f.path: f for f in policy_set.files}
    took_part = {"policies/customers/demo-city.yaml", "policies/plans/central-standard/2026.1.yaml",
                 "rules/billing.yaml", "rules/escalation.yaml", "rules/response-deadline.yaml",
                 "rules/route-and-coverage.yaml"}
    for _, d in decisions:
        assert {f["path"] for f in d["policy"]["files"]} == took_part
        assert d["policy"]["digest"] == digest([by_path[path] for path in took_part])


# The OpenAPI document

@pytest.fixture(scope="module")
def openapi(app):
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_openapi_is_version_3_1(openapi):
    assert openapi["openapi"].startswith("3.1.")
    assert set(openapi["paths"]) >= {"/v1/decisions", "/v1/policies", "/healthz", "/openapi.json"}


@pytest.mark.parametrize("component,name", [
    ("DecisionRequest", "decision-request"), ("Decision", "decision"), ("Problem", "problem")])
def test_openapi_components_are_the_json_schemas_shipped_in_schemas(openapi, component, name):
    expected = {k: v for k, v in schema(name).items() if k != "$schema"}
    assert openapi["components"]["schemas"][component] == expected


def test_openapi_decide_operation_refers_to_the_request_decision_and_problem_schemas(openapi):
    operation = openapi["paths"]["/v1/decisions"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/DecisionRequest"}
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Decision"}
    for status in ("400", "404", "413", "415", "422"):
        content = operation["responses"][status]["content"]
        assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_the_request_schema_has_the_contract_fields_and_required_ones(openapi):
    request_schema = openapi["components"]["schemas"]["DecisionRequest"]
    assert set(request_schema["properties"]) == REQUEST_FIELDS
    assert set(request_schema["required"]) == REQUIRED_REQUEST_FIELDS
    assert request_schema["additionalProperties"] is False


def test_the_decision_schema_requires_every_contract_field(openapi):
    decision_schema = openapi["components"]["schemas"]["Decision"]
    assert set(decision_schema["required"]) == set(CONTRACT_FIELDS)
    assert set(decision_schema["properties"]) >= set(CONTRACT_FIELDS)


# Decisions keep to decision.schema.json and to the contract's order and formats

def test_every_decision_of_the_grid_validates_against_the_decision_schema(decisions):
    validator = Draft202012Validator(schema("decision"))
    assert len(decisions) == len(TIMES) * len(CHANNELS) * len(CATEGORIES) * 2
    for body, document in decisions:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == [], body


def test_decision_fields_come_in_the_contract_order(decisions):
    documented = set(schema("decision")["properties"])
    for _, document in decisions:
        assert [k for k in document if k in CONTRACT_FIELDS] == CONTRACT_FIELDS
        assert set(document) <= documented  # additions are documented in the schema
        assert list(document["policy"])[:3] == ["id", "version", "digest"]
        assert list(document["escalation"]) == ["team", "via"]
        assert all(list(entry) == ["rule", "file", "line"] for entry in document["trace"])
        if document["hourly_rate"] is not None:
            assert list(document["hourly_rate"]) == ["amount", "currency"]


def test_times_in_decisions_are_rfc3339_with_an_offset(decisions):
    for body, document in decisions:
        for field in ("received_at", "local_time", "respond_by"):
            assert rfc3339_with_offset(document[field]), (field, document[field])
        assert document["local_time"][-6:] in ("-06:00", "-05:00")
        assert document["respond_by"][-6:] in ("-06:00", "-05:00")
        instant = datetime.fromisoformat(body["received_at"].upper().replace(" ", "T"))
        assert datetime.fromisoformat(document["received_at"]) == instant
        assert datetime.fromisoformat(document["local_time"]) == instant
        assert datetime.fromisoformat(document["respond_by"]) >= instant


def test_decisions_echo_the_request_and_have_unique_ids(decisions):
    ids = [d["decision_id"] for _, d in decisions]
    assert len(set(ids)) == len(ids)
    for body, document in decisions:
        assert document["ticket_id"] == body["ticket_id"] and document["customer"] == "demo-city"


def test_the_hourly_rate_is_a_decimal_string_only_when_billable(decisions):
    for _, document in decisions:
        if document["billable"]:
            assert document["hourly_rate"] == {"amount": "200.00", "currency": "USD"}
        else:
            assert document["hourly_rate"] is None


# Problem documents keep to problem.schema.json

def _problem_responses(client):
    yield client.post("/v1/decisions", data="{", content_type="application/json")
    yield client.post("/v1/decisions", json={})
    yield client.post("/v1/decisions", json=[])
    yield client.post("/v1/decisions", json=make_request("2026-11-27T10:00:00"))
    yield client.post("/v1/decisions", json=make_request("2026-11-27T10:00:00Z", channel="fax"))
    yield client.post("/v1/decisions", json=make_request("2025-06-01T10:00:00Z"))
    yield client.post("/v1/decisions", json=dict(make_request("2026-11-27T10:00:00Z"), customer="nowhere"))
    yield client.post("/v1/decisions", json=dict(make_request("2026-11-27T10:00:00Z"), extra=1))
    yield client.post("/v1/decisions", data="{}", content_type="text/plain")
    yield client.post("/v1/decisions", data="x" * (1024 * 1024 + 1), content_type="application/json")
    yield client.delete("/v1/decisions")  # GET lists the decision log; DELETE is no method of it
    yield client.get("/v1/decisions")  # no decision log on this server: 404
    yield client.get("/no/such/path")


def test_every_problem_document_validates_against_the_problem_schema(client):
    validator = Draft202012Validator(schema("problem"))
    statuses = set()
    for response in _problem_responses(client):
        assert response.mimetype == "application/problem+json"
        document = response.get_json(force=True)
        assert [e.message for e in validator.iter_errors(document)] == []
        assert document["status"] == response.status_code
        statuses.add(response.status_code)
    assert statuses == {400, 404, 405, 413, 415, 422}


def test_every_problem_type_is_a_link_that_explains_it(client):
    for response in _problem_responses(client):
        kind = response.get_json(force=True)["type"]
        explained = client.get(kind)
        assert explained.status_code == 200, kind
        assert explained.get_data(as_text=True).strip()


@pytest.mark.parametrize("url", ["postgresql://ops:s3cret-Pw@db.internal/decisions",
                                 "postgresql://db.internal/decisions?password=s3cret-Pw",
                                 "postgresql://db.internal/decisions?user=ops&pass%77ord=s3cret-Pw"])
def test_status_names_the_postgresql_decision_log_without_its_password(policy_set, url):
    from supportpolicy.server import create_app
    from supportpolicy.server.storage.decisionlog import open_log

    client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": open_log(url), "TESTING": True}).test_client()
    response = client.get("/v1/status")
    assert response.status_code == 200
    assert response.get_json()["decision_log"]["store"] == "PostgresLog"
    assert "db.internal" in response.get_json()["decision_log"]["where"]
    assert b"s3cret-Pw" not in response.data
