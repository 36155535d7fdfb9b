"""Idempotency-Key on POST /v1/decisions, against both decision log stores.

A retry (the same key and body) gets the decision first given, byte for byte, and writes nothing; the same key
with another body is a 422; requests sent at once with one key make one record; a key lives as long as the
decision it gave.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from supportpolicy.server import create_app
from supportpolicy.server.auth import add_token, load_tokens
from supportpolicy.server.params import fingerprint
from supportpolicy.server.storage.privacy import LogKey, LogPrivacy

from support import DESIGNATED, make_request

SATURDAY_NIGHT = "2026-11-28T23:00:00-06:00"
BODY = make_request(SATURDAY_NIGHT, "phone", email=DESIGNATED, ticket_id="T-1001")


@pytest.fixture()
def api(store, policy_set):
    log = store.open()
    log.setup()  # the table, before a test reads it raw
    return create_app({"POLICY_SET": policy_set, "DECISION_LOG": log}).test_client(), log, store


def problem_of(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    document = response.get_json()
    assert document["type"] == f"/problems/{slug}" and document["status"] == status and document["detail"]
    return document


def post(client, body, key: str | None = None, **headers):
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/v1/decisions", data=json.dumps(body), content_type="application/json", headers=headers)


def test_a_retry_gets_the_first_decision_byte_for_byte_and_logs_nothing_more(api):
    client, log, store = api
    first = post(client, BODY, '"T-1001-created"')
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    retries = [post(client, BODY, '"T-1001-created"') for _ in range(3)]
    for retry in retries:
        assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
        assert retry.get_data() == first.get_data()
    decision_id = first.get_json()["decision_id"]
    assert store.ids() == [decision_id]
    # The log has the decision as it was answered, once.
    assert log.get(decision_id).decision == first.get_json()


def test_the_same_body_spaced_or_ordered_otherwise_is_the_same_request(api):
    client, _, store = api
    first = post(client, BODY, "k-1")
    reordered = json.dumps(dict(reversed(list(BODY.items()))), indent=3)
    again = client.post("/v1/decisions", data=reordered, content_type="application/json",
                        headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200 and again.get_data() == first.get_data()
    # A quoted key (the draft's structured-field string) and the same key bare are one key.
    assert post(client, BODY, '"k-1"').get_data() == first.get_data()
    assert len(store.ids()) == 1


def test_the_same_key_with_another_body_is_a_422_and_nothing_is_logged(api):
    client, _, store = api
    first = post(client, BODY, "k-2")
    other = dict(BODY, category="website_down")
    document = problem_of(post(client, other, "k-2"), 422, "idempotency-key-reused")
    assert "different request body" in document["detail"]
    assert store.ids() == [first.get_json()["decision_id"]]
    # Another key is another request.
    assert post(client, other, "k-3").status_code == 200 and len(store.ids()) == 2


@pytest.mark.parametrize("value", ['""', '"unterminated', 'two words', "caf\u00e9", '"a\\b"', "x" * 256,
                                   '"' + "x" * 256 + '"'])
def test_a_malformed_key_is_a_400_naming_the_header_and_nothing_is_decided(api, value):
    client, _, store = api
    response = client.post("/v1/decisions", json=BODY, headers={"Idempotency-Key": value.encode().decode("latin-1")})
    document = problem_of(response, 400, "invalid-idempotency-key")
    assert [e["header"] for e in document["errors"]] == ["Idempotency-Key"]
    assert store.ids() == []


def test_a_key_given_twice_is_a_400(api):
    client, _, store = api
    response = client.post("/v1/decisions", json=BODY, headers=[("Idempotency-Key", "a"), ("Idempotency-Key", "b")])
    problem_of(response, 400, "invalid-idempotency-key")
    assert store.ids() == []


def test_a_refused_request_keeps_no_key(api):
    client, _, store = api
    problem_of(post(client, dict(BODY, channel="fax"), "k-4"), 422, "invalid-request")
    # The key is still free: the corrected request is decided and logged under it.
    assert post(client, BODY, "k-4").status_code == 200 and len(store.ids()) == 1


def test_requests_sent_at_once_with_one_key_make_one_record(api):
    client_of_test, log, store = api
    app = client_of_test.application
    answers, start = [], threading.Barrier(12)

    def send():
        client = app.test_client()
        start.wait()
        response = post(client, BODY, "k-at-once")
        answers.append((response.status_code, response.get_data()))

    threads = [threading.Thread(target=send) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 12 and {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1
    assert store.ids() == [json.loads(answers[0][1])["decision_id"]]


def test_a_key_lives_as_long_as_the_decision_it_gave(api, store, policy_set):
    client, _, _ = api
    first = post(client, BODY, "k-5").get_json()
    kept = store.open(retain_days=30)
    assert kept.prune(datetime.now(timezone.utc) + timedelta(days=29)) == 0
    assert post(client, BODY, "k-5").get_json() == first  # still the first decision
    assert kept.prune(datetime.now(timezone.utc) + timedelta(days=31)) == 1
    with store.raw() as (connection, _):
        assert connection.execute("SELECT count(*) FROM idempotency_keys").fetchone()[0] == 0
    # Gone with its decision: the key now gives a new one.
    again = post(client, BODY, "k-5").get_json()
    assert again["decision_id"] != first["decision_id"] and store.ids() == [again["decision_id"]]


def test_each_token_has_keys_of_its_own(store, policy_set, tmp_path):
    path = tmp_path / "tokens.json"
    secrets = {name: add_token(path, name, ["decide"]) for name in ("zendesk", "jira")}
    log = store.open()
    log.setup()
    client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log, "TOKENS": load_tokens(path)}).test_client()
    answers = [post(client, dict(BODY, ticket_id=name), "ticket-created", Authorization=f"Bearer {secret}")
               for name, secret in secrets.items()]
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.get_json()["ticket_id"] for a in answers] == ["zendesk", "jira"]
    assert len(store.ids()) == 2


def test_a_server_without_a_decision_log_refuses_a_key(policy_set):
    client = create_app({"POLICY_SET": policy_set}).test_client()
    document = problem_of(post(client, BODY, "k-6"), 400, "invalid-idempotency-key")
    assert "keeps no decision log" in document["detail"]
    assert post(client, BODY).status_code == 200


def test_a_dry_run_keeps_no_key(api):
    client, _, store = api
    dry = client.post("/v1/decisions?dry_run=true", json=BODY, headers={"Idempotency-Key": "k-7"})
    assert dry.status_code == 200 and store.ids() == []
    logged = post(client, BODY, "k-7")
    assert logged.status_code == 200 and "Idempotent-Replayed" not in logged.headers
    assert store.ids() == [logged.get_json()["decision_id"]] != [dry.get_json()["decision_id"]]
    # Even a dry run's key must be a key.
    problem_of(client.post("/v1/decisions?dry_run=true", json=BODY, headers={"Idempotency-Key": ""}), 400,
               "invalid-idempotency-key")


def test_where_the_log_masks_requests_the_body_fingerprint_is_keyed_too(store, policy_set):
    # The fingerprint hashes the request as received, e-mail included: unkeyed, it would let whoever reads the
    # log test a guessed request (and so an address) against it.
    key = LogKey(b"k" * 32, "a test")
    log = store.open(privacy=LogPrivacy.of(key=key))
    log.setup()
    client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log}).test_client()
    first = post(client, BODY, "k-masked")
    assert first.status_code == 200
    with store.raw() as (connection, _):
        (stored,) = connection.execute("SELECT fingerprint FROM idempotency_keys").fetchone()
    assert stored.startswith(f"hmac-sha256:{key.key_id}:") and fingerprint(BODY) not in stored
    retry = post(client, BODY, "k-masked")
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.get_data() == first.get_data()
    problem_of(post(client, dict(BODY, channel="email"), "k-masked"), 422, "idempotency-key-reused")
