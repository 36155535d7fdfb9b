"""`supportpolicy sla report` over the tickets a server tracked, on both stores: per target the share met,
each breach with how late, the time paused; the same bytes on every run, in each format."""
from __future__ import annotations

import csv
import io
import json

import pytest
from logstores import store  # noqa: F401  (the fixture: each store in turn)

from supportpolicy.engine.decide.build import load_policy_set
from supportpolicy.server import create_app
from supportpolicy.server.storage.privacy import LogPrivacy, read_key

from support import make_request, run_cli


def event(kind: str, at: str, n: int, **extra) -> dict:
    return {"type": kind, "at": at, "id": f"e-{n}", **extra}


@pytest.fixture()
def tracked(store):  # noqa: F811
    log = store.open(privacy=LogPrivacy.of(key=read_key(data_dir=store.data_dir, create=True)))
    client = create_app({"POLICY_SET": load_policy_set(), "DECISION_LOG": log, "TESTING": True}).test_client()
    tickets = {  # due 4 business hours after 10:00 in Chicago: 14:00
        "T-A": ("2026-11-23T10:00:00-06:00", [event("status", "2026-11-23T10:05:00-06:00", 1, status="open"),
                                              event("agent_reply", "2026-11-23T15:10:00-06:00", 2)]),
        "T-B": ("2026-11-24T10:00:00-06:00", [event("agent_reply", "2026-11-24T11:00:00-06:00", 1)]),
        "T-C": ("2026-10-30T10:00:00-05:00", [event("agent_reply", "2026-10-30T11:00:00-05:00", 1)]),
    }
    for ticket_id, (received, events) in tickets.items():
        body = {"request": make_request(received, "email", "application_error"), "events": events}
        assert client.post(f"/v1/tickets/{ticket_id}/events", json=body).status_code == 200
    return store


def report(store, tmp_path, *args):  # noqa: F811
    return run_cli("sla", "report", "--customer", "demo-city", *args, *store.cli_args(), cwd=tmp_path)


def test_the_report_gives_the_share_met_and_each_breach_with_how_late(tracked, tmp_path):
    result = report(tracked, tmp_path, "--month", "2026-11")
    assert result.returncode == 0, result.stderr_text
    assert result.stdout_text.splitlines() == [
        "SLA report: demo-city, 2026-11 (America/Chicago): 2 tickets received",
        "  first_response: 50.0% met (1 met, 1 breached, 0 open, of 2 tickets); paused 0h00m",
        "    breach: T-A due 2026-11-23T14:00:00-06:00, stopped 2026-11-23T15:10:00-06:00: 1h10m late"]


def test_each_format_gives_the_same_bytes_on_every_run(tracked, tmp_path):
    for format_ in ("text", "csv", "json"):
        first = report(tracked, tmp_path, "--month", "2026-11", "--format", format_)
        assert first.returncode == 0, first.stderr_text
        assert report(tracked, tmp_path, "--month", "2026-11", "--format", format_).stdout == first.stdout, format_
    data = json.loads(report(tracked, tmp_path, "--month", "2026-11", "--format", "json").stdout)
    target = data["targets"]["first_response"]
    assert (target["met"], target["breached"], target["share_met"]) == (1, 1, 0.5)
    assert target["breaches"] == [{"ticket_id": "T-A", "due": "2026-11-23T14:00:00-06:00",
                                   "stopped": "2026-11-23T15:10:00-06:00", "late_seconds": 4200.0}]
    rows = list(csv.DictReader(io.StringIO(report(tracked, tmp_path, "--month", "2026-11", "--format",
                                                  "csv").stdout_text)))
    assert [(r["row"], r["ticket_id"], r["late_seconds"]) for r in rows] == [("target", "", ""),
                                                                            ("breach", "T-A", "4200.0")]
    october = json.loads(report(tracked, tmp_path, "--month", "2026-10", "--format", "json").stdout)
    assert october["tickets"] == 1 and october["targets"]["first_response"]["met"] == 1


def test_a_month_not_over_or_not_a_month_is_refused(tracked, tmp_path):
    assert report(tracked, tmp_path, "--month", "2199-01").returncode == 1
    refused = report(tracked, tmp_path, "--month", "2026-13")
    assert refused.returncode == 2 and "YYYY-MM" in refused.stderr_text
