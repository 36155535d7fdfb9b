"""What the decision log keeps of a request's personal data, the key it hashes e-mails with, and how an auditor's
address check and impact's replay read a masked record."""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import stat

import pytest

from supportpolicy.engine.tools.impact import decide_again, read_requests
from supportpolicy.engine.tools.masked import MaskedRequest
from supportpolicy.server.storage.decisionlog import LogRecord
from supportpolicy.server.storage.privacy import (
    KEEP_ALL,
    KEY_FILE,
    KEY_VARIABLE,
    AddressCheck,
    LogKey,
    LogKeyError,
    LogPrivacy,
    read_key,
)

from support import DESIGNATED, OTHER, make_request

SECRET = "k" * 40
KEY = LogKey(SECRET.encode(), "test")
SATURDAY_NIGHT = "2026-11-28T23:00:00-06:00"


def expected_hmac(address: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


def full_request() -> dict:
    return make_request(SATURDAY_NIGHT, "phone", email="IT.Director@Demo-City.gov", ticket_id="T-7",
                        summary="Call Zoë on 555-0100", attributes={},
                        requester={"email": "IT.Director@Demo-City.gov", "name": "Zoë O'Brien", "phone": "555-0100"})


# ---- what is kept ---------------------------------------------------------------------------

def test_by_default_no_summary_no_other_requester_field_and_the_email_as_a_keyed_hash():
    request = full_request()
    sent = json.dumps(request)
    kept, masked = LogPrivacy.of(key=KEY).kept(request, designated_contact=True)
    assert json.dumps(request) == sent  # the request itself is left as it was
    # Hashed as the engine compares addresses: ASCII letters in lower case.
    assert kept == {"customer": "demo-city", "received_at": SATURDAY_NIGHT, "channel": "phone",
                    "category": "usage_question", "ticket_id": "T-7", "attributes": {},
                    "requester": {"email_hmac": expected_hmac(DESIGNATED), "designated_contact": True}}
    assert [m.as_json() for m in masked] == [
        {"field": "/requester/email", "method": "hmac-sha256", "kept_as": "/requester/email_hmac",
         "key_id": KEY.key_id},
        {"field": "/requester/name", "method": "removed"},
        {"field": "/requester/phone", "method": "removed"},
        {"field": "/summary", "method": "removed"}]
    assert "Zo" not in json.dumps(kept) and "555" not in json.dumps(kept) and "director" not in json.dumps(kept)


def test_only_fields_the_request_has_are_named_masked():
    kept, masked = LogPrivacy.of(key=KEY).kept(make_request(SATURDAY_NIGHT, email=OTHER), False)
    assert kept["requester"] == {"email_hmac": expected_hmac(OTHER), "designated_contact": False}
    assert [m.field for m in masked] == ["/requester/email"]


def test_chosen_fields_are_kept_whole():
    privacy = LogPrivacy.of(["/summary", "/requester/name"], KEY)
    kept, masked = privacy.kept(full_request(), True)
    assert kept["summary"] == "Call Zoë on 555-0100"
    assert kept["requester"] == {"name": "Zoë O'Brien", "email_hmac": expected_hmac(DESIGNATED),
                                 "designated_contact": True}
    assert [m.field for m in masked] == ["/requester/email", "/requester/phone"]


def test_keeping_the_email_needs_no_key_and_adds_nothing_in_its_place():
    privacy = LogPrivacy.of(["/requester/email"])
    kept, masked = privacy.kept(full_request(), True)
    assert kept["requester"] == {"email": "IT.Director@Demo-City.gov"}
    assert [m.field for m in masked] == ["/requester/name", "/requester/phone", "/summary"]
    assert privacy.describe() == {"personal_data": "masked", "keep": ["/requester/email"], "key_id": None}


def test_keeping_personal_data_keeps_the_request_as_received():
    request = full_request()
    assert KEEP_ALL.kept(request, True) == (request, ())
    assert KEEP_ALL.describe() == {"personal_data": "kept", "keep": [], "key_id": None}


def test_a_caller_cannot_pass_its_own_hash_or_flag_into_the_record():
    request = make_request(SATURDAY_NIGHT, email=OTHER)
    request["requester"].update(email_hmac="0" * 64, designated_contact=True)
    kept, masked = LogPrivacy.of(key=KEY).kept(request, designated_contact=False)
    assert kept["requester"] == {"email_hmac": expected_hmac(OTHER), "designated_contact": False}
    assert {"/requester/email_hmac", "/requester/designated_contact"} <= {m.field for m in masked}


@pytest.mark.parametrize("field, words", [
    ("/customer", "not a personal field"), ("/requester", "not a personal field"),
    ("/requester/a/b", "not a personal field"), ("summary", "not a personal field"),
    ("/requester/email_hmac", "in place of the e-mail"), ("/requester/designated_contact", "in place of the e-mail")])
def test_only_personal_fields_can_be_chosen_to_keep(field, words):
    with pytest.raises(ValueError, match=words):
        LogPrivacy.of([field], KEY)


def test_masking_the_email_needs_a_key():
    with pytest.raises(ValueError, match="needs a key"):
        LogPrivacy.of(["/summary"])


def test_a_record_is_masked_once_with_the_flag_its_decision_gives(policy_set):
    body = make_request(SATURDAY_NIGHT, email=DESIGNATED, summary="secret")
    decided = policy_set.decide(body)
    record = LogRecord.of(body, decided).kept(LogPrivacy.of(key=KEY))
    assert record.request["requester"] == {"email_hmac": expected_hmac(DESIGNATED), "designated_contact": True}
    assert record.kept(LogPrivacy.of(key=LogKey(b"x" * 40, "other"))) is record
    assert record.as_json()["privacy"] == {"masked": [m.as_json() for m in record.masked]}
    assert LogRecord.from_row(record.row()) == record
    plain = LogRecord.of(body, decided)
    assert plain.as_json()["privacy"] == {"masked": []} and LogRecord.from_row(plain.row()) == plain


# ---- the key --------------------------------------------------------------------------------

def test_the_key_is_made_once_in_the_data_folder_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    assert read_key(data_dir=tmp_path / "data") is None  # only serve makes one
    key = read_key(data_dir=tmp_path / "data", create=True)
    path = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert len(text.strip()) == 64 and int(text, 16) >= 0
    assert key.source == str(path) and key.secret == text.strip().encode()
    again = read_key(data_dir=tmp_path / "data", create=True)
    assert again == key and path.read_text() == text  # never made again
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE]  # nothing left beside it


def test_a_key_file_or_the_environment_comes_before_the_data_folder(tmp_path, monkeypatch):
    read_key(data_dir=tmp_path, create=True)
    given = tmp_path / "given.key"
    given.write_text("g" * 32 + "\n")
    monkeypatch.setenv(KEY_VARIABLE, "e" * 32)
    assert read_key(given, tmp_path) == LogKey(b"g" * 32, str(given))
    assert read_key(None, tmp_path) == LogKey(b"e" * 32, KEY_VARIABLE)


@pytest.mark.parametrize("text", ["", "short", " " * 40, "x" * 31])
def test_a_short_key_is_refused_naming_where_it_is(tmp_path, text):
    path = tmp_path / "weak.key"
    path.write_text(text)
    with pytest.raises(LogKeyError, match=rf"{path}.*at least 32.*openssl rand"):
        read_key(path)


def test_a_key_that_cannot_be_made_says_where_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(LogKeyError, match=rf"{blocker / KEY_FILE}.*--log-key-file"):
        read_key(data_dir=blocker, create=True)


def test_the_key_id_names_the_key_and_tells_nothing_of_it():
    other = LogKey(b"z" * 40, "other")
    assert KEY.key_id == LogKey(SECRET.encode(), "elsewhere").key_id != other.key_id
    assert len(KEY.key_id) == 16 and KEY.key_id not in SECRET.encode().hex() and "k" not in KEY.key_id


# ---- an auditor's check ---------------------------------------------------------------------

def test_an_address_is_checked_against_masked_and_whole_records_alike():
    masked_request, masked = LogPrivacy.of(key=KEY).kept(make_request(SATURDAY_NIGHT, email=DESIGNATED), True)
    whole = make_request(SATURDAY_NIGHT, email="It.Director@demo-city.GOV")
    check = AddressCheck("IT.DIRECTOR@demo-city.gov", KEY)
    assert check.matches(masked_request, masked) is True
    assert check.matches(whole, ()) is True
    assert AddressCheck(OTHER, KEY).matches(masked_request, masked) is False
    assert AddressCheck(OTHER, KEY).matches(whole, ()) is False
    # Another key, or none, cannot tell.
    assert AddressCheck(DESIGNATED, LogKey(b"z" * 40, "other")).matches(masked_request, masked) is None
    assert AddressCheck(DESIGNATED, None).matches(masked_request, masked) is None


# ---- replaying a masked record --------------------------------------------------------------

def exported(policy_set, body, privacy) -> dict:
    return LogRecord.of(body, policy_set.decide(body)).kept(privacy).as_json()


@pytest.mark.parametrize("email", [DESIGNATED, OTHER])
def test_a_masked_record_is_decided_again_with_the_status_it_recorded(policy_set, email):
    body = make_request(SATURDAY_NIGHT, "phone", email=email, ticket_id="T-1", summary="hello")
    record = exported(policy_set, body, LogPrivacy.of(key=KEY))
    ((where, replayed, problem),) = list(read_requests(io.BytesIO(json.dumps(record).encode())))
    assert problem is None and isinstance(replayed, MaskedRequest)
    assert replayed.designated_contact is (email == DESIGNATED) and replayed.kept == record["request"]
    assert decide_again(policy_set, replayed, record["decision_id"]).as_json() == record["decision"]


def test_a_record_kept_whole_is_decided_from_its_email(policy_set):
    body = make_request(SATURDAY_NIGHT, email=DESIGNATED)
    record = exported(policy_set, body, KEEP_ALL)
    ((_, replayed, problem),) = list(read_requests(io.BytesIO(json.dumps(record).encode())))
    assert problem is None and replayed == body


def test_a_masked_record_without_its_flag_is_skipped_saying_why(policy_set):
    record = exported(policy_set, make_request(SATURDAY_NIGHT, email=DESIGNATED), LogPrivacy.of(key=KEY))
    del record["request"]["requester"]["designated_contact"]
    ((where, replayed, problem),) = list(read_requests(io.BytesIO(json.dumps(record).encode())))
    assert replayed is None and where == {"line": 1} and "designated_contact" in problem


def test_a_caller_cannot_claim_designated_status_through_the_api_request(policy_set):
    # The recorded flag is read only from a record that says its e-mail was masked, never from a request.
    body = make_request(SATURDAY_NIGHT, email=OTHER)
    body["requester"]["designated_contact"] = True
    assert policy_set.decide(body).as_json()["designated_contact"] is False
    ((_, replayed, _),) = list(read_requests(io.BytesIO(json.dumps(body).encode())))
    assert replayed == body and decide_again(policy_set, replayed).as_json()["designated_contact"] is False


# ---- what serve says it keeps -----------------------------------------------------------------

def test_the_banner_says_what_is_kept_and_warns_when_servers_sharing_a_log_may_hash_apart(tmp_path, monkeypatch):
    from supportpolicy.server.cli.privacy import describe

    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    own = read_key(data_dir=tmp_path, create=True)
    privacy = LogPrivacy.of(["/summary"], own)
    (line,) = describe(privacy, shared=False, data_dir=tmp_path)
    assert f"e-mail as HMAC-SHA256 (key {own.key_id} from {tmp_path / KEY_FILE}); kept whole: /summary" in line
    line, warning = describe(privacy, shared=True, data_dir=tmp_path)
    assert "warning" in warning and "--log-key-file" in warning and KEY_VARIABLE in warning
    assert len(describe(LogPrivacy.of(key=KEY), shared=True, data_dir=tmp_path)) == 1  # a key given: shared
    assert "personal data included" in describe(KEEP_ALL, shared=True, data_dir=tmp_path)[0]
    assert describe(LogPrivacy.of(["/requester/email"]), shared=True, data_dir=tmp_path) == \
        ["supportpolicy: the decision log masks personal data; kept whole: /requester/email"]
