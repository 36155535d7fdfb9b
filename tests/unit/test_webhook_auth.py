"""How a webhook call is known to come from Zendesk or Jira, and where the secrets come from."""
from __future__ import annotations

from datetime import timedelta

import pytest

from supportpolicy.server.webhooks import (
    SIGNATURE_WINDOW,
    Secrets,
    WebhookSecretError,
    jira_refusal,
    load_secrets,
    zendesk_refusal,
)

from webhook_calls import JIRA_TOKEN, NOW, SIGNED_AT, ZENDESK_SECRET, raw, zendesk_headers

SECRET = ZENDESK_SECRET.encode()
BODY = raw("zendesk-ticket-created.json")


def test_a_call_signed_as_zendesk_signs_is_taken():
    assert zendesk_refusal(SECRET, zendesk_headers(BODY), BODY, NOW) is None


@pytest.mark.parametrize("case,headers,body", [
    ("unsigned", {}, BODY),
    ("no timestamp", {"X-Zendesk-Webhook-Signature": zendesk_headers(BODY)["X-Zendesk-Webhook-Signature"]}, BODY),
    ("another secret", zendesk_headers(BODY, secret="another"), BODY),
    ("body changed", zendesk_headers(BODY), BODY.replace(b"Phone call", b"Web form  ")),
    ("timestamp changed", dict(zendesk_headers(BODY), **{"X-Zendesk-Webhook-Signature-Timestamp":
                                                         "2026-11-29T05:00:06Z"}), BODY),
    ("not base64", dict(zendesk_headers(BODY), **{"X-Zendesk-Webhook-Signature": "%%%"}), BODY),
    ("hex, not base64", dict(zendesk_headers(BODY), **{"X-Zendesk-Webhook-Signature": "ab" * 32}), BODY),
])
def test_a_call_not_signed_by_zendesk_with_this_secret_is_refused(case, headers, body):
    assert zendesk_refusal(SECRET, headers, body, NOW), case


@pytest.mark.parametrize("offset,taken", [
    (timedelta(0), True), (SIGNATURE_WINDOW, True), (-SIGNATURE_WINDOW, True),
    (SIGNATURE_WINDOW + timedelta(seconds=1), False), (-SIGNATURE_WINDOW - timedelta(seconds=1), False),
    (timedelta(days=1), False)])
def test_a_signature_is_taken_within_the_window_of_the_server_s_clock_either_way(offset, taken):
    from datetime import datetime
    signed_at = datetime.fromisoformat(SIGNED_AT.replace("Z", "+00:00"))
    refusal = zendesk_refusal(SECRET, zendesk_headers(BODY), BODY, signed_at + offset)
    assert (refusal is None) == taken, refusal
    if not taken:
        assert "replayed" in refusal


def test_without_a_secret_no_call_is_taken_and_no_answer_shows_a_secret():
    assert "no Zendesk signing secret" in zendesk_refusal(None, zendesk_headers(BODY), BODY, NOW)
    assert "no Jira webhook token" in jira_refusal(None, {"Authorization": f"Bearer {JIRA_TOKEN}"})
    for refusal in (zendesk_refusal(SECRET, zendesk_headers(BODY, secret="x"), BODY, NOW),
                    jira_refusal(JIRA_TOKEN.encode(), {"Authorization": "Bearer wrong"})):
        assert ZENDESK_SECRET not in refusal and JIRA_TOKEN not in refusal


@pytest.mark.parametrize("header,taken", [
    (f"Bearer {JIRA_TOKEN}", True), (f"bearer {JIRA_TOKEN}", True), (f"Bearer {JIRA_TOKEN} ", True),
    ("Bearer wrong", False), (f"Basic {JIRA_TOKEN}", False), (JIRA_TOKEN, False), ("", False),
    (f"Bearer {JIRA_TOKEN}x", False), (f"Bearer {JIRA_TOKEN[:-1]}", False)])
def test_a_jira_call_needs_the_webhook_token(header, taken):
    assert (jira_refusal(JIRA_TOKEN.encode(), {"Authorization": header}) is None) == taken


def test_secrets_come_from_the_environment_or_from_files_they_name(tmp_path):
    secret_file = tmp_path / "zendesk-secret"
    secret_file.write_text(ZENDESK_SECRET + "\n", encoding="utf-8")
    secrets = load_secrets({"SUPPORTPOLICY_ZENDESK_WEBHOOK_SECRET_FILE": str(secret_file),
                            "SUPPORTPOLICY_JIRA_WEBHOOK_TOKEN": JIRA_TOKEN}, "SUPPORTPOLICY_")
    assert secrets == Secrets(zendesk=SECRET, jira=JIRA_TOKEN.encode())
    assert ZENDESK_SECRET not in repr(secrets) and JIRA_TOKEN not in repr(secrets)
    assert secrets.describe() == "zendesk on, jira on"
    assert load_secrets({}).describe() == "zendesk off (no secret), jira off (no secret)"


@pytest.mark.parametrize("config,message", [
    ({"ZENDESK_WEBHOOK_SECRET": "x", "ZENDESK_WEBHOOK_SECRET_FILE": "/x"}, "set one"),
    ({"JIRA_WEBHOOK_TOKEN_FILE": "/nonexistent/token"}, "cannot read SUPPORTPOLICY_JIRA_WEBHOOK_TOKEN_FILE"),
])
def test_a_secret_configured_wrongly_is_refused_by_name(config, message):
    with pytest.raises(WebhookSecretError, match=message):
        load_secrets(config)


def test_an_empty_secret_file_is_refused(tmp_path):
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    with pytest.raises(WebhookSecretError, match="is empty"):
        load_secrets({"ZENDESK_WEBHOOK_SECRET_FILE": str(tmp_path / "empty")})
