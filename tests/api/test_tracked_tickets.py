"""Tracked tickets over HTTP, on both stores: events appended once by their ids, all or none, the clocks read
from them as POST /v1/tickets/evaluate reads a ticket sent whole, and the queue of tickets due soonest."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from test_openapi import assert_documented, served

from supportpolicy.server import create_app
from supportpolicy.server.storage.privacy import LogPrivacy, read_key

from support import DESIGNATED, make_request

REQUEST = make_request("2026-11-23T10:00:00-06:00", "email", "application_error", summary="the portal is slow")
OPEN = {"type": "status", "at": "2026-11-23T10:05:00-06:00", "status": "open", "id": "e-1", "by": "kim@example.net"}
REPLY = {"type": "agent_reply", "at": "2026-11-23T11:00:00-06:00", "id": "e-2"}


@pytest.fixture()
def tracked(policy_set, store):
    """An app logging to the store, masking personal data as `serve` does by default."""
    log = store.open(privacy=LogPrivacy.of(key=read_key(data_dir=store.data_dir, create=True)))
    app = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log, "TESTING": True})
    return app.test_client()


@pytest.fixture(scope="module")
def document(app):
    return served(app)


def test_events_are_stored_and_the_clocks_are_those_of_the_ticket_sent_whole(tracked, store, document):
    appended = tracked.post("/v1/tickets/T-1/events", json={"request": REQUEST, "events": [OPEN]})
    assert appended.status_code == 200, appended.get_json()
    assert_documented(document, "/v1/tickets/{ticket_id}/events", "post", appended)
    assert (appended.get_json()["stored"], appended.get_json()["already_stored"]) == (1, 0)
    assert appended.get_json()["targets"]["first_response"]["state"] in ("running", "breached")
    again = tracked.post("/v1/tickets/T-1/events", json={"events": [REPLY]})
    assert again.status_code == 200 and again.get_json()["stored"] == 1
    at = "2026-11-23T12:00:00-06:00"
    shown = tracked.get(f"/v1/tickets/T-1?at={at}")
    assert_documented(document, "/v1/tickets/{ticket_id}", "get", shown)
    whole = tracked.post("/v1/tickets/evaluate", json={"request": dict(REQUEST, ticket_id="T-1"),
                                                       "events": [OPEN, REPLY], "at": at})
    assert shown.get_json()["targets"] == whole.get_json()["targets"]
    assert shown.get_json()["targets"]["first_response"]["state"] == "met"
    assert shown.get_json()["ticket_id"] == "T-1"
    before_the_reply = tracked.get("/v1/tickets/T-1?at=2026-11-23T10:30:00-06:00").get_json()
    assert before_the_reply["targets"]["first_response"]["state"] == "running"


def test_the_store_keeps_no_personal_data_as_received(tracked, store):
    assert tracked.post("/v1/tickets/T-1/events", json={"request": REQUEST, "events": [OPEN]}).status_code == 200
    [(request,)] = store.rows("SELECT request FROM tickets")
    [(event,)] = store.rows("SELECT event FROM ticket_events")
    assert "resident@example.org" not in request and "portal is slow" not in request
    assert "kim@example.net" not in event
    assert tracked.get("/v1/tickets/T-1").status_code == 200  # decided again from what was kept


def test_a_retried_webhook_is_stored_once(tracked, store):
    body = {"request": REQUEST, "events": [OPEN, REPLY]}
    assert tracked.post("/v1/tickets/T-1/events", json=body).get_json()["stored"] == 2
    retried = tracked.post("/v1/tickets/T-1/events", json=body).get_json()
    assert (retried["stored"], retried["already_stored"]) == (0, 2)
    assert store.rows("SELECT count(*) FROM ticket_events") == [(2,)]


def test_an_id_given_to_another_event_is_refused_and_nothing_of_the_batch_is_stored(tracked, store):
    assert tracked.post("/v1/tickets/T-1/events", json={"request": REQUEST, "events": [OPEN]}).status_code == 200
    refused = tracked.post("/v1/tickets/T-1/events", json={"events": [REPLY, dict(OPEN, status="on_hold")]})
    assert refused.status_code == 422
    assert [e["pointer"] for e in refused.get_json()["errors"]] == ["/events/1/id"]
    assert store.rows("SELECT event_id FROM ticket_events") == [("e-1",)]


@pytest.mark.parametrize("case,events,pointers", [
    ("before the stored event", [dict(REPLY, at="2026-11-23T10:01:00-06:00")], ["/events/0/at"]),
    ("an unknown status", [REPLY, dict(OPEN, id="e-3", status="waiting", at="2026-11-23T11:30:00-06:00")],
     ["/events/1/status"]),
    ("in the future", [dict(REPLY, at="2199-01-01T00:00:00Z")], ["/events/0/at"]),
    ("without an id", [{k: v for k, v in REPLY.items() if k != "id"}], ["/events/0/id"]),
    ("no events", [], ["/events"]),
])
def test_a_bad_stream_is_a_422_naming_the_event_in_the_body_and_stores_nothing(tracked, store, case, events,
                                                                               pointers):
    assert tracked.post("/v1/tickets/T-1/events", json={"request": REQUEST, "events": [OPEN]}).status_code == 200
    refused = tracked.post("/v1/tickets/T-1/events", json={"events": events})
    assert refused.status_code == 422, case
    assert [e["pointer"] for e in refused.get_json()["errors"]] == pointers, case
    assert store.rows("SELECT count(*) FROM ticket_events") == [(1,)], case


def test_the_request_comes_from_the_body_or_the_latest_logged_decision(tracked):
    unknown = tracked.post("/v1/tickets/T-9/events", json={"events": [OPEN]})
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["pointer"] == "/request"
    decided = tracked.post("/v1/decisions", json=dict(REQUEST, ticket_id="T-9", requester={"email": DESIGNATED}))
    assert decided.status_code == 200
    appended = tracked.post("/v1/tickets/T-9/events", json={"events": [OPEN]})
    assert appended.status_code == 200, appended.get_json()
    assert appended.get_json()["policy"] == decided.get_json()["policy"]
    other = tracked.post("/v1/tickets/T-9/events", json={"request": dict(REQUEST, category="suggestion"),
                                                         "events": [REPLY]})
    assert other.status_code == 422 and other.get_json()["errors"][0]["pointer"] == "/request"
    elsewhere = tracked.post("/v1/tickets/T-8/events", json={"request": dict(REQUEST, ticket_id="T-7"),
                                                             "events": [OPEN]})
    assert elsewhere.get_json()["errors"][0]["pointer"] == "/request/ticket_id"


def test_an_untracked_ticket_is_a_404(tracked, document):
    missing = tracked.get("/v1/tickets/T-404")
    assert missing.status_code == 404 and "T-404" in missing.get_json()["detail"]
    assert tracked.get("/v1/tickets/evaluate").status_code == 405  # the evaluate endpoint's path, not a ticket


def test_the_queue_is_soonest_first_filtered_and_paged(tracked, document):
    for ticket, day in (("T-B", "24"), ("T-A", "23"), ("T-C", "25")):
        request = make_request(f"2026-11-{day}T10:00:00-06:00", "email", "application_error")
        events = [dict(OPEN, at=f"2026-11-{day}T10:05:00-06:00")]
        assert tracked.post(f"/v1/tickets/{ticket}/events", json={"request": request, "events": events}) \
            .status_code == 200
    tracked.post("/v1/tickets/T-C/events", json={"events": [dict(REPLY, at="2026-11-25T11:00:00-06:00")]})
    queue = tracked.get("/v1/tickets")
    assert_documented(document, "/v1/tickets", "get", queue)
    tickets = queue.get_json()["tickets"]
    assert [t["ticket_id"] for t in tickets] == ["T-A", "T-B"]  # T-C was answered: nothing is due
    first = tickets[0]
    # 4 business hours from 10:00 in Chicago: due 14:00 (20:00Z), its 75% warning at 13:00 (19:00Z).
    assert first["next"] == {"at": "2026-11-23T19:00:00.000000Z", "kind": "warning", "target": "first_response"}
    assert first["breach"] == {"at": "2026-11-23T20:00:00.000000Z", "target": "first_response"}
    # Appended after its due time (the clocks are read when the events arrive): breached already then.
    assert first["state"] == "breached" and first["state_at_last_event"] == "breached"
    soon = tracked.get("/v1/tickets?due_before=2026-11-24T00:00:00Z").get_json()["tickets"]
    assert [t["ticket_id"] for t in soon] == ["T-A"]
    page = tracked.get("/v1/tickets?limit=1&state=breached").get_json()
    assert [t["ticket_id"] for t in page["tickets"]] == ["T-A"]
    following = tracked.get(page["next"]).get_json()
    assert [t["ticket_id"] for t in following["tickets"]] == ["T-B"]
    assert tracked.get("/v1/tickets?customer=nobody").get_json()["tickets"] == []
    for query, pointer in (("state=late", "state"), ("after=x", "after"), ("due_before=soon", "due_before")):
        refused = tracked.get(f"/v1/tickets?{query}")
        assert refused.status_code == 422 and refused.get_json()["errors"][0]["parameter"] == pointer, query
        assert_documented(document, "/v1/tickets", "get", refused)


def test_the_metrics_count_open_clocks_by_plan_target_and_state_now(tracked):
    late = make_request("2026-11-23T10:00:00-06:00", "email", "application_error")
    assert tracked.post("/v1/tickets/T-A/events", json={"request": late, "events": [OPEN]}).status_code == 200
    answered = make_request("2026-11-24T10:00:00-06:00", "email", "application_error")
    assert tracked.post("/v1/tickets/T-B/events", json={"request": answered, "events": [
        dict(OPEN, at="2026-11-24T10:05:00-06:00"), dict(REPLY, at="2026-11-24T11:00:00-06:00")]}).status_code == 200
    text = tracked.get("/metrics").get_data(as_text=True)
    shown = 'supportpolicy_tickets{{plan="central-standard 2026.1",state="{}",target="first_response"}} {}'
    assert shown.format("breached", "1.0") in text
    assert shown.format("running", "0.0") in text  # T-B was answered: no clock of it is open


def test_a_time_before_the_ticket_was_received_is_a_422_naming_the_parameter(tracked, document):
    assert tracked.post("/v1/tickets/T-1/events", json={"request": REQUEST, "events": [OPEN]}).status_code == 200
    refused = tracked.get("/v1/tickets/T-1?at=2026-11-22T10:00:00-06:00")
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["parameter"] == "at"
    assert_documented(document, "/v1/tickets/{ticket_id}", "get", refused)


def test_retries_sent_at_once_store_each_event_once_in_order(policy_set, store):
    log = store.open()
    app = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log, "TESTING": True})
    body = {"request": REQUEST, "events": [OPEN, REPLY]}

    def send(_):
        return app.test_client().post("/v1/tickets/T-1/events", json=body).get_json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(16)))
    assert sorted(a["stored"] for a in answers) == [0] * 15 + [2]
    assert all(a["targets"] == answers[0]["targets"] for a in answers)
    assert store.rows("SELECT event_id FROM ticket_events ORDER BY position") == [("e-1",), ("e-2",)]
