"""One `serve --policy-source` replica: it follows what is published, and outlives the database going away.

The replica reaches the database through a relay the test can cut (tests/relay.py): the database
"goes away" for this replica only. Its decision log is the same database reached directly
(--decision-log), so that only the policy source is lost while it is cut. Sets are published
with `supportpolicy publish`, directly. The digest each answer must carry is the one a folder
load of the same files computes. Waits are bounded (``WAIT``), never timed: the issue's bound
of one second for a fleet is measured by tests/system/test_fleet.py.
"""
from __future__ import annotations

import socket
import time
import urllib.request

import pytest
from logstores import postgres_schema
from relay import Relay

from supportpolicy.engine.decide.build import load_policy_set

from support import REPO, Server, http, make_request, run_cli, serving, shipped_with_rate

WAIT = 30  # seconds: the bound on every wait for the replica
FRIDAY_MORNING = make_request("2026-11-27T10:00:00-06:00", ticket_id="T-source")


@pytest.fixture
def source(tmp_path):
    with postgres_schema() as (url, _):
        relay = Relay.to(url)
        try:
            yield url, relay
        finally:
            relay.close()


def publish(tmp_path, url, policies, rules) -> str:
    result = run_cli("publish", "--policies", policies, "--rules", rules, "--to", url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr_text
    return load_policy_set(policies, rules).digest


def answered_digest(base: str) -> str:
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
        return response.headers["Policy-Set-Digest"]


def wait_until(what: str, check, within: float = WAIT):
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() >= deadline:
            pytest.fail(f"not within {within} s: {what}")
        time.sleep(0.1)


def status(base: str) -> dict:
    code, body = http("GET", f"{base}/v1/status")
    assert code == 200, body
    return body


def decides(base: str) -> None:
    code, body = http("POST", f"{base}/v1/decisions", FRIDAY_MORNING)
    assert code == 200, body


def replica_args(url: str, relay: Relay, data_dir, name: str = "replica-1") -> list:
    return ["--policy-source", relay.url(url), "--decision-log", url, "--data-dir", data_dir, "--replica-name", name]


def test_a_replica_follows_each_publish_and_shows_itself_caught_up_in_the_fleet(tmp_path, source):
    url, relay = source
    first = publish(tmp_path, url, REPO / "policies", REPO / "rules")
    with serving(replica_args(url, relay, tmp_path / "data"), tmp_path) as server:
        assert answered_digest(server.base) == first
        changed = publish(tmp_path, url, *shipped_with_rate(tmp_path / "changed", "250.00"))
        wait_until("every answer carries the published digest", lambda: answered_digest(server.base) == changed)
        decides(server.base)
        report = wait_until("the fleet shows the replica caught up", lambda: (
            s := status(server.base))["fleet"]["replicas"] and s["fleet"]["replicas"][0]["caught_up"] and s)
        assert report["active"]["digest"] == changed
        assert report["policy_source"]["state"] == "following" and report["policy_source"]["published"] == changed
        assert report["fleet"]["digests"] == {changed: 1}
        [replica] = report["fleet"]["replicas"]
        assert replica["replica"] == "replica-1" and replica["digest"] == changed
        with urllib.request.urlopen(f"{server.base}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        assert f'supportpolicy_fleet_replicas{{digest="{changed}"}} 1.0' in metrics
        assert "not-a-secret" not in str(report["policy_source"])
        assert f"Policy-Set-Digest: {changed}" in unparsable_answer(server.port)


def unparsable_answer(port: int) -> str:
    """The head of what the server answers to bytes that are no HTTP (gunicorn answers it before the app)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := connection.recv(4096)):
            answer += chunk
    head = answer.decode("latin-1").partition("\r\n\r\n")[0]
    assert head.startswith("HTTP/1.1 400"), head
    return head


def test_a_replica_keeps_deciding_while_the_database_is_away_and_catches_up_when_it_is_back(tmp_path, source):
    url, relay = source
    first = publish(tmp_path, url, REPO / "policies", REPO / "rules")
    with serving(replica_args(url, relay, tmp_path / "data"), tmp_path) as server:
        relay.cut()
        wait_until("status says the source is unreachable",
                   lambda: status(server.base)["policy_source"]["state"] == "unreachable")
        code, health = http("GET", f"{server.base}/healthz")
        assert code == 200 and health["policy_source"] == "unreachable" and health["policy_digest"] == first
        assert status(server.base)["policy_source"]["last_error"]
        changed = publish(tmp_path, url, *shipped_with_rate(tmp_path / "changed", "250.00"))  # its NOTIFY is missed
        for _ in range(20):
            decides(server.base)
            assert answered_digest(server.base) == first
        relay.restore()
        wait_until("the replica catches up once the database is back", lambda: answered_digest(server.base) == changed)
        wait_until("status says it follows again", lambda: status(server.base)["policy_source"]["state"] == "following")
        assert http("GET", f"{server.base}/healthz")[1]["policy_source"] == "following"


def test_a_replica_started_while_the_database_is_away_decides_with_the_set_it_cached(tmp_path, source):
    url, relay = source
    first = publish(tmp_path, url, REPO / "policies", REPO / "rules")
    data = tmp_path / "data"
    with serving(replica_args(url, relay, data), tmp_path, name="first-run"):
        pass
    relay.cut()
    with serving(replica_args(url, relay, data), tmp_path, name="second-run") as server:
        assert answered_digest(server.base) == first
        decides(server.base)
        report = status(server.base)
        assert report["policy_source"]["state"] == "unreachable"
        assert "cached" in server.stderr()
        relay.restore()
        wait_until("it follows once the database is back",
                   lambda: status(server.base)["policy_source"]["state"] == "following")


def test_a_replica_that_cannot_reach_the_database_and_has_no_cache_refuses_to_start(tmp_path, source):
    url, relay = source
    publish(tmp_path, url, REPO / "policies", REPO / "rules")
    relay.cut()
    server = Server(replica_args(url, relay, tmp_path / "empty"), tmp_path)
    try:
        assert server.process.wait(timeout=WAIT) == 1
    finally:
        server.stop()
    said = server.stderr()
    assert "cannot start" in said and "no set of its own to start from" in said, said
    assert "Traceback" not in said and "not-a-secret" not in said


def test_a_replica_refuses_to_start_when_nothing_is_published_and_it_has_no_cache(tmp_path, source):
    url, relay = source
    server = Server(replica_args(url, relay, tmp_path / "empty"), tmp_path)
    try:
        assert server.process.wait(timeout=WAIT) == 1
    finally:
        server.stop()
    assert "nothing has been published" in server.stderr(), server.stderr()
