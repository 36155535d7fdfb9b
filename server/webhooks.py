"""Webhooks of two ticketing systems: Zendesk (signed) and Jira Service Management (a bearer token).

Each endpoint checks that the call comes from the system (nothing is read,
decided or logged before), maps the payload to a decision request with the
policy set's ``integration:`` file (``engine.decide.payloads``), and answers
with the decision, logged as POST /v1/decisions logs it.

Zendesk signs a webhook with its signing secret: X-Zendesk-Webhook-Signature
is base64(HMAC-SHA256(secret, X-Zendesk-Webhook-Signature-Timestamp + body)).
A call is taken when that signature matches (compared in constant time) and
its timestamp is within SIGNATURE_WINDOW of this server's clock, either way,
so a recorded call cannot be replayed later. Jira's "Send web request" sends
a header the rule's author writes: Authorization: Bearer <token>.

The secrets come from the environment (SUPPORTPOLICY_ZENDESK_WEBHOOK_SECRET,
SUPPORTPOLICY_JIRA_WEBHOOK_TOKEN) or from files they name
(SUPPORTPOLICY_ZENDESK_WEBHOOK_SECRET_FILE, SUPPORTPOLICY_JIRA_WEBHOOK_TOKEN_FILE);
they are never logged and never shown in an answer. Without its secret, an
endpoint refuses every call.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping

import orjson
from flask import Response, g, request
from werkzeug.exceptions import UnsupportedMediaType

from supportpolicy.engine.decide.payloads import decide_payload, decode_payload
from supportpolicy.server import problems
from supportpolicy.server.body import json_body as request_body
from supportpolicy.server.storage.decisionlog import LogRecord

# (rule, method, endpoint, ticketing system)
ROUTES = (("/v1/webhooks/zendesk", "POST", "zendesk_webhook", "zendesk"),
          ("/v1/webhooks/jira", "POST", "jira_webhook", "jira"))
SIGNATURE_WINDOW = timedelta(minutes=5)
SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
# The configuration keys (SUPPORTPOLICY_<key> in the environment), each also as <key>_FILE.
SECRET_KEYS = {"zendesk": "ZENDESK_WEBHOOK_SECRET", "jira": "JIRA_WEBHOOK_TOKEN"}
CHALLENGES = {"zendesk": 'ZendeskWebhookSignature realm="supportpolicy"', "jira": 'Bearer realm="supportpolicy-jira"'}


class WebhookSecretError(ValueError):
    """A webhook secret is configured wrongly (its file cannot be read, or it is given twice)."""


@dataclass(frozen=True)
class Secrets:
    """The webhook secrets, by ticketing system; None where none is configured."""

    zendesk: bytes | None = None
    jira: bytes | None = None

    def __repr__(self) -> str:  # never shown, even in a traceback's locals
        return f"Secrets(zendesk={'set' if self.zendesk else None}, jira={'set' if self.jira else None})"

    def describe(self) -> str:
        return ", ".join(f"{system} {'on' if getattr(self, system) else 'off (no secret)'}" for system in SECRET_KEYS)


def load_secrets(config: Mapping, prefix: str = "") -> Secrets:
    """The secrets from ``config`` (the app's configuration, or the environment with ``prefix`` SUPPORTPOLICY_)."""
    return Secrets(**{system: _secret(config, prefix, key) for system, key in SECRET_KEYS.items()})


def _secret(config: Mapping, prefix: str, key: str) -> bytes | None:
    value, path = config.get(prefix + key), config.get(f"{prefix}{key}_FILE")
    if value is not None and not isinstance(value, str):
        # Flask's from_prefixed_env reads a value that looks like JSON as JSON; the secret is its text.
        value = os.environ.get(f"SUPPORTPOLICY_{key}", str(value))
    if value and path:
        raise WebhookSecretError(f"both SUPPORTPOLICY_{key} and SUPPORTPOLICY_{key}_FILE are set; set one")
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise WebhookSecretError(f"cannot read SUPPORTPOLICY_{key}_FILE ({path}): "
                                     f"{getattr(exc, 'strerror', None) or 'not UTF-8 text'}") from None
        if not value.strip():
            raise WebhookSecretError(f"SUPPORTPOLICY_{key}_FILE ({path}) is empty")
    return value.encode("utf-8") if value else None


def zendesk_refusal(secret: bytes | None, headers, body: bytes, now: datetime) -> str | None:
    """Why a Zendesk call is refused (its signature, its timestamp), or None when it is genuine and fresh."""
    if secret is None:
        return "this server has no Zendesk signing secret (SUPPORTPOLICY_ZENDESK_WEBHOOK_SECRET); it takes no call"
    signature, stamp = headers.get(SIGNATURE), headers.get(TIMESTAMP)
    if not signature or not stamp:
        return f"the call is not signed: send {SIGNATURE} and {TIMESTAMP}, as a Zendesk webhook does"
    try:
        presented = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        presented = b""
    expected = hmac.new(secret, stamp.encode("utf-8") + body, hashlib.sha256).digest()
    if not hmac.compare_digest(presented, expected):
        return "the signature does not match the body and timestamp under this server's signing secret"
    signed_at = _instant(stamp)
    if signed_at is None:
        return f"{TIMESTAMP} is not an ISO 8601 time with an offset"
    if abs(now - signed_at) > SIGNATURE_WINDOW:
        return (f"the signature's timestamp is more than {int(SIGNATURE_WINDOW.total_seconds())} s from this "
                "server's clock: a replayed call, or a clock that is wrong")
    return None


def jira_refusal(secret: bytes | None, headers) -> str | None:
    """Why a Jira call is refused, or None when it carries the token."""
    if secret is None:
        return "this server has no Jira webhook token (SUPPORTPOLICY_JIRA_WEBHOOK_TOKEN); it takes no call"
    kind, _, presented = headers.get("Authorization", "").partition(" ")
    # Hashed first, so the comparison takes as long whatever the length presented.
    if kind.lower() != "bearer" or not hmac.compare_digest(hashlib.sha256(presented.strip().encode()).digest(),
                                                           hashlib.sha256(secret).digest()):
        return "send the webhook token the server was given: Authorization: Bearer <token>"
    return None


def _instant(text: str) -> datetime | None:
    try:
        instant = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


class Webhooks:
    """The webhook views: each checks the caller, makes one engine call, and answers as POST /v1/decisions."""

    def __init__(self, live, log, metrics, secrets: Secrets, clock=lambda: datetime.now(timezone.utc)):
        self.live, self.log, self.metrics, self.secrets, self.clock = live, log, metrics, secrets, clock

    def zendesk_webhook(self):
        body = request_body()
        refusal = zendesk_refusal(self.secrets.zendesk, request.headers, body, self.clock())
        return self._refused("zendesk", refusal) if refusal else self._decide("zendesk", body)

    def jira_webhook(self):
        refusal = jira_refusal(self.secrets.jira, request.headers)
        return self._refused("jira", refusal) if refusal else self._decide("jira", request_body())

    def _refused(self, system: str, detail: str) -> Response:
        return problems.problem(401, "webhook-unauthorized", "Unauthorized", detail,
                                headers={"WWW-Authenticate": CHALLENGES[system]})

    def _decide(self, system: str, body: bytes) -> Response:
        if request.mimetype != "application/json":
            raise UnsupportedMediaType(f"send the payload as application/json, not {request.mimetype or 'nothing'}")
        current = self.live.current
        mapped, decision = decide_payload(current, system, decode_payload(body), self.clock())
        document = decision.as_json()
        if self.log is not None:
            self.log.write(LogRecord.of(mapped, decision, document))  # before the answer, as every decision
        g.decision_id = decision.decision_id
        self.metrics.decided(decision.outcome.route.team, decision.outcome.billable, decision.facts.emergency)
        self.metrics.policy_in_force(current.digest)
        return Response(orjson.dumps(document), mimetype="application/json")


def register(app, live, log, metrics) -> None:
    """The webhook routes, with the secrets of the app's configuration."""
    webhooks = Webhooks(live, log, metrics, load_secrets(app.config), app.config.get("WEBHOOK_CLOCK")
                        or (lambda: datetime.now(timezone.utc)))
    for rule, method, endpoint, _ in ROUTES:
        app.add_url_rule(rule, endpoint, getattr(webhooks, endpoint), methods=[method])
