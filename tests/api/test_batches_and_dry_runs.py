"""POST /v1/decisions/batch and dry runs, against both decision log stores.

A batch: each request decided or refused on its own, with pointers relative to it, the decisions logged in one
transaction before the answer; a malformed envelope refuses it all. A dry run: decided, never logged, counted
apart in /metrics, allowed to a read-only token.
"""
from __future__ import annotations

import json
import re

import pytest

from supportpolicy.server import create_app
from supportpolicy.server.auth import add_token, load_tokens
from supportpolicy.server.metrics import Metrics

from support import DESIGNATED, make_request

SATURDAY_NIGHT = "2026-11-28T23:00:00-06:00"
GOOD = make_request(SATURDAY_NIGHT, "phone", email=DESIGNATED, ticket_id="T-1")


@pytest.fixture()
def served(store, policy_set):
    log = store.open()
    log.setup()
    metrics = Metrics()
    client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log, "METRICS": metrics}).test_client()
    return client, log, store, metrics


def problem_of(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    document = response.get_json()
    assert document["type"] == f"/problems/{slug}" and document["status"] == status
    return document


def counted(metrics: Metrics, name: str) -> float:
    text = metrics.exposition().decode()
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


# ---- batches --------------------------------------------------------------------------------

def test_each_request_of_a_batch_is_decided_or_refused_on_its_own(served, policy_set):
    client, log, store, metrics = served
    requests = [GOOD, dict(GOOD, channel="fax", ticket_id="T-2"), dict(GOOD, customer="nowhere"),
                dict(GOOD, ticket_id="T-4", received_at="2026-11-27T10:00:00-06:00"), "not a request"]
    response = client.post("/v1/decisions/batch", json={"requests": requests})
    assert response.status_code == 200 and response.mimetype == "application/json"
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == [200, 422, 404, 200, 422]
    # The decisions are those a request alone gets, and logged, exactly as answered.
    for result, body in ((results[0], requests[0]), (results[3], requests[3])):
        alone = policy_set.decide(body).as_json()
        assert {k: v for k, v in result["decision"].items() if k != "decision_id"} == \
            {k: v for k, v in alone.items() if k != "decision_id"}
        assert log.get(result["decision"]["decision_id"]).decision == result["decision"]
    assert sorted(store.ids()) == sorted(r["decision"]["decision_id"] for r in results if r["status"] == 200)
    # Pointers relative to the request, not the batch.
    assert [e["pointer"] for e in results[1]["problem"]["errors"]] == ["/channel"]
    assert results[2]["problem"]["type"] == "/problems/unknown-customer"
    assert [e["pointer"] for e in results[2]["problem"]["errors"]] == ["/customer"]
    assert results[4]["problem"]["errors"][0]["pointer"] == ""
    assert counted(metrics, "supportpolicy_decisions_total") == 2
    assert counted(metrics, "supportpolicy_problems_total") == 3


def test_a_batch_is_logged_in_one_transaction(served, monkeypatch):
    # All or none: PostgreSQL commits it in one transaction; SQLite's journal takes it in one frame, one
    # write(), which is committed whole or not at all (tests/unit/test_journal.py).
    client, log, store, _ = served
    writes = []
    if store.kind == "sqlite":
        appended = log._journal.append
        monkeypatch.setattr(log._journal, "append", lambda rows: (writes.append(len(rows)), appended(rows)))
    response = client.post("/v1/decisions/batch", json={"requests": [dict(GOOD, ticket_id=f"T-{n}")
                                                                      for n in range(100)]})
    assert response.status_code == 200 and {r["status"] for r in response.get_json()["results"]} == {200}
    assert len(store.ids()) == 100
    if store.kind == "sqlite":
        assert writes == [100]
    else:  # every row written by one transaction (xmin: the transaction that wrote it)
        assert store.rows("SELECT count(DISTINCT xmin::text) FROM decisions") == [(1,)]


def test_a_repeated_key_refuses_only_the_request_that_holds_it(served):
    client, _, store, _ = served
    text = json.dumps({"requests": [GOOD, GOOD]})
    second = text.rindex('"channel"')
    text = text[:second] + '"channel": "email", ' + text[second:]
    results = client.post("/v1/decisions/batch", data=text, content_type="application/json").get_json()["results"]
    assert [r["status"] for r in results] == [200, 400]
    assert results[1]["problem"]["errors"] == [{"pointer": "", "key": "channel",
                                                 "detail": 'holds the key "channel" more than once'}]
    assert len(store.ids()) == 1


@pytest.mark.parametrize("body, status, slug, pointer", [
    ([GOOD], 400, "invalid-batch", ""),
    ({"requests": []}, 400, "invalid-batch", "/requests"),
    ({"requests": GOOD}, 400, "invalid-batch", "/requests"),
    ({}, 400, "invalid-batch", "/requests"),
    ({"requests": [GOOD], "dry_run": True}, 400, "invalid-batch", "/dry_run"),
    ({"requests": [GOOD] * 101}, 413, "limit-exceeded", "/requests"),
])
def test_a_malformed_envelope_refuses_the_whole_batch(served, body, status, slug, pointer):
    client, _, store, _ = served
    document = problem_of(client.post("/v1/decisions/batch", json=body), status, slug)
    assert [e["pointer"] for e in document["errors"]] == [pointer]
    assert store.ids() == []


def test_a_batch_that_is_not_json_or_names_requests_twice_is_a_400(served):
    client, _, store, _ = served
    problem_of(client.post("/v1/decisions/batch", data='{"requests": [', content_type="application/json"), 400,
               "malformed-json")
    twice = '{"requests": [], "requests": [%s]}' % json.dumps(GOOD)
    problem_of(client.post("/v1/decisions/batch", data=twice, content_type="application/json"), 400,
               "malformed-json")
    problem_of(client.post("/v1/decisions/batch?dryrun=true", json={"requests": [GOOD]}), 400, "unknown-parameter")
    assert store.ids() == []


# ---- dry runs -------------------------------------------------------------------------------

def test_a_dry_run_decides_without_logging_and_is_counted_apart(served):
    client, log, store, metrics = served
    dry = client.post("/v1/decisions?dry_run=true", json=GOOD)
    real = client.post("/v1/decisions?dry_run=false", json=GOOD)
    assert dry.status_code == real.status_code == 200
    strip = lambda d: {k: v for k, v in d.items() if k != "decision_id"}  # noqa: E731
    assert strip(dry.get_json()) == strip(real.get_json())
    assert store.ids() == [real.get_json()["decision_id"]]
    assert counted(metrics, "supportpolicy_decisions_total") == 1
    assert counted(metrics, "supportpolicy_dry_runs_total") == 1
    # Nothing for `log export`, and so for `impact`, to replay.
    assert [r.decision_id for r in log.find()] == [real.get_json()["decision_id"]]
    batch = client.post("/v1/decisions/batch?dry_run=true", json={"requests": [GOOD, GOOD]})
    assert [r["status"] for r in batch.get_json()["results"]] == [200, 200]
    assert len(store.ids()) == 1 and counted(metrics, "supportpolicy_dry_runs_total") == 3


@pytest.mark.parametrize("value", ["yes", "1", "TRUE", ""])
def test_dry_run_is_true_or_false(served, value):
    client, _, store, _ = served
    document = problem_of(client.post(f"/v1/decisions?dry_run={value}", json=GOOD), 422, "invalid-request")
    assert [e["parameter"] for e in document["errors"]] == ["dry_run"]
    assert store.ids() == []


def test_a_misspelt_dry_run_is_refused_and_logs_nothing(served):
    client, _, store, _ = served
    document = problem_of(client.post("/v1/decisions?dryrun=true", json=GOOD), 400, "unknown-parameter")
    assert [e["parameter"] for e in document["errors"]] == ["dryrun"]
    assert store.ids() == []


def test_a_dry_run_needs_the_read_or_decide_scope_and_a_real_one_decide(store, policy_set, tmp_path):
    path = tmp_path / "tokens.json"
    secrets = {name: add_token(path, name, scopes) for name, scopes in
               (("explorer", ["read"]), ("ticketing", ["decide"]), ("prometheus", ["metrics"]))}
    log = store.open()
    log.setup()
    client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log, "TOKENS": load_tokens(path)}).test_client()

    def status(token: str, query: str, path: str = "/v1/decisions") -> int:
        return client.post(path + query, json=GOOD if path.endswith("decisions") else {"requests": [GOOD]},
                           headers={"Authorization": f"Bearer {secrets[token]}"}).status_code

    assert status("explorer", "?dry_run=true") == 200
    assert status("explorer", "?dry_run=true", "/v1/decisions/batch") == 200
    assert status("ticketing", "?dry_run=true") == 200
    assert status("prometheus", "?dry_run=true") == 403
    assert store.ids() == []
    # Anything but exactly dry_run=true is a real decision, which a read-only token may not make.
    for query in ("", "?dry_run=false", "?dry_run=True", "?dry_run=true&dry_run=false"):
        assert status("explorer", query) == 403, query
    assert status("explorer", "", "/v1/decisions/batch") == 403
    assert store.ids() == []
    assert status("ticketing", "") == 200 and len(store.ids()) == 1
