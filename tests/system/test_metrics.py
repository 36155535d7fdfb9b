"""Prometheus metrics and the request log: what operators see."""
from __future__ import annotations

import json
import logging
import urllib.request

import pytest

from supportpolicy.server import create_app

from support import DESIGNATED, make_request, serving

SATURDAY_NIGHT = "2026-11-28T23:00:00-06:00"


def sample(text: str, name: str, **labels) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(part.split("=", 1) for part in line[line.find("{") + 1:line.find("}")].split(",") if "=" in part)
        if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture()
def fresh(policy_set):
    return create_app({"POLICY_SET": policy_set, "TESTING": True}).test_client()


def test_metrics_count_decisions_problems_and_latency(fresh):
    for _ in range(3):
        assert fresh.post("/v1/decisions", json=make_request(SATURDAY_NIGHT, "phone", email=DESIGNATED)).status_code == 200
    fresh.post("/v1/decisions", json=make_request(SATURDAY_NIGHT, "fax"))
    fresh.post("/v1/decisions", data="{", content_type="application/json")
    response = fresh.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    assert sample(text, "supportpolicy_decisions_total", route_team="emergency_on_call", billable="true",
                  emergency="false") == 3
    assert sample(text, "supportpolicy_problems_total", type="invalid-request") == 1
    assert sample(text, "supportpolicy_problems_total", type="malformed-json") == 1
    assert sample(text, "supportpolicy_request_duration_seconds_count", endpoint="decide") == 5
    digest = fresh.get("/healthz").get_json()["policy_digest"]
    assert sample(text, "supportpolicy_policy_active", digest=digest) == 1


def test_one_json_line_per_request_without_the_body(fresh, caplog):
    summary = "caller's private words"
    with caplog.at_level(logging.INFO, logger="supportpolicy.requests"):
        decision = fresh.post("/v1/decisions", json=make_request(SATURDAY_NIGHT, summary=summary)).get_json()
        fresh.post("/v1/decisions", json={})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "supportpolicy.requests"]
    assert [(line["status"], line["decision_id"], line["problem"]) for line in lines] == [
        (200, decision["decision_id"], None), (422, None, "invalid-request")]
    assert all(line["latency_ms"] >= 0 and line["path"] == "/v1/decisions" for line in lines)
    assert summary not in caplog.text


def _get(port: int, path: str) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Connection": "close"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def _post(port: int, body: dict) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/decisions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Connection": "close"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_metrics_add_up_every_gunicorn_worker(tmp_path):
    with serving(["--workers", "2", "--no-decision-log", "--no-watch"], tmp_path) as server:
        for _ in range(40):  # one connection each, so both workers answer some
            assert _post(server.port, make_request(SATURDAY_NIGHT, "email", email=DESIGNATED)) == 200
        for _ in range(4):  # whichever worker answers /metrics, it counts every worker's decisions
            assert sample(_get(server.port, "/metrics"), "supportpolicy_decisions_total",
                          route_team="emergency_on_call", billable="true", emergency="false") == 40
    lines = [json.loads(line) for line in server.stderr().splitlines() if line.startswith("{")]
    assert sum(line["path"] == "/v1/decisions" and line["status"] == 200 for line in lines) == 40
