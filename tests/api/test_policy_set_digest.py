"""Every answer names the policy set in force in the process that answered (Policy-Set-Digest), as documented."""
from __future__ import annotations

import pytest

from supportpolicy.server.openapi import openapi_document

from support import make_request

ANSWERS = [("GET", "/healthz", None, 200), ("GET", "/v1/status", None, 200), ("GET", "/no/such/path", None, 404),
           ("DELETE", "/v1/decisions", None, 405), ("POST", "/v1/decisions", {"customer": 7}, 422),
           ("POST", "/v1/decisions?dry_run=true", make_request("2026-11-27T10:00:00-06:00"), 200),
           ("GET", "/openapi.json", None, 200), ("GET", "/", None, 200)]


@pytest.mark.parametrize("method,path,body,status", ANSWERS)
def test_every_answer_carries_the_digest_of_the_set_in_force(client, policy_set, method, path, body, status):
    response = client.open(path, method=method, json=body)
    assert response.status_code == status
    assert response.headers["Policy-Set-Digest"] == policy_set.digest


def test_the_document_names_the_header_on_every_response_through_one_component():
    document = openapi_document()
    header = document["components"]["headers"]["PolicySetDigest"]
    assert header["required"] is True and header["schema"]["type"] == "string"
    responses = [(path, method, code, response) for path, operations in document["paths"].items()
                 for method, operation in operations.items() for code, response in operation["responses"].items()]
    assert responses
    missing = [(p, m, c) for p, m, c, r in responses
               if r.get("headers", {}).get("Policy-Set-Digest") != {"$ref": "#/components/headers/PolicySetDigest"}]
    assert missing == []


def test_status_and_healthz_show_no_policy_source_with_folders(client):
    status = client.get("/v1/status").get_json()
    assert status["policy_source"] is None and status["fleet"] is None
    assert "policy_source" not in client.get("/healthz").get_json()
