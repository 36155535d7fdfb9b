"""Webhook calls as Zendesk and Jira make them, from the payloads in tests/fixtures/webhooks/ (see its README)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone

from support import FIXTURES

WEBHOOKS = FIXTURES / "webhooks"
# Secrets of the tests' own; Zendesk shows a signing secret in this form (base64 text, used as it is written).
ZENDESK_SECRET = "dGVzdHMtb25seS16ZW5kZXNrLXNpZ25pbmctc2VjcmV0"
JIRA_TOKEN = "tests-only-jira-webhook-token"
# The Zendesk fixture's ticket: created on Saturday 2026-11-28 at 23:00 in Chicago; Zendesk calls a few seconds on.
SIGNED_AT = "2026-11-29T05:00:05Z"
NOW = datetime(2026, 11, 29, 5, 0, 20, tzinfo=timezone.utc)


def payload(name: str) -> dict:
    return json.loads((WEBHOOKS / name).read_text(encoding="utf-8"))


def raw(name: str) -> bytes:
    return (WEBHOOKS / name).read_bytes()


def zendesk_signature(body: bytes, timestamp: str = SIGNED_AT, secret: str = ZENDESK_SECRET) -> str:
    """As Zendesk signs: base64(HMAC-SHA256(secret, timestamp + body))."""
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()).decode()


def zendesk_headers(body: bytes, timestamp: str = SIGNED_AT, secret: str = ZENDESK_SECRET) -> dict:
    return {"X-Zendesk-Webhook-Signature": zendesk_signature(body, timestamp, secret),
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp, "Content-Type": "application/json"}


def jira_headers(token: str = JIRA_TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
