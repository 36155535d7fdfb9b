"""GET /v1/decisions and /v1/decisions/{id} as auditors and followers ask them, against both stores: a ticket's
decisions newest first, either order, dates for since and until, and parameters that are refused, never ignored."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest

from supportpolicy.engine.decide.decision import new_decision_id
from supportpolicy.server import create_app
from supportpolicy.server.storage.decisionlog import LogRecord, utc_text

from support import make_request


@pytest.fixture()
def api(store, policy_set):
    log = store.open()
    return create_app({"POLICY_SET": policy_set, "DECISION_LOG": log}).test_client(), log


def logged(log, policy_set, decided_at: datetime, ticket_id: str | None = None) -> LogRecord:
    body = make_request("2026-11-28T23:00:00-06:00", **({"ticket_id": ticket_id} if ticket_id else {}))
    decision = policy_set.decide(body).as_json()
    record = LogRecord(decision["decision_id"], utc_text(decided_at), "demo-city", decision["received_at"],
                       decision["policy"]["digest"], body, decision)
    log.write(record)
    return record


def problem_of(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    document = response.get_json()
    assert document["type"] == f"/problems/{slug}" and document["status"] == status
    return document


def pages(client, query: dict) -> tuple[list[str], list[str]]:
    """Every decision_id, following `next`, and each `next` link."""
    found, links = [], []
    response = client.get("/v1/decisions", query_string=query)
    while True:
        assert response.status_code == 200, response.get_data(as_text=True)
        document = response.get_json()
        found += [d["decision_id"] for d in document["decisions"]]
        if document["next"] is None:
            return found, links
        links.append(document["next"])
        response = client.get(document["next"])


def test_a_tickets_decisions_come_newest_first_and_pages_keep_to_the_ticket(api, policy_set):
    client, log = api
    start = datetime(2026, 4, 1, tzinfo=timezone.utc)
    mine = [logged(log, policy_set, start + timedelta(minutes=n), "T-7" if n % 2 else "T-8") for n in range(9)]
    t7 = [r.decision_id for r in mine if r.decision["ticket_id"] == "T-7"]
    assert pages(client, {"ticket_id": "T-7"})[0] == t7[::-1]
    found, links = pages(client, {"ticket_id": "T-7", "limit": "3"})
    assert found == t7[::-1] and len(t7) == 4 and len(links) == 1
    for link in links:
        assert dict(parse_qsl(urlsplit(link).query)).keys() == {"ticket_id", "limit", "order", "after"}
    # Either order, on request; the log's commit order is oldest first.
    assert pages(client, {"ticket_id": "T-7", "order": "oldest_first", "limit": "2"})[0] == t7
    every = [r.decision_id for r in mine]
    assert pages(client, {"order": "newest_first", "limit": "4"})[0] == every[::-1]
    assert pages(client, {})[0] == every
    assert pages(client, {"ticket_id": "T-none"})[0] == []


def test_since_and_until_take_a_date_read_as_midnight_utc(api, policy_set):
    client, log = api
    late = logged(log, policy_set, datetime(2026, 4, 1, 23, 30, tzinfo=timezone.utc))
    early = logged(log, policy_set, datetime(2026, 4, 2, 0, 30, tzinfo=timezone.utc))
    assert pages(client, {"since": "2026-04-02"})[0] == [early.decision_id]
    assert pages(client, {"until": "2026-04-02"})[0] == [late.decision_id]
    assert pages(client, {"since": "2026-04-01", "until": "2026-04-03"})[0] == [late.decision_id, early.decision_id]
    # The same day as `log export --since` reads it: an instant at 00:00 UTC.
    assert pages(client, {"since": "2026-04-02T00:00:00Z"})[0] == pages(client, {"since": "2026-04-02"})[0]


@pytest.mark.parametrize("query", [{"ticket": "T-1"}, {"ticketId": "T-1"}, {"customer": "demo-city", "page": "2"},
                                   {"since": "2026-04-01", "sort": "desc"}])
def test_an_unknown_parameter_is_a_400_naming_it(api, query):
    client, _ = api
    known = {"customer", "ticket_id", "since", "until", "order", "limit", "after"}
    document = problem_of(client.get("/v1/decisions", query_string=query), 400, "unknown-parameter")
    assert [e["parameter"] for e in document["errors"]] == sorted(set(query) - known)
    assert all(name in document["detail"] for name in set(query) - known)


def test_unknown_parameters_never_reach_a_next_link(api, policy_set):
    client, log = api
    for n in range(3):
        logged(log, policy_set, datetime(2026, 4, 1, tzinfo=timezone.utc) + timedelta(minutes=n))
    _, links = pages(client, {"limit": "1", "customer": "demo-city"})
    assert len(links) == 3
    for link in links:
        assert set(dict(parse_qsl(urlsplit(link).query))) == {"limit", "customer", "order", "after"}
        assert client.get(link + "&extra=1").status_code == 400


def test_a_parameter_given_twice_is_a_422(api):
    client, _ = api
    document = problem_of(client.get("/v1/decisions?since=2026-04-01&since=2026-04-02"), 422, "invalid-request")
    assert [e["parameter"] for e in document["errors"]] == ["since"]


def test_an_unknown_decision_id_is_a_404_saying_no_such_decision_was_logged(api, policy_set):
    client, log = api
    logged(log, policy_set, datetime.now(timezone.utc))
    missing = new_decision_id()
    document = problem_of(client.get(f"/v1/decisions/{missing}"), 404, "not-found")
    assert f"no decision with the id '{missing}' was logged" in document["detail"]
    assert "no resource" not in document["detail"]
    problem_of(client.get(f"/v1/decisions/{missing}?verbose=1"), 400, "unknown-parameter")


def test_a_server_without_a_log_says_so(policy_set):
    client = create_app({"POLICY_SET": policy_set}).test_client()
    for path in ("/v1/decisions", f"/v1/decisions/{new_decision_id()}"):
        assert "keeps no decision log" in problem_of(client.get(path), 404, "not-found")["detail"]
