"""POST /v1/tickets/evaluate over HTTP: the clocks as the OpenAPI document describes them, and every refusal a
problem document naming the field, never a 5xx."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_openapi import assert_documented, served

from support import make_request

PATH = "/v1/tickets/evaluate"
TICKET = {"request": make_request("2026-11-23T10:00:00-06:00", "email", "application_error"),
          "events": [{"type": "status", "at": "2026-11-23T10:05:00-06:00", "status": "open", "id": "z-1"},
                     {"type": "agent_reply", "at": "2026-11-23T11:00:00-06:00", "by": "kim@example.net"}],
          "at": "2026-11-23T12:00:00-06:00"}


@pytest.fixture(scope="module")
def document(app):
    return served(app)


def test_a_ticket_is_evaluated_as_documented(app, document):
    response = app.test_client().post(PATH, json=TICKET)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert_documented(document, PATH, "post", response)
    answer = response.get_json()
    assert answer["targets"]["first_response"]["state"] == "met"
    assert answer["targets"]["first_response"]["due"] == "2026-11-23T14:00:00-06:00"
    assert answer["policy"]["id"] == "central-standard" and answer["trace"]


@pytest.mark.parametrize("case,status,slug,pointers,body", [
    ("out of order", 422, "invalid-request", ["/events/1/at"],
     {"json": dict(TICKET, events=[TICKET["events"][1], TICKET["events"][0]])}),
    ("unknown status", 422, "invalid-request", ["/events/0/status"],
     {"json": dict(TICKET, events=[dict(TICKET["events"][0], status="waiting")])}),
    ("reply on a solved ticket", 422, "invalid-request", ["/events/1"],
     {"json": dict(TICKET, events=[dict(TICKET["events"][0], status="solved"), TICKET["events"][1]])}),
    ("before received_at", 422, "invalid-request", ["/events/0/at"],
     {"json": dict(TICKET, events=[dict(TICKET["events"][0], at="2026-11-22T10:05:00-06:00")])}),
    ("unknown field", 422, "invalid-request", ["/events/0/colour"],
     {"json": dict(TICKET, events=[dict(TICKET["events"][0], colour="red")])}),
    ("no events", 422, "invalid-request", ["/events"], {"json": {"request": TICKET["request"]}}),
    ("unknown channel", 422, "invalid-request", ["/request/channel"],
     {"json": dict(TICKET, request=dict(TICKET["request"], channel="fax"))}),
    ("unknown customer", 404, "unknown-customer", ["/request/customer"],
     {"json": dict(TICKET, request=dict(TICKET["request"], customer="nobody"))}),
    ("no contract yet", 422, "no-policy-in-effect", ["/request/received_at"],
     {"json": {"request": dict(TICKET["request"], received_at="2025-06-01T10:00:00Z"), "events": []}}),
    ("too many events", 422, "invalid-request", ["/events"], {"json": dict(TICKET, events=TICKET["events"] * 501)}),
    ("a hostile number of events", 413, "limit-exceeded", ["/events"],
     {"json": dict(TICKET, events=TICKET["events"] * 1001)}),
    ("an event's type not a word", 422, "invalid-request", ["/events/0/type"],
     {"json": dict(TICKET, events=[dict(TICKET["events"][0], type={})])}),
    ("a requester too big", 413, "limit-exceeded", ["/request/requester"],
     {"json": dict(TICKET, request=dict(TICKET["request"], requester=dict(
         TICKET["request"]["requester"], **{f"k{n}": n for n in range(64)})))}),
    ("not json", 400, "malformed-json", [], {"data": "{", "content_type": "application/json"}),
    ("not application/json", 415, "unsupported-media-type", [], {"data": "{}", "content_type": "text/plain"}),
])
def test_every_refusal_is_a_documented_problem_naming_the_field(app, document, case, status, slug, pointers, body):
    response = app.test_client().post(PATH, **body)
    assert response.status_code == status, (case, response.get_json())
    problem = response.get_json(force=True)
    assert problem["type"] == f"/problems/{slug}", case
    assert [e["pointer"] for e in problem.get("errors", [])] == pointers, case
    assert_documented(document, PATH, "post", response)


EVENTS = st.fixed_dictionaries({
    "type": st.sampled_from(["status", "agent_reply", "customer_reply", "acknowledged", "attributes", "other"]),
    "at": st.sampled_from(["2026-11-23T09:00:00-06:00", "2026-11-23T10:30:00-06:00", "2026-11-24T10:00:00Z",
                           "2099-01-01T00:00:00Z", "not a time"]),
}, optional={"status": st.sampled_from(["new", "open", "pending_customer", "on_hold", "solved", "Open"]),
             "public": st.booleans(), "attributes": st.dictionaries(st.sampled_from(["severity", "x"]),
                                                                    st.integers(0, 5), max_size=2)})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(EVENTS, max_size=8), at=st.sampled_from([None, "2026-11-25T10:00:00-06:00"]))
def test_any_stream_of_events_is_answered_or_refused_never_failed(app, document, events, at):
    body = {"request": TICKET["request"], "events": events, **({"at": at} if at else {})}
    response = app.test_client().post(PATH, json=body)
    assert response.status_code in (200, 422), response.get_json()
    assert_documented(document, PATH, "post", response)
