"""What GET /v1/decisions, /v1/decisions/{id} and /v1/status show of the personal data the decision log keeps."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from supportpolicy.server import create_app
from supportpolicy.server.storage.decisionlog import LogRecord, open_log
from supportpolicy.server.storage.privacy import KEEP_ALL, KEY_FILE, LogPrivacy, read_key

from support import DESIGNATED, OTHER, make_request

SATURDAY_NIGHT = "2026-11-28T23:00:00-06:00"
SUMMARY = "Zoë says the site is down; call her on 555-0100"


def sent(email: str = DESIGNATED) -> dict:
    body = make_request(SATURDAY_NIGHT, "phone", email=email, ticket_id="T-42", summary=SUMMARY)
    body["requester"]["name"] = "Zoë O'Brien"
    return body


@pytest.fixture()
def masked(tmp_path, policy_set):
    """(client, log, secret) of a server whose log masks personal data, as `serve` does by default."""
    key = read_key(data_dir=tmp_path, create=True)
    log = open_log(None, tmp_path, privacy=LogPrivacy.of(key=key))
    yield create_app({"POLICY_SET": policy_set, "DECISION_LOG": log}).test_client(), log, key
    log.close()


def test_a_logged_decision_shows_what_is_kept_and_says_what_is_masked(masked):
    client, _, key = masked
    decided = client.post("/v1/decisions", json=sent("It.Director@Demo-City.gov"))
    assert decided.status_code == 200
    decision = decided.get_json()
    record = client.get(f"/v1/decisions/{decision['decision_id']}").get_json()
    expected_hash = hmac.new(key.secret, DESIGNATED.encode(), hashlib.sha256).hexdigest()
    assert record["request"] == {"customer": "demo-city", "received_at": SATURDAY_NIGHT, "channel": "phone",
                                 "category": "usage_question", "ticket_id": "T-42",
                                 "requester": {"email_hmac": expected_hash, "designated_contact": True}}
    assert record["privacy"] == {"masked": [
        {"field": "/requester/email", "method": "hmac-sha256", "kept_as": "/requester/email_hmac",
         "key_id": key.key_id},
        {"field": "/requester/name", "method": "removed"},
        {"field": "/summary", "method": "removed"}]}
    assert record["decision"] == decision  # the decision itself is kept as answered
    listed = client.get("/v1/decisions").get_json()["decisions"]
    assert [r["decision_id"] for r in listed] == [decision["decision_id"]] and listed[0] == record


def test_nothing_personal_reaches_the_store_and_the_key_is_never_shown(masked, tmp_path):
    client, log, key = masked
    for email in (DESIGNATED, OTHER):
        assert client.post("/v1/decisions", json=sent(email)).status_code == 200
    log.close()
    # The database, its WAL, and the journal's files (server.storage.journal).
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("decisions.sqlite3*") if p.is_file())
    for text in (DESIGNATED, OTHER, "it.director", "resident@", "Zo", "555-0100"):
        assert text.encode() not in stored, text
    answers = [client.get(path).get_data(as_text=True) for path in ("/v1/decisions", "/v1/status")]
    assert all(key.secret.decode() not in answer for answer in answers)


def test_the_status_says_what_the_log_keeps(masked, tmp_path):
    client, _, key = masked
    decision_log = client.get("/v1/status").get_json()["decision_log"]
    assert decision_log["privacy"] == {"personal_data": "masked", "keep": [], "key_id": key.key_id}
    assert (tmp_path / KEY_FILE).is_file()


def test_with_personal_data_kept_the_request_is_logged_as_received(tmp_path, policy_set):
    log = open_log(None, tmp_path, privacy=KEEP_ALL)
    client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log}).test_client()
    decision = client.post("/v1/decisions", json=sent()).get_json()
    record = client.get(f"/v1/decisions/{decision['decision_id']}").get_json()
    assert record["request"] == sent() and record["privacy"] == {"masked": []}
    assert client.get("/v1/status").get_json()["decision_log"]["privacy"] == \
        {"personal_data": "kept", "keep": [], "key_id": None}
    log.close()


def test_records_written_before_masking_stay_as_they_were(tmp_path, policy_set):
    # A log kept whole until now; the server starts masking: old records are shown as they are, whole.
    body = sent()
    whole = open_log(None, tmp_path)
    whole.write(LogRecord.of(body, policy_set.decide(json.loads(json.dumps(body)))))
    whole.close()
    log = open_log(None, tmp_path, privacy=LogPrivacy.of(key=read_key(data_dir=tmp_path, create=True)))
    client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log}).test_client()
    assert client.post("/v1/decisions", json=body).status_code == 200
    old, new = client.get("/v1/decisions").get_json()["decisions"]
    assert old["request"] == body and old["privacy"] == {"masked": []}
    assert "email" not in new["request"]["requester"] and len(new["privacy"]["masked"]) == 3
    log.close()
