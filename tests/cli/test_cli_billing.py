"""`supportpolicy billing statement` and GET /v1/customers/{id}/statement over the work a server stored, on both
stores: each charged line, the work not billed and why, the totals; the same bytes on every run, in each
format, and the same after a later change of the policy folders. And `supportpolicy explain` of a charge."""
from __future__ import annotations

import csv
import io
import json

import pytest
from logstores import store  # noqa: F401  (the fixture: each store in turn)

from supportpolicy.engine.decide.build import load_policy_set
from supportpolicy.server import create_app
from supportpolicy.server.storage.privacy import LogPrivacy, read_key

from support import DESIGNATED, REPO, make_request, run_cli, shipped_with_rate

NOTICE = {"given_at": "2026-11-28T23:05:00-06:00", "response": "accepted"}
TICKETS = {  # ticket id: (request, notice, entries)
    "T-1": (make_request("2026-11-28T23:00:00-06:00", "phone", "usage_question", DESIGNATED), NOTICE,
            [{"entry_id": "w-1", "start": "2026-11-28T23:10:00-06:00", "end": "2026-11-29T00:40:00-06:00"}]),
    "T-2": (make_request("2026-11-21T22:00:00-06:00", "phone", "website_down", DESIGNATED), None,
            [{"entry_id": "w-1", "start": "2026-11-21T22:10:00-06:00", "end": "2026-11-21T22:40:00-06:00"}]),
    "T-3": (make_request("2026-11-23T10:00:00-06:00", "email", "application_error", DESIGNATED), None,
            [{"entry_id": "w-1", "start": "2026-11-23T10:05:00-06:00", "end": "2026-11-23T10:50:00-06:00"}]),
    "T-4": (make_request("2026-11-24T20:00:00-06:00", "phone", "usage_question", DESIGNATED), None,
            [{"entry_id": "w-1", "start": "2026-11-24T20:05:00-06:00", "end": "2026-11-24T20:35:00-06:00"}]),
    "T-5": (make_request("2026-10-31T20:00:00-05:00", "phone", "usage_question", DESIGNATED),
            {"given_at": "2026-10-31T20:01:00-05:00", "response": "accepted"},
            [{"entry_id": "w-1", "start": "2026-10-31T20:05:00-05:00", "end": "2026-10-31T21:05:00-05:00"}]),
}


@pytest.fixture()
def worked(store):  # noqa: F811
    log = store.open(privacy=LogPrivacy.of(key=read_key(data_dir=store.data_dir, create=True)))
    client = create_app({"POLICY_SET": load_policy_set(), "DECISION_LOG": log, "TESTING": True}).test_client()
    for ticket_id, (request, notice, entries) in TICKETS.items():
        opened = {"type": "status", "at": request["received_at"], "status": "open", "id": "e-1"}
        assert client.post(f"/v1/tickets/{ticket_id}/events", json={"request": request, "events": [opened]}) \
            .status_code == 200
        body = {"entries": entries, **({"notice": notice} if notice else {})}
        answer = client.post(f"/v1/tickets/{ticket_id}/work", json=body)
        assert answer.status_code == 200, answer.get_json()
    return store


def statement(store, tmp_path, *args):  # noqa: F811
    return run_cli("billing", "statement", "--customer", "demo-city", *args, *store.cli_args(), cwd=tmp_path)


def test_the_statement_lists_each_charged_line_the_work_not_billed_and_why_and_the_totals(worked, tmp_path):
    result = statement(worked, tmp_path, "--month", "2026-11", "--format", "json")
    assert result.returncode == 0, result.stderr_text
    data = json.loads(result.stdout)
    assert [(line["ticket_id"], line["amount"]["amount"], line["billed_minutes"]) for line in data["charged"]] == \
        [("T-1", "300.00", "90")]
    assert [(line["ticket_id"], line["reason"], line["worked_minutes"]) for line in data["unbilled"]] == \
        [("T-2", "emergency", "30"), ("T-3", "inside_support_hours", "45"), ("T-4", "no_notice", "30")]
    assert data["unbilled"][0]["rules"] == ["billing/emergency-support-is-free"]
    assert data["totals"] == {"charged": [{"amount": "300.00", "currency": "USD"}], "charged_lines": 1,
                              "billed_minutes": "90", "unbilled_minutes": {
                                  "emergency": "30", "inside_support_hours": "45", "no_notice": "30"}}
    october = json.loads(statement(worked, tmp_path, "--month", "2026-10", "--format", "json").stdout)
    assert october["totals"]["charged"] == [{"amount": "200.00", "currency": "USD"}]
    text = statement(worked, tmp_path, "--month", "2026-11").stdout_text
    assert "Total charged: 300.00 USD (1 line, 90 billed minutes)" in text
    assert text in (REPO / "docs" / "billing.md").read_text(encoding="utf-8")  # the guide shows this statement
    rows = list(csv.DictReader(io.StringIO(statement(worked, tmp_path, "--month", "2026-11", "--format",
                                                     "csv").stdout_text)))
    assert [(r["row"], r["ticket_id"], r["reason"], r["amount"]) for r in rows] == [
        ("charged", "T-1", "charged", "300.00"), ("unbilled", "T-2", "emergency", "0.00"),
        ("unbilled", "T-3", "inside_support_hours", "0.00"), ("unbilled", "T-4", "no_notice", "0.00"),
        ("total", "", "", "300.00")]


def test_each_format_gives_the_same_bytes_on_every_run_and_after_a_later_policy_change(worked, tmp_path):
    first = {f: statement(worked, tmp_path, "--month", "2026-11", "--format", f).stdout
             for f in ("text", "csv", "json")}
    for format_, output in first.items():
        assert statement(worked, tmp_path, "--month", "2026-11", "--format", format_).stdout == output, format_
    # The rate of central-standard 2026.1 is changed in place, and the rules: the past month stands.
    policies, rules = shipped_with_rate(tmp_path / "changed", "250.00")
    folders = ("--policies", policies, "--rules", rules)
    body = {"request": TICKETS["T-1"][0], "notice": NOTICE, "entries": TICKETS["T-1"][2]}
    (tmp_path / "charge.json").write_text(json.dumps(body), encoding="utf-8")
    repriced = run_cli("explain", "--format", "json", *folders, tmp_path / "charge.json", cwd=tmp_path)
    assert json.loads(repriced.stdout)["total"]["amount"] == "375.00"  # the change does change new work
    for format_, output in first.items():
        assert statement(worked, tmp_path, "--month", "2026-11", "--format", format_, *folders).stdout == output


def test_a_bad_month_or_customer_is_refused(worked, tmp_path):
    assert statement(worked, tmp_path, "--month", "2026-13").returncode == 2
    other = run_cli("billing", "statement", "--customer", "nowhere", "--month", "2026-11", *worked.cli_args(),
                    cwd=tmp_path)
    assert other.returncode == 1 and "nowhere" in other.stderr_text


def test_explain_shows_each_span_of_a_charge_with_the_notice_and_what_priced_it(tmp_path):
    body = {"request": dict(TICKETS["T-1"][0], ticket_id="T-1001"),
            "notice": dict(NOTICE, given_at="2026-11-28T23:40:00-06:00"),
            "entries": TICKETS["T-1"][2]}
    (tmp_path / "charge.json").write_text(json.dumps(body), encoding="utf-8")
    result = run_cli("explain", tmp_path / "charge.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr_text
    lines = result.stdout_text.splitlines()
    assert lines[1] == "Notice: given Sat 2026-11-28 23:40, accepted"
    spans = [line for line in lines if line.startswith("  w-1") or line.startswith("  --")]
    assert spans == [
        "  w-1  Sat 2026-11-28 23:10 to 2026-11-28 23:40  30 min  weekend  before_notice "
        "(its rate, 200.00 USD/h, not charged)",
        "  -- notice given Sat 2026-11-28 23:40 (accepted) --",
        "  w-1  Sat 2026-11-28 23:40 to 2026-11-29 00:00  20 min  weekend  charged at 200.00 USD/h",
        "  w-1  Sun 2026-11-29 00:00 to 2026-11-29 00:40  40 min  weekend  charged at 200.00 USD/h"]
    assert "central-standard 2026.1; rules: billing/after-hours-work-is-charged (rules/billing.yaml:21); " \
           "terms: after_hours_notice_required, after_hours_rate" in result.stdout_text
    assert lines[-1] == "Total: 200.00 USD"
    assert result.stdout_text in (REPO / "docs" / "billing.md").read_text(encoding="utf-8")  # as the guide shows
