"""A tracked ticket's work over HTTP, on both stores: entries stored once by their ids, all or none, checked
against those stored, and the ticket's charge priced as POST /v1/charges prices the same work."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from test_openapi import assert_documented, served

from supportpolicy.engine.decide.build import load_policy_set
from supportpolicy.server import create_app
from supportpolicy.server.storage.privacy import LogPrivacy, read_key

from support import DESIGNATED, make_request, shipped_with_rate

REQUEST = make_request("2026-11-28T23:00:00-06:00", "phone", "usage_question", DESIGNATED)
OPEN = {"type": "status", "at": "2026-11-28T23:01:00-06:00", "status": "open", "id": "e-1"}
NOTICE = {"given_at": "2026-11-28T23:05:00-06:00", "response": "accepted"}
FIRST = {"entry_id": "w-1", "start": "2026-11-28T23:10:00-06:00", "end": "2026-11-29T00:40:00-06:00",
         "by": "agent@example.com", "note": "Showed the webmaster the page editor"}
SECOND = {"entry_id": "w-2", "start": "2026-11-29T09:00:00-06:00", "end": "2026-11-29T09:30:00-06:00"}
WORK = "/v1/tickets/T-1001/work"


@pytest.fixture()
def tracked(policy_set, store):
    """An app logging to the store, masking personal data as `serve` does by default, with ticket T-1001."""
    log = store.open(privacy=LogPrivacy.of(key=read_key(data_dir=store.data_dir, create=True)))
    client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log, "TESTING": True}).test_client()
    assert client.post("/v1/tickets/T-1001/events", json={"request": REQUEST, "events": [OPEN]}).status_code == 200
    return client


@pytest.fixture(scope="module")
def document(app):
    return served(app)


def charged(client, entries, notice=NOTICE) -> dict:
    body = {"request": dict(REQUEST, ticket_id="T-1001"), "entries": entries}
    if notice is not None:
        body["notice"] = notice
    answer = client.post("/v1/charges", json=body)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_stored_work_is_priced_as_post_charges_prices_it(tracked, store, document):
    first = tracked.post(WORK, json={"notice": NOTICE, "entries": [FIRST]})
    assert first.status_code == 200, first.get_json()
    assert_documented(document, "/v1/tickets/{ticket_id}/work", "post", first)
    answer = first.get_json()
    assert (answer["stored"], answer["already_stored"], answer["notice_stored"]) == (1, 0, True)
    [charge] = answer["charges"]
    whole = charged(tracked, [FIRST])
    assert {k: v for k, v in charge.items() if k != "month"} == \
        dict(whole, lines=[dict(line, unbilled=None) for line in whole["lines"]])
    assert (charge["month"], charge["total"]["amount"], answer["totals"]) == \
        ("2026-11", "300.00", [{"amount": "300.00", "currency": "USD"}])
    second = tracked.post(WORK, json={"entries": [SECOND]})
    assert second.status_code == 200, second.get_json()
    shown = tracked.get(WORK)
    assert_documented(document, "/v1/tickets/{ticket_id}/work", "get", shown)
    assert [e["entry_id"] for e in shown.get_json()["entries"]] == ["w-1", "w-2"]
    both = charged(tracked, [FIRST, SECOND])
    assert shown.get_json()["charges"][0]["total"] == both["total"]
    # Sunday morning is weekend time too: 30 more minutes at 200.00.
    assert both["total"]["amount"] == "400.00"
    # The store keeps no agent's address (the log masks personal data).
    assert all("agent@example.com" not in entry for (entry,) in store.rows("SELECT entry FROM ticket_work"))


def test_a_retried_entry_is_stored_once_and_an_id_reused_for_other_work_is_refused(tracked, store):
    assert tracked.post(WORK, json={"notice": NOTICE, "entries": [FIRST]}).status_code == 200
    again = tracked.post(WORK, json={"notice": NOTICE, "entries": [FIRST]})
    assert again.status_code == 200
    assert (again.get_json()["stored"], again.get_json()["already_stored"]) == (0, 1)
    reused = tracked.post(WORK, json={"entries": [SECOND, dict(FIRST, note="other")]})
    assert reused.status_code == 422 and reused.mimetype == "application/problem+json"
    assert [e["pointer"] for e in reused.get_json()["errors"]] == ["/entries/1/entry_id"]
    # Nothing of the refused batch is stored: not even its good entry.
    assert store.rows("SELECT entry_id FROM ticket_work") == [("w-1",)]
    other_notice = tracked.post(WORK, json={"notice": dict(NOTICE, response="declined"), "entries": [SECOND]})
    assert other_notice.status_code == 422
    assert [e["pointer"] for e in other_notice.get_json()["errors"]] == ["/notice"]


@pytest.mark.parametrize("entries, pointer", [
    ([dict(SECOND, end="2026-11-29T08:00:00-06:00")], "/entries/0/end"),
    ([dict(SECOND, start="2026-11-28T22:00:00-06:00")], "/entries/0/start"),
    ([dict(SECOND, end="2126-11-29T08:00:00-06:00")], "/entries/0/end"),
    ([SECOND, dict(SECOND, entry_id="w-3", start="2026-11-29T09:15:00-06:00")], "/entries/1/start"),
    ([SECOND, dict(FIRST, entry_id="w-3", start="2026-11-28T23:30:00-06:00", end="2026-11-28T23:40:00-06:00")],
     "/entries/1/start"),
    ([dict(SECOND, start="yesterday")], "/entries/0/start"),
    ([dict(SECOND, minutes=30)], "/entries/0/minutes"),
])
def test_bad_work_is_refused_naming_the_field_and_nothing_is_stored(tracked, store, entries, pointer):
    assert tracked.post(WORK, json={"notice": NOTICE, "entries": [FIRST]}).status_code == 200
    refused = tracked.post(WORK, json={"entries": entries})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json", refused.get_json()
    assert pointer in [e["pointer"] for e in refused.get_json()["errors"]], refused.get_json()
    assert store.rows("SELECT entry_id FROM ticket_work") == [("w-1",)]


@pytest.mark.parametrize("currency", [None, "usd", "US", 840, ["USD"]])
def test_a_currency_that_is_no_currency_code_is_refused_naming_it(tracked, store, currency):
    refused = tracked.post(WORK, json={"notice": NOTICE, "entries": [FIRST], "currency": currency})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json", refused.get_json()
    assert [e["pointer"] for e in refused.get_json()["errors"]] == ["/currency"]
    assert store.rows("SELECT count(*) FROM ticket_work") == [(0,)]


def test_a_notice_after_the_work_and_a_currency_not_the_plans_are_refused(tracked, store):
    late = tracked.post(WORK, json={"notice": dict(NOTICE, given_at="2026-11-29T01:00:00-06:00"),
                                    "entries": [FIRST]})
    assert late.status_code == 422
    assert [e["pointer"] for e in late.get_json()["errors"]] == ["/notice/given_at"]
    euros = tracked.post(WORK, json={"notice": NOTICE, "entries": [FIRST], "currency": "EUR"})
    assert euros.status_code == 422
    assert [e["pointer"] for e in euros.get_json()["errors"]] == ["/currency"]
    assert store.rows("SELECT count(*) FROM ticket_work") == [(0,)]
    assert store.rows("SELECT count(*) FROM ticket_notices") == [(0,)]


def test_a_rate_not_the_contracts_is_refused_naming_the_entry_as_post_charges_refuses_it(tracked, store):
    cheap = dict(FIRST, rate={"amount": "150.00", "currency": "USD"})
    refused = tracked.post(WORK, json={"notice": NOTICE, "entries": [SECOND, cheap]})
    assert refused.status_code == 422
    [error] = refused.get_json()["errors"]
    assert error["pointer"] == "/entries/1/rate" and "200.00 USD an hour for the weekend time" in error["detail"]
    stateless = tracked.post("/v1/charges", json={"request": REQUEST, "notice": NOTICE, "entries": [cheap]})
    assert stateless.status_code == 422 and stateless.get_json()["errors"][0]["pointer"] == "/entries/0/rate"
    assert store.rows("SELECT count(*) FROM ticket_work") == [(0,)]
    agreed = dict(FIRST, rate={"amount": "200", "currency": "USD"})
    assert tracked.post(WORK, json={"notice": NOTICE, "entries": [agreed]}).get_json()["totals"] == \
        [{"amount": "300.00", "currency": "USD"}]


def test_work_of_an_unknown_ticket_is_a_404_and_unknown_fields_are_named(tracked):
    unknown = tracked.post("/v1/tickets/T-404/work", json={"entries": [FIRST]})
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    assert tracked.get("/v1/tickets/T-404/work").status_code == 404
    extra = tracked.post(WORK, json={"entries": [FIRST], "amount": "3"})
    assert extra.status_code == 422 and [e["pointer"] for e in extra.get_json()["errors"]] == ["/amount"]
    parameter = tracked.get(WORK + "?month=2026-11")
    assert parameter.status_code == 400


def test_a_ticket_holds_as_many_entries_as_one_charge_prices(tracked, store):
    first = datetime.fromisoformat("2026-11-29T01:00:00-06:00")
    entries = [{"entry_id": f"m-{n}", "start": (first + timedelta(minutes=2 * n)).isoformat(),
                "end": (first + timedelta(minutes=2 * n + 1)).isoformat()} for n in range(500)]
    assert tracked.post(WORK, json={"notice": NOTICE, "entries": entries}).status_code == 200
    more = tracked.post(WORK, json={"entries": [SECOND]})
    assert more.status_code == 422 and [e["pointer"] for e in more.get_json()["errors"]] == ["/entries"]
    assert store.rows("SELECT count(*) FROM ticket_work") == [(500,)]


def test_a_later_notice_prices_the_work_stored_before_it_again(tracked):
    assert tracked.post(WORK, json={"entries": [FIRST]}).get_json()["totals"] == \
        [{"amount": "0.00", "currency": "USD"}]
    answer = tracked.post(WORK, json={"notice": NOTICE, "entries": [SECOND]}).get_json()
    assert answer["notice_stored"] and answer["totals"] == [{"amount": "400.00", "currency": "USD"}]


def test_work_in_two_months_is_billed_in_each(tracked):
    december = {"entry_id": "w-9", "start": "2026-12-01T19:00:00-06:00", "end": "2026-12-01T20:00:00-06:00"}
    assert tracked.post(WORK, json={"notice": NOTICE, "entries": [FIRST, december]}).status_code == 200
    charges = tracked.get(WORK).get_json()["charges"]
    assert [(c["month"], c["total"]["amount"]) for c in charges] == [("2026-11", "300.00"), ("2026-12", "200.00")]


def test_the_statement_is_the_same_bytes_after_a_later_policy_change(tracked, store, document, tmp_path):
    assert tracked.post(WORK, json={"notice": NOTICE, "entries": [FIRST]}).status_code == 200
    path = "/v1/customers/demo-city/statement?month=2026-11"
    first = tracked.get(path)
    assert first.status_code == 200, first.get_json()
    assert_documented(document, "/v1/customers/{customer_id}/statement", "get", first)
    assert first.get_json()["totals"]["charged"] == [{"amount": "300.00", "currency": "USD"}]
    assert tracked.get(path).get_data() == first.get_data()
    policies, rules = shipped_with_rate(tmp_path / "changed", "250.00")
    later = create_app({"POLICY_SET": load_policy_set(policies, rules),
                        "DECISION_LOG": store.opened[-1], "TESTING": True}).test_client()
    assert charged(later, [FIRST])["total"]["amount"] == "375.00"
    assert later.get(path).get_data() == first.get_data()
    assert later.get(WORK).get_json()["totals"] == [{"amount": "300.00", "currency": "USD"}]


@pytest.mark.parametrize("query, status, name", [
    ("month=2026-13", 422, "month"), ("", 422, "month"), ("month=2026-11&format=csv", 400, "format"),
    ("month=2026-11&month=2026-10", 422, "month")])
def test_a_statement_query_at_fault_is_refused_naming_the_parameter(tracked, query, status, name):
    refused = tracked.get(f"/v1/customers/demo-city/statement?{query}")
    assert refused.status_code == status and refused.mimetype == "application/problem+json"
    assert [e["parameter"] for e in refused.get_json()["errors"]] == [name]
    assert tracked.get("/v1/customers/nowhere/statement?month=2026-11").status_code == 404


def test_overlapping_work_sent_at_once_through_two_servers_is_stored_once(policy_set, store, tracked):
    """Two servers (each its own connection to the store) get, at once, entries that overlap: one is stored, the
    other refused as overlapping it; a retried batch sent at once is stored once."""
    second = create_app({"POLICY_SET": policy_set, "DECISION_LOG": store.open(privacy=store.opened[-1].privacy),
                         "TESTING": True})
    clients = [tracked, second.test_client()]
    batches = [{"notice": NOTICE, "entries": [dict(FIRST, entry_id=f"w-{n}", note=f"agent {n}")]} for n in range(8)]

    def send(n):
        return clients[n % 2].post(WORK, json=batches[n]).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(8)))
    assert sorted(statuses) == [200] + [422] * 7
    assert len(store.rows("SELECT entry_id FROM ticket_work")) == 1
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: clients[n % 2].post(WORK, json={"entries": [SECOND]}).get_json(),
                                range(8)))
    assert sorted(a["stored"] for a in answers) == [0] * 7 + [1]
    assert tracked.get(WORK).get_json()["totals"] == [{"amount": "400.00", "currency": "USD"}]
