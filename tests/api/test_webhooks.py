"""POST /v1/webhooks/zendesk and /v1/webhooks/jira: the caller checked, the payload mapped, decided and logged."""
from __future__ import annotations

import json
import logging

import pytest

from supportpolicy.server import create_app
from supportpolicy.server.auth import add_token, load_tokens
from supportpolicy.server.storage.decisionlog import open_log

from webhook_calls import JIRA_TOKEN, NOW, ZENDESK_SECRET, jira_headers, payload, raw, zendesk_headers

SECRETS = {"ZENDESK_WEBHOOK_SECRET": ZENDESK_SECRET, "JIRA_WEBHOOK_TOKEN": JIRA_TOKEN, "WEBHOOK_CLOCK": lambda: NOW}
ZENDESK = raw("zendesk-ticket-created.json")
JIRA = raw("jira-issue-automation-format.json")


@pytest.fixture()
def log(tmp_path):
    store = open_log(None, tmp_path)
    store.setup()
    yield store
    store.close()


@pytest.fixture()
def served(policy_set, log):
    return create_app(dict(SECRETS, POLICY_SET=policy_set, DECISION_LOG=log, TESTING=True)).test_client()


def logged(log) -> list:
    return log.find(limit=1000)


def test_a_signed_zendesk_call_is_decided_and_logged_as_the_request_it_maps_to(served, log):
    response = served.post("/v1/webhooks/zendesk", data=ZENDESK, headers=zendesk_headers(ZENDESK))
    assert response.status_code == 200 and response.mimetype == "application/json"
    decision = response.get_json()
    assert decision["ticket_id"] == "35436" and decision["customer"] == "demo-city"
    assert decision["emergency_support"] is True and decision["route"] == {"team": "emergency_on_call"}
    assert decision["respond_by"] == "2026-11-29T00:00:00-06:00"
    (record,) = logged(log)
    assert record.decision_id == decision["decision_id"]
    assert record.request["channel"] == "phone" and record.request["received_at"] == "2026-11-29T05:00:00Z"
    # The same request sent to POST /v1/decisions is decided the same way.
    direct = served.post("/v1/decisions", json=record.request).get_json()
    assert {k: v for k, v in direct.items() if k != "decision_id"} == \
        {k: v for k, v in decision.items() if k != "decision_id"}


def test_a_jira_call_with_the_token_is_decided_and_logged(served, log):
    response = served.post("/v1/webhooks/jira", data=JIRA, headers=jira_headers())
    assert response.status_code == 200, response.get_data(as_text=True)
    decision = response.get_json()
    # Saturday 23:00, a usage question from a designated contact: billable after hours, notice first.
    assert decision["ticket_id"] == "SP-53" and decision["billable"] is True and decision["notice_required"] is True
    assert decision["hourly_rate"] == {"amount": "200.00", "currency": "USD"}
    assert decision["respond_by"] == "2026-11-30T11:00:00-06:00"
    assert [r.decision_id for r in logged(log)] == [decision["decision_id"]]


@pytest.mark.parametrize("case,headers", [
    ("unsigned", {"Content-Type": "application/json"}),
    ("another secret", zendesk_headers(ZENDESK, secret="not-the-secret")),
    ("stale", zendesk_headers(ZENDESK, timestamp="2026-11-29T04:50:00Z")),
    ("from the future", zendesk_headers(ZENDESK, timestamp="2026-11-29T05:10:00Z")),
])
def test_a_zendesk_call_that_is_not_signed_right_now_is_a_401_and_never_logged(served, log, case, headers, caplog):
    with caplog.at_level(logging.DEBUG):
        response = served.post("/v1/webhooks/zendesk", data=ZENDESK, headers=headers)
    assert response.status_code == 401, case
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "/problems/webhook-unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("ZendeskWebhookSignature")
    assert logged(log) == []
    assert ZENDESK_SECRET not in response.get_data(as_text=True) + caplog.text


@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/json"}, jira_headers("wrong"), {"Authorization": f"Basic {JIRA_TOKEN}"}])
def test_a_jira_call_without_the_token_is_a_401_and_never_logged(served, log, headers):
    response = served.post("/v1/webhooks/jira", data=JIRA, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["type"] == "/problems/webhook-unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert JIRA_TOKEN not in response.get_data(as_text=True)
    assert logged(log) == []


def test_without_secrets_the_webhooks_take_no_call(policy_set, log):
    client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log, "TESTING": True}).test_client()
    assert client.post("/v1/webhooks/zendesk", data=ZENDESK, headers=zendesk_headers(ZENDESK)).status_code == 401
    assert client.post("/v1/webhooks/jira", data=JIRA, headers=jira_headers()).status_code == 401
    assert logged(log) == []


def test_a_payload_the_mapping_cannot_map_is_a_422_naming_its_fields_and_never_logged(served, log):
    issue = payload("jira-issue-automation-format.json")
    del issue["fields"]["reporter"]["emailAddress"]
    issue["fields"]["customfield_10002"][0]["name"] = "Somewhere Else"
    response = served.post("/v1/webhooks/jira", data=json.dumps(issue), headers=jira_headers())
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"] == "/problems/unmappable-payload"
    assert [e["pointer"] for e in problem["errors"]] == ["/fields/customfield_10002/0/name",
                                                         "/fields/reporter/emailAddress"]
    assert logged(log) == []


def test_what_the_decision_request_refuses_names_the_payload_field(served, log):
    ticket = payload("zendesk-ticket-created.json")
    ticket["ticket"]["organization"]["external_id"] = "nowhere"
    body = json.dumps(ticket).encode()
    response = served.post("/v1/webhooks/zendesk", data=body, headers=zendesk_headers(body))
    assert response.status_code == 404 and response.get_json()["type"] == "/problems/unknown-customer"
    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/ticket/organization/external_id"]
    assert logged(log) == []


def test_a_signed_body_that_is_not_json_is_refused_as_such(served):
    assert served.post("/v1/webhooks/zendesk", data=b"{", headers=zendesk_headers(b"{")).status_code == 400
    headers = dict(zendesk_headers(b"ticket=1"), **{"Content-Type": "application/x-www-form-urlencoded"})
    assert served.post("/v1/webhooks/zendesk", data=b"ticket=1", headers=headers).status_code == 415


def test_a_whole_jira_issue_of_many_fields_is_within_the_payload_limits(served):
    issue = payload("jira-issue-automation-format.json")
    issue["fields"].update({f"customfield_{10100 + n}": None for n in range(300)})  # wider than a request
    response = served.post("/v1/webhooks/jira", data=json.dumps(issue), headers=jira_headers())
    assert response.status_code == 200, response.get_data(as_text=True)


def test_the_webhooks_keep_their_own_credentials_when_api_tokens_are_configured(policy_set, log, tmp_path):
    secret = add_token(tmp_path / "tokens.json", "everything", ["decide", "read", "admin", "metrics"])
    client = create_app(dict(SECRETS, POLICY_SET=policy_set, DECISION_LOG=log, TESTING=True,
                             TOKENS=load_tokens(tmp_path / "tokens.json"))).test_client()
    assert client.post("/v1/webhooks/zendesk", data=ZENDESK, headers=zendesk_headers(ZENDESK)).status_code == 200
    assert client.post("/v1/webhooks/jira", data=JIRA, headers=jira_headers(secret)).status_code == 401
    assert client.post("/v1/webhooks/jira", data=JIRA, headers=jira_headers()).status_code == 200


def test_a_secret_read_from_the_file_the_environment_names(policy_set, log, tmp_path, monkeypatch):
    (tmp_path / "token").write_text(JIRA_TOKEN + "\n", encoding="utf-8")
    monkeypatch.setenv("SUPPORTPOLICY_JIRA_WEBHOOK_TOKEN_FILE", str(tmp_path / "token"))
    client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log, "TESTING": True,
                         "WEBHOOK_CLOCK": lambda: NOW}).test_client()
    assert client.post("/v1/webhooks/jira", data=JIRA, headers=jira_headers()).status_code == 200


def test_a_policy_set_without_the_system_s_mapping_says_so(tmp_path, log):
    import shutil

    from supportpolicy.engine import load_policy_set
    from supportpolicy.engine.resources import shipped

    policies = shutil.copytree(shipped("policies"), tmp_path / "policies", ignore=shutil.ignore_patterns("tests"))
    (policies / "integrations" / "jira.yaml").unlink()
    client = create_app(dict(SECRETS, POLICY_SET=load_policy_set(policies, shipped("rules")), DECISION_LOG=log,
                             TESTING=True)).test_client()
    response = client.post("/v1/webhooks/jira", data=JIRA, headers=jira_headers())
    assert response.status_code == 404 and "maps no jira webhook" in response.get_json()["detail"]
    assert logged(log) == []
