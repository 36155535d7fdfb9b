"""POST /v1/charges over HTTP: the charge as the OpenAPI document describes it, and every refusal a problem
document naming the field, never a 5xx."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_openapi import assert_documented, served, validator

from support import DESIGNATED, make_request

PATH = "/v1/charges"
CHARGE = {"request": make_request("2026-11-28T23:00:00-06:00", "phone", "usage_question", DESIGNATED,
                                  ticket_id="T-1001"),
          "notice": {"given_at": "2026-11-28T23:05:00-06:00", "response": "accepted"},
          "entries": [{"entry_id": "w-1", "start": "2026-11-28T23:10:00-06:00", "end": "2026-11-29T00:40:00-06:00",
                       "by": "agent@example.com", "note": "Showed the webmaster the page editor"}]}
ENTRY = CHARGE["entries"][0]


@pytest.fixture(scope="module")
def document(app):
    return served(app)


def test_the_work_on_a_ticket_is_priced_as_documented(app, document):
    response = app.test_client().post(PATH, json=CHARGE)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert_documented(document, PATH, "post", response)
    answer = response.get_json()
    assert (answer["ticket_id"], answer["total"]) == ("T-1001", {"amount": "300.00", "currency": "USD"})
    [line] = answer["lines"]
    assert line["spans"][0] == {"entry_id": "w-1", "start": "2026-11-28T23:10:00-06:00",
                                "end": "2026-11-29T00:00:00-06:00"}
    assert answer["notice"] == {"given_at": "2026-11-28T23:05:00-06:00", "response": "accepted"}


def test_the_documented_example_is_a_valid_body_and_is_priced(app, document):
    where = ("paths", PATH, "post", "requestBody", "content", "application/json")
    example = document["paths"][PATH]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert not list(validator(document, *where, "schema").iter_errors(example))
    response = app.test_client().post(PATH, json=example)
    assert response.status_code == 200 and response.get_json()["total"]["amount"] == "300.00"


@pytest.mark.parametrize("case,status,slug,pointers,body", [
    ("reversed", 422, "invalid-request", ["/entries/0/end"],
     {"json": dict(CHARGE, entries=[dict(ENTRY, end="2026-11-28T23:05:00-06:00")])}),
    ("overlapping", 422, "invalid-request", ["/entries/1/start"],
     {"json": dict(CHARGE, entries=[ENTRY, dict(ENTRY, entry_id="w-2", start="2026-11-29T00:00:00-06:00",
                                                end="2026-11-29T01:00:00-06:00")])}),
    ("before received_at", 422, "invalid-request", ["/entries/0/start"],
     {"json": dict(CHARGE, entries=[dict(ENTRY, start="2026-11-28T22:00:00-06:00")])}),
    ("in the future", 422, "invalid-request", ["/entries/0/end"],
     {"json": dict(CHARGE, entries=[dict(ENTRY, end="2099-01-01T00:00:00Z")])}),
    ("notice after the work", 422, "invalid-request", ["/notice/given_at"],
     {"json": dict(CHARGE, notice={"given_at": "2026-11-29T01:00:00-06:00", "response": "accepted"})}),
    ("another currency", 422, "invalid-request", ["/currency"], {"json": dict(CHARGE, currency="EUR")}),
    ("no entries", 422, "invalid-request", ["/entries"], {"json": {"request": CHARGE["request"]}}),
    ("unknown field", 422, "invalid-request", ["/entries/0/minutes"],
     {"json": dict(CHARGE, entries=[dict(ENTRY, minutes=90)])}),
    ("unknown customer", 404, "unknown-customer", ["/request/customer"],
     {"json": dict(CHARGE, request=dict(CHARGE["request"], customer="nobody"))}),
    ("no contract yet", 422, "no-policy-in-effect", ["/request/received_at"],
     {"json": dict(CHARGE, request=dict(CHARGE["request"], received_at="2025-06-01T10:00:00Z"))}),
    ("too many entries", 422, "invalid-request", ["/entries"], {"json": dict(CHARGE, entries=[ENTRY] * 501)}),
    ("not json", 400, "malformed-json", [], {"data": "{", "content_type": "application/json"}),
    ("not application/json", 415, "unsupported-media-type", [], {"data": "{}", "content_type": "text/plain"}),
])
def test_every_refusal_is_a_documented_problem_naming_the_field(app, document, case, status, slug, pointers, body):
    response = app.test_client().post(PATH, **body)
    assert response.status_code == status, (case, response.get_json())
    problem = response.get_json(force=True)
    assert response.mimetype == "application/problem+json", case
    assert problem["type"] == f"/problems/{slug}", case
    assert [e["pointer"] for e in problem.get("errors", [])] == pointers, case
    assert_documented(document, PATH, "post", response)


TIMES = st.sampled_from(["2026-11-28T22:00:00-06:00", "2026-11-28T23:10:00-06:00", "2026-11-29T00:40:00-06:00",
                         "2026-11-30T08:00:00-06:00", "2099-01-01T00:00:00Z", "not a time"])
ENTRIES = st.fixed_dictionaries({"entry_id": st.sampled_from(["a", "b", ""]), "start": TIMES, "end": TIMES},
                                optional={"by": st.text(max_size=5), "note": st.text(max_size=5)})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(ENTRIES, max_size=5), notice=st.sampled_from(
    [None, CHARGE["notice"], {"given_at": "2026-11-30T08:00:00-06:00", "response": "declined"}, {"given_at": 1}]))
def test_any_work_log_is_priced_or_refused_never_failed(app, document, entries, notice):
    response = app.test_client().post(PATH, json=dict(CHARGE, entries=entries, notice=notice))
    assert response.status_code in (200, 422), response.get_json()
    assert_documented(document, PATH, "post", response)
