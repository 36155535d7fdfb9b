"""The OpenAPI description of the ticketing webhooks (server.webhooks), each with its own security scheme.

Their callers are not API clients with tokens but Zendesk and Jira, which
authenticate by a signature and by a token of their own: the security of
these operations does not depend on whether API tokens are configured.
"""
from __future__ import annotations

import copy

from supportpolicy.server.webhooks import CHALLENGES, SIGNATURE, SIGNATURE_WINDOW, TIMESTAMP

SECURITY_SCHEMES = {
    "zendeskSignature": {
        "type": "apiKey", "in": "header", "name": SIGNATURE,
        "description": f"base64(HMAC-SHA256(signing secret, {TIMESTAMP} + body)), as Zendesk signs a webhook; "
                       f"the timestamp must be within {int(SIGNATURE_WINDOW.total_seconds())} s of the server's "
                       "clock. The secret is the webhook's signing secret, given to the server in "
                       "SUPPORTPOLICY_ZENDESK_WEBHOOK_SECRET (or a file named by ..._FILE)."},
    "jiraWebhookToken": {
        "type": "http", "scheme": "bearer",
        "description": "The token given to the server in SUPPORTPOLICY_JIRA_WEBHOOK_TOKEN (or a file named by "
                       "..._FILE), sent by the automation rule's Send web request action as a header."},
}
_PAYLOAD = {"type": "object", "description": "The ticketing system's payload, as the integration's mapping "
                                             "(policies/integrations/) reads it."}


def webhook_operations(problems, json, ref):
    """(path, method, Flask endpoint, operation) for each webhook; ``problems``, ``json`` and ``ref`` are
    server.openapi's helpers."""
    common = {
        **json("The decision, as POST /v1/decisions answers it; logged the same way.", ref("Decision")),
        **problems(400, "malformed-json"), **problems(404, "unknown-customer", "not-found"),
        **problems(413, "payload-too-large", "limit-exceeded"), **problems(415, "unsupported-media-type"),
        **problems(422, "unmappable-payload", "invalid-request", "no-policy-in-effect"),
        **problems(500, "internal-error", "engine-error"), **problems(503, "decision-log-unavailable")}
    for system, scheme, endpoint, summary, parameters in (
            ("zendesk", "zendeskSignature", "zendesk_webhook",
             "Decide a Zendesk ticket, from a trigger's signed webhook",
             [{"name": TIMESTAMP, "in": "header", "required": True, "schema": {"type": "string"},
               "description": "When Zendesk signed the call (ISO 8601)."}]),
            ("jira", "jiraWebhookToken", "jira_webhook",
             "Decide a Jira Service Management request, from an automation rule's Send web request action", [])):
        unauthorized = copy.deepcopy(problems(401, "webhook-unauthorized"))
        unauthorized["401"]["headers"]["WWW-Authenticate"]["description"] = f"{CHALLENGES[system]}."
        yield f"/v1/webhooks/{system}", "post", endpoint, {
            "operationId": f"{system}Webhook",
            "tags": ["webhooks"],
            "summary": summary,
            "description": "The payload is mapped to a decision request by the policy set's `integration: "
                           f"{system}` file; a payload it cannot map is a 422 whose `errors` name the payload's "
                           "fields. A call that fails authentication is a 401 and is neither decided nor logged.",
            "security": [{scheme: []}],
            "parameters": parameters,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _PAYLOAD}}},
            "responses": {**common, **unauthorized},
        }
