"""The decision log's privacy against both stores and through the command line: the shipped policy suites
replayed from a masked log are decided as logged, ``impact`` over a masked export sees what it sees over the
requests themselves, a log written before masking is upgraded with its records as they were, and ``serve``
masks by default with a key it makes once, which ``log export --requester-email`` checks addresses with."""
from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from supportpolicy.engine.tools.impact import decide_again, read_requests
from supportpolicy.engine.tools.masked import MaskedRequest
from supportpolicy.engine.tools.suites import load_suites
from supportpolicy.server import create_app
from supportpolicy.server.storage.decisionlog import LogRecord
from supportpolicy.server.storage.privacy import KEY_FILE, LogPrivacy, read_key

from support import DESIGNATED, OTHER, REPO, command, http, make_request, serving

SATURDAY_NIGHT = "2026-11-28T23:00:00-06:00"
PLAN = "policies/plans/central-standard/2026.1.yaml"


def run(*args, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    argv, env = command()
    env["HOME"] = str(cwd)
    result = subprocess.run(argv + [str(a) for a in args], cwd=cwd, capture_output=True, timeout=timeout, env=env)
    result.stdout_text, result.stderr_text = result.stdout.decode(), result.stderr.decode()
    assert "Traceback" not in result.stderr_text, result.stderr_text
    return result


def output(result) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout_text[-3000:]}--- stderr\n{result.stderr_text}"


def suite_requests() -> list[dict]:
    """The request of every case of the shipped policy test suites."""
    suites, errored = load_suites([REPO / "policies"], tests=True)
    assert not errored
    return [case.request for suite in suites for case in suite.cases]


def masked_log(store):
    key = read_key(data_dir=store.data_dir, create=True)
    return store.open(privacy=LogPrivacy.of(key=key)), key


# ---- replaying a masked log -----------------------------------------------------------------

def test_the_shipped_suites_replayed_from_a_masked_log_are_decided_as_logged(store, policy_set, tmp_path):
    log, _ = masked_log(store)
    client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log}).test_client()
    answered = {}
    for body in suite_requests():
        response = client.post("/v1/decisions", json=body)
        if response.status_code == 200:  # some cases expect a refusal
            answered[response.get_json()["decision_id"]] = response.get_json()
    assert len(answered) > 100
    result = run("log", "export", *store.cli_args(), cwd=tmp_path)
    assert result.returncode == 0, output(result)
    records = [json.loads(line) for line in result.stdout_text.splitlines()]
    assert [r["decision_id"] for r in records] == list(answered)
    statuses = []
    for (where, body, problem), record in zip(read_requests(io.BytesIO(result.stdout)), records, strict=True):
        assert problem is None and isinstance(body, MaskedRequest), (where, problem)
        assert "email" not in body.kept["requester"] and "summary" not in body.kept
        # Decided again, under the same id: the very decision that was answered and logged.
        again = decide_again(policy_set, body, record["decision_id"]).as_json()
        assert again == record["decision"] == answered[record["decision_id"]], where
        statuses.append(body.designated_contact)
    # Both kinds of requester are in the suites: the status decided, and came from the record.
    assert statuses.count(True) > 10 and statuses.count(False) > 10


def test_impact_over_a_masked_export_finds_what_the_requests_themselves_show(store, policy_set, tmp_path):
    # The after-hours rate rises: only requests from designated contacts are billed, so a replay that lost
    # the designated-contact status with the e-mail would find no change at all.
    log, _ = masked_log(store)
    requests = suite_requests()
    for body in requests:
        try:
            decided = policy_set.decide(json.loads(json.dumps(body)))
        except Exception:  # a case that expects a refusal: never logged
            continue
        log.write(LogRecord.of(body, decided))
    for folder in ("base", "current"):
        shutil.copytree(REPO / "policies", tmp_path / folder / "policies")
        shutil.copytree(REPO / "rules", tmp_path / folder / "rules")
    plan = tmp_path / "current" / PLAN
    plan.write_text(plan.read_text().replace('rate: {amount: "200.00"', 'rate: {amount: "250.00"'))
    result = run("log", "export", *store.cli_args(), cwd=tmp_path)
    assert result.returncode == 0, output(result)
    (tmp_path / "masked.jsonl").write_bytes(result.stdout)
    (tmp_path / "requests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in requests))

    def impact(requests_file: str) -> dict:
        result = run("impact", "--base", "base", "--requests", requests_file, "--policies", "current/policies",
                     "--rules", "current/rules", "--format", "json", cwd=tmp_path)
        assert result.returncode == 0, output(result)
        return json.loads(result.stdout_text)

    masked, plain = impact("masked.jsonl"), impact("requests.jsonl")
    logged = len(result.stdout_text.splitlines())
    assert masked["requests"] == masked["masked"] == logged and masked["unreadable"] == []
    assert masked["changed"] > 0
    refused = plain["requests"] - logged  # refused by both policies alike: no change
    assert refused >= 0 and masked["changed"] == plain["changed"]
    shape = lambda groups: [(g["field"], g["before"], g["after"], g["count"]) for g in groups]  # noqa: E731
    assert shape(masked["fields"]) == shape(plain["fields"]) and masked["rules"] == plain["rules"]
    for example in masked["fields"][0]["examples"]:
        assert set(example["request"]["requester"]) == {"email_hmac", "designated_contact"}
    text = run("impact", "--base", "base", "--requests", "masked.jsonl", "--policies", "current/policies",
               "--rules", "current/rules", cwd=tmp_path).stdout_text
    assert f"({logged} from log records whose e-mail is masked" in text, text


# ---- a log written before masking -----------------------------------------------------------

SEQ = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgresql": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"}
BEFORE_PRIVACY = """CREATE TABLE decisions (
    seq {seq}, decision_id TEXT NOT NULL UNIQUE, decided_at TEXT NOT NULL, customer TEXT NOT NULL,
    ticket_id TEXT, received_at TEXT NOT NULL, policy_digest TEXT NOT NULL, request TEXT NOT NULL,
    decision TEXT NOT NULL)"""


def test_a_log_written_before_masking_is_upgraded_and_its_records_stay_as_they_were(store, policy_set):
    body = make_request(SATURDAY_NIGHT, email=DESIGNATED, summary="kept from before")
    old = LogRecord.of(body, policy_set.decide(json.loads(json.dumps(body))))
    store.data_dir.mkdir(parents=True, exist_ok=True)
    with store.raw() as (connection, mark):
        connection.execute(BEFORE_PRIVACY.format(seq=SEQ[store.kind]))
        connection.execute(f"INSERT INTO decisions (decision_id, decided_at, customer, ticket_id, received_at, "
                           f"policy_digest, request, decision) VALUES ({', '.join([mark] * 8)})", old.row()[:8])
    log, key = masked_log(store)
    assert log.get(old.decision_id) == old  # as it was written: whole, nothing said to be masked
    new = LogRecord.of(body, policy_set.decide(json.loads(json.dumps(body))))
    log.write(new)
    assert [r.decision_id for r in log.find()] == [old.decision_id, new.decision_id]
    assert [m.field for m in log.get(new.decision_id).masked] == ["/requester/email", "/summary"]
    with store.raw() as (connection, _):
        rows = connection.execute("SELECT decision_id, privacy FROM decisions ORDER BY seq").fetchall()
    assert rows[0] == (old.decision_id, None) and json.loads(rows[1][1])[0]["key_id"] == key.key_id


# ---- serve and log export -------------------------------------------------------------------

def request(email: str) -> dict:
    return make_request(SATURDAY_NIGHT, "phone", email=email, summary="call me", ticket_id="T-1")


def test_serve_masks_by_default_with_a_key_it_makes_once_and_an_auditor_checks_addresses(tmp_path):
    data = tmp_path / "data"
    hashes = []
    for name in ("first", "restarted"):
        with serving(["--workers", "1", "--no-watch", "--data-dir", data], tmp_path, name) as server:
            for email in (DESIGNATED, OTHER):
                status, decision = http("POST", f"{server.base}/v1/decisions", request(email))
                assert status == 200, decision
                status, record = http("GET", f"{server.base}/v1/decisions/{decision['decision_id']}")
                assert status == 200 and "summary" not in record["request"], record
                hashes.append(record["request"]["requester"]["email_hmac"])
            status, document = http("GET", f"{server.base}/v1/status")
            key_id = document["decision_log"]["privacy"]["key_id"]
        key_file = data / KEY_FILE
        assert f"masks personal data: the requester's e-mail as HMAC-SHA256 (key {key_id} from {key_file})" \
            in server.stderr(), server.stderr()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert hashes[0] == hashes[2] and hashes[1] == hashes[3] and hashes[0] != hashes[1]  # the same key again

    result = run("log", "export", "--data-dir", data, "--requester-email", "IT.Director@demo-city.gov",
                 cwd=tmp_path)
    # Only the line naming the log it read: every record was checked.
    named = f"supportpolicy: decision log {data / 'decisions.sqlite3'}\n"
    assert result.returncode == 0 and result.stderr_text == named, output(result)
    found = [json.loads(line) for line in result.stdout_text.splitlines()]
    assert [r["request"]["requester"]["email_hmac"] for r in found] == [hashes[0], hashes[2]]
    result = run("log", "export", "--data-dir", data, "--requester-email", "nobody@demo-city.gov", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout_text == "" and result.stderr_text == named, output(result)
    # With another key nothing can be told: said so, naming the key that hashed them.
    other = tmp_path / "other.key"
    other.write_text("o" * 64)
    result = run("log", "export", "--data-dir", data, "--requester-email", DESIGNATED, "--log-key-file", other,
                 cwd=tmp_path)
    assert result.returncode == 0 and result.stdout_text == "", output(result)
    assert "4 records not checked" in result.stderr_text and f"key_id {key_id}" in result.stderr_text, \
        output(result)


def test_serve_with_log_personal_data_keeps_requests_as_received(tmp_path):
    data = tmp_path / "data"
    with serving(["--workers", "1", "--no-watch", "--data-dir", data, "--log-personal-data"], tmp_path) as server:
        status, decision = http("POST", f"{server.base}/v1/decisions", request(DESIGNATED))
        status, record = http("GET", f"{server.base}/v1/decisions/{decision['decision_id']}")
        assert record["request"] == request(DESIGNATED) and record["privacy"] == {"masked": []}
        status, document = http("GET", f"{server.base}/v1/status")
        assert document["decision_log"]["privacy"]["personal_data"] == "kept"
    assert "keeps requests as received, personal data included" in server.stderr()
    assert not (data / KEY_FILE).exists()  # no key is needed, none is made


@pytest.mark.parametrize("args, option, words", [
    (["--log-keep", "/customer"], "--log-keep", "not a personal field"),
    (["--log-keep", "/summary", "--log-personal-data"], "--log-personal-data", "not both"),
    (["--log-key-file", "short.key"], "--log-key-file", "at least 32"),
])
def test_serve_refuses_privacy_options_it_cannot_follow(tmp_path, args, option, words):
    (tmp_path / "short.key").write_text("too short")
    result = run("serve", "--data-dir", tmp_path / "data", "--port", "0", *args, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, output(result)
    assert option in result.stderr_text and words in result.stderr_text, output(result)
    assert not (tmp_path / "data" / KEY_FILE).exists()
