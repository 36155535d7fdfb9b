"""A ticket's clocks under the shipped plans' clock terms, case by case: what a support desk reads of them."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from supportpolicy.engine.clock.evaluate import evaluate_ticket
from supportpolicy.engine.decide.build import load_policy_set
from supportpolicy.engine.errors import InvalidRequest, UnknownCustomer
from supportpolicy.engine.resources import shipped

from support import make_request

NOW = datetime(2026, 12, 2, tzinfo=timezone.utc)
# Monday 23 November 2026, 10:00 in Chicago: an e-mail is due in four business hours, at 14:00.
EMAIL = make_request("2026-11-23T10:00:00-06:00", "email", "application_error")


def harbor(received_at: str, severity: int, email: str = "cio@harbor-county.gov", category: str = "outage") -> dict:
    return {"customer": "harbor-county", "received_at": received_at, "channel": "email",
            "requester": {"email": email}, "category": category, "attributes": {"severity": severity}}


def status(at: str, name: str) -> dict:
    return {"type": "status", "at": at, "status": name}


def reply(at: str, public: bool = True) -> dict:
    return {"type": "agent_reply", "at": at, "public": public}


def clocks(policy_set, request: dict, events: list, at: str) -> dict:
    return evaluate_ticket(policy_set, {"request": request, "events": events, "at": at}, NOW).as_json()


def refusal(policy_set, request: dict, events: list, at: str | None = None) -> list:
    body = {"request": request, "events": events, **({"at": at} if at else {})}
    with pytest.raises(InvalidRequest) as caught:
        evaluate_ticket(policy_set, body, NOW)
    return [(e.pointer, e.message) for e in caught.value.errors]


def test_a_reply_in_time_meets_the_first_response_and_the_due_time_is_the_decisions(policy_set):
    answer = clocks(policy_set, EMAIL, [status("2026-11-23T10:05:00-06:00", "open"),
                                        reply("2026-11-23T11:00:00-06:00")], "2026-11-23T12:00:00-06:00")
    first = answer["targets"]["first_response"]
    assert first["state"] == "met" and first["due"] == "2026-11-23T14:00:00-06:00"
    assert first["stopped_at"] == "2026-11-23T11:00:00-06:00"
    assert (first["elapsed_seconds"], first["remaining_seconds"], first["target_seconds"]) == (3600, 10800, 14400)
    assert first["rule"] == "response-deadline/business-hours-channel-target" and first["schedule"] == "support_hours"
    assert answer["status"] == "open" and answer["policy"]["version"] == "2026.1"
    assert answer["escalation"]["level"] == 0 and answer["escalation"]["next"] is None
    assert answer["clocks"]["file"] == "policies/plans/central-standard/2026.1.yaml"


def test_an_internal_note_answers_nobody_and_the_warnings_fire_at_their_shares(policy_set):
    first = clocks(policy_set, EMAIL, [reply("2026-11-23T11:00:00-06:00", public=False)],
                   "2026-11-23T13:40:00-06:00")["targets"]["first_response"]
    assert first["state"] == "running" and first["due"] == "2026-11-23T14:00:00-06:00"
    assert [(w["percent"], w["team"], w["fires_at"], w["fired"]) for w in first["warnings"]] == [
        (75, "support", "2026-11-23T13:00:00-06:00", True), (90, "liaison", "2026-11-23T13:36:00-06:00", True)]


def test_an_unanswered_ticket_breaches_and_climbs_the_ladder_until_someone_acknowledges(policy_set):
    late = clocks(policy_set, EMAIL, [], "2026-11-23T15:00:00-06:00")
    first = late["targets"]["first_response"]
    assert first["state"] == "breached" and first["breached_at"] == "2026-11-23T14:00:00-06:00"
    ladder = late["escalation"]
    # The first level is the decision's escalation: an application error goes to the technical team's tracker.
    assert (ladder["level"], ladder["team"], ladder["via"], ladder["reached_at"]) == (
        1, "technical", "issue_tracker", "2026-11-23T14:00:00-06:00")
    assert ladder["next"] == {"level": 2, "round": 1, "team": "liaison", "via": None,
                              "fires_at": "2026-11-23T16:00:00-06:00", "fired": False}
    acknowledged = clocks(policy_set, EMAIL, [{"type": "acknowledged", "at": "2026-11-23T14:30:00-06:00"}],
                          "2026-11-23T17:00:00-06:00")["escalation"]
    assert acknowledged["level"] == 1 and acknowledged["next"] is None
    assert acknowledged["acknowledged_at"] == "2026-11-23T14:30:00-06:00"


def test_business_time_skips_the_night_the_weekend_and_the_change_of_daylight_saving(policy_set):
    # Friday 30 October 2026, 17:00 CDT: two business hours that day, two on Monday 2 November, after the clocks
    # went back: due at 09:00 CST.
    friday = make_request("2026-10-30T17:00:00-05:00", "email")
    first = clocks(policy_set, friday, [], "2026-11-02T08:00:00-06:00")["targets"]["first_response"]
    assert first["due"] == "2026-11-02T09:00:00-06:00" and first["state"] == "running"
    assert (first["elapsed_seconds"], first["remaining_seconds"]) == (3 * 3600, 3600)


def test_a_pause_holds_the_next_update_for_exactly_as_long_as_it_lasts(policy_set):
    # Severity 1 from a designated contact: updates every hour, around the clock; waiting for the customer
    # from 10:20 to 10:50 moves the due time from 11:00 to 11:30.
    ticket = harbor("2026-11-23T10:00:00-08:00", 1)
    events = [status("2026-11-23T10:05:00-08:00", "open"), status("2026-11-23T10:20:00-08:00", "pending_customer"),
              status("2026-11-23T10:50:00-08:00", "open")]
    update = clocks(policy_set, ticket, events, "2026-11-23T10:55:00-08:00")["targets"]["next_update"]
    assert update["state"] == "running" and update["due"] == "2026-11-23T11:30:00-08:00"
    assert update["paused"] == [{"from": "2026-11-23T10:20:00-08:00", "to": "2026-11-23T10:50:00-08:00"}]
    waiting = clocks(policy_set, ticket, events[:2], "2026-11-23T12:00:00-08:00")["targets"]["next_update"]
    assert waiting["state"] == "paused" and waiting["due"] is None and waiting["remaining_seconds"] == 40 * 60
    assert waiting["paused"] == [{"from": "2026-11-23T10:20:00-08:00", "to": None}]


def test_the_stretches_a_clock_ran_in_leave_out_its_pauses_and_name_their_cycle(policy_set):
    # What the explorer draws: the clock ran 10:00 to 10:20 and 10:50 to 11:10 (the reply), then a new cycle.
    ticket = harbor("2026-11-23T10:00:00-08:00", 1)
    events = [status("2026-11-23T10:05:00-08:00", "open"), status("2026-11-23T10:20:00-08:00", "pending_customer"),
              status("2026-11-23T10:50:00-08:00", "open"), reply("2026-11-23T11:10:00-08:00")]
    update = clocks(policy_set, ticket, events, "2026-11-23T11:30:00-08:00")["targets"]["next_update"]
    assert update["ran"] == [{"cycle": 1, "from": "2026-11-23T10:00:00-08:00", "to": "2026-11-23T10:20:00-08:00"},
                             {"cycle": 1, "from": "2026-11-23T10:50:00-08:00", "to": "2026-11-23T11:10:00-08:00"},
                             {"cycle": 2, "from": "2026-11-23T11:10:00-08:00", "to": "2026-11-23T11:30:00-08:00"}]
    first = clocks(policy_set, ticket, events, "2026-11-23T11:30:00-08:00")["targets"]["first_response"]
    # The plan's first response does not pause while the customer is asked: it ran until the reply met it.
    assert first["paused"] == [] and first["stopped_at"] == "2026-11-23T11:10:00-08:00"
    assert first["ran"] == [{"cycle": 1, "from": "2026-11-23T10:00:00-08:00", "to": "2026-11-23T11:10:00-08:00"}]
    # Never paused, never stopped: one stretch from the start to the reading, the time it counted.
    plain = clocks(policy_set, EMAIL, [], "2026-11-23T12:00:00-06:00")["targets"]["first_response"]
    assert plain["ran"] == [{"cycle": 1, "from": "2026-11-23T10:00:00-06:00", "to": "2026-11-23T12:00:00-06:00"}]
    assert plain["elapsed_seconds"] == 7200


def test_each_agent_reply_starts_the_next_update_again(policy_set):
    ticket = harbor("2026-11-23T10:00:00-08:00", 1)
    update = clocks(policy_set, ticket, [reply("2026-11-23T10:40:00-08:00"), reply("2026-11-23T11:30:00-08:00")],
                    "2026-11-23T13:00:00-08:00")["targets"]["next_update"]
    assert update["cycles"] == 3 and update["started_at"] == "2026-11-23T11:30:00-08:00"
    assert update["state"] == "breached" and update["breached_at"] == "2026-11-23T12:30:00-08:00"
    assert update["breaches"] == ["2026-11-23T12:30:00-08:00"]


def test_solving_stops_every_clock_and_a_reopen_restarts_the_next_update_but_keeps_the_first_response(policy_set):
    ticket = harbor("2026-11-23T10:00:00-08:00", 1)
    events = [reply("2026-11-23T10:10:00-08:00"), status("2026-11-23T10:30:00-08:00", "solved")]
    solved = clocks(policy_set, ticket, events, "2026-11-23T14:00:00-08:00")
    assert {name: t["state"] for name, t in solved["targets"].items()} == {"first_response": "met",
                                                                          "next_update": "met"}
    assert solved["status"] == "solved" and solved["escalation"]["next"] is None
    reopened = clocks(policy_set, ticket, events + [status("2026-11-23T14:00:00-08:00", "open")],
                      "2026-11-23T14:10:00-08:00")["targets"]
    assert reopened["first_response"]["state"] == "met"
    assert reopened["next_update"]["state"] == "running"
    assert reopened["next_update"]["due"] == "2026-11-23T15:00:00-08:00"


def test_a_severity_raised_counts_the_first_response_from_the_start_and_the_update_from_the_change(policy_set):
    # Received as severity 4 (two business days), raised to 1 an hour later: 30 minutes were owed from the
    # start, so it breached at 10:30; the hourly update runs from the change.
    ticket = harbor("2026-11-23T10:00:00-08:00", 4)
    answer = clocks(policy_set, ticket, [{"type": "attributes", "at": "2026-11-23T11:00:00-08:00",
                                          "attributes": {"severity": 1}}], "2026-11-23T11:10:00-08:00")
    first, update = answer["targets"]["first_response"], answer["targets"]["next_update"]
    assert first["state"] == "breached" and first["breached_at"] == "2026-11-23T10:30:00-08:00"
    assert first["rule"] == "premium-targets/severity-1-designated"
    assert update["started_at"] == "2026-11-23T11:00:00-08:00" and update["due"] == "2026-11-23T12:00:00-08:00"
    assert answer["attributes"] == {"severity": 1}


def test_the_premium_ladder_pages_the_category_then_the_manager_unless_someone_acknowledges(policy_set):
    ticket = harbor("2026-11-23T10:00:00-08:00", 1)  # first response due 10:30
    ladder = clocks(policy_set, ticket, [], "2026-11-23T10:20:00-08:00")["escalation"]
    assert (ladder["level"], ladder["team"], ladder["via"]) == (1, "engineering", "pager")
    assert ladder["next"]["team"] == "account_manager" and ladder["next"]["fires_at"] == "2026-11-23T10:30:00-08:00"
    later = clocks(policy_set, ticket, [], "2026-11-23T11:00:00-08:00")["escalation"]
    assert [(lv["level"], lv["fires_at"], lv["fired"]) for lv in later["levels"]] == [
        (1, "2026-11-23T10:15:00-08:00", True), (2, "2026-11-23T10:45:00-08:00", True),
        (3, "2026-11-23T10:30:00-08:00", True)]
    acknowledged = clocks(policy_set, ticket, [{"type": "acknowledged", "at": "2026-11-23T10:16:00-08:00"}],
                          "2026-11-23T11:00:00-08:00")["escalation"]
    assert [lv["fired"] for lv in acknowledged["levels"]] == [True, False, True]


def test_a_clock_that_starts_with_a_status_waits_for_it(tmp_path):
    policy_set = _variant(tmp_path, "central-standard", "      start: received\n", "      start: {status: open}\n")
    events = [status("2026-11-23T11:00:00-06:00", "open")]
    waiting = clocks(policy_set, EMAIL, [], "2026-11-23T10:30:00-06:00")["targets"]["first_response"]
    assert waiting["state"] == "not_started" and waiting["due"] is None
    started = clocks(policy_set, EMAIL, events, "2026-11-23T11:30:00-06:00")["targets"]["first_response"]
    assert started["started_at"] == "2026-11-23T11:00:00-06:00" and started["due"] == "2026-11-23T15:00:00-06:00"


@pytest.mark.parametrize("events,at,expected", [
    ([status("2026-11-23T11:00:00-06:00", "open"), status("2026-11-23T10:30:00-06:00", "on_hold")], None,
     [("/events/1/at", "is before the event before it (/events/0); send the events oldest first")]),
    ([status("2026-11-23T09:00:00-06:00", "open")], None,
     [("/events/0/at", "is before the ticket's received_at; an event happens after the ticket is received")]),
    ([status("2026-11-23T11:00:00-06:00", "closed")], None,
     [("/events/0/status", "is not a status of plan central-standard 2026.1; its statuses are: new, open, "
                           "pending_customer, on_hold, solved")]),
    ([status("2026-11-23T11:00:00-06:00", "solved"), reply("2026-11-23T11:30:00-06:00")], None,
     [("/events/1", "is a reply on a ticket solved by /events/0; send the status change that reopened it first")]),
    ([reply("2026-11-23T13:00:00-06:00")], "2026-11-23T12:00:00-06:00",
     [("/events/0/at", "is after the time the clocks are read at (2026-11-23T18:00:00+00:00); send `at`, or only "
                       "past events")]),
    ([{"type": "status", "at": "2026-11-23T11:00:00-06:00"}], None, [("/events/0/status", "is required")]),
    ([{"type": "escalated", "at": "2026-11-23T11:00:00-06:00"}], None,
     [("/events/0/type", "must be one of: status, agent_reply, customer_reply, acknowledged, attributes")]),
    ([{"type": "agent_reply", "at": "2026-11-23 11:00"}], None,
     [("/events/0/at", "must be an RFC 3339 date-time with an offset, from 2000 to 2199, e.g. "
                       "2026-11-27T09:30:00-06:00")]),
])
def test_a_stream_the_clocks_cannot_run_on_is_refused_naming_the_event(policy_set, events, at, expected):
    assert refusal(policy_set, EMAIL, events, at or "2026-11-24T12:00:00-06:00") == expected


def test_the_decision_requests_own_errors_are_named_under_request(policy_set):
    assert refusal(policy_set, dict(EMAIL, channel="fax"), [])[0][0] == "/request/channel"
    assert refusal(policy_set, harbor("2026-11-23T10:00:00-08:00", 9), [])[0][0] == "/request/attributes/severity"
    change = {"type": "attributes", "at": "2026-11-23T11:00:00-08:00", "attributes": {"severity": 0}}
    assert refusal(policy_set, harbor("2026-11-23T10:00:00-08:00", 2), [change])[0][0] == \
        "/events/0/attributes/severity"
    with pytest.raises(UnknownCustomer) as caught:
        evaluate_ticket(policy_set, {"request": dict(EMAIL, customer="nobody"), "events": []}, NOW)
    assert [e.pointer for e in caught.value.errors] == ["/request/customer"]


def test_a_plan_without_clock_terms_is_named(tmp_path):
    policy_set = _variant(tmp_path, "central-standard", None, None)
    assert refusal(policy_set, EMAIL, []) == [
        ("/request/customer", "has plan central-standard 2026.1, which has no clock terms (clocks)")]


def test_at_defaults_to_now_and_may_not_come_before_received_at(policy_set):
    answer = evaluate_ticket(policy_set, {"request": EMAIL, "events": [reply("2026-11-23T11:00:00-06:00")]}, NOW)
    assert answer.as_json()["at"] == "2026-12-01T18:00:00-06:00"
    assert refusal(policy_set, EMAIL, [], "2026-11-23T09:00:00-06:00") == [("/at", "is before received_at")]


def _variant(tmp_path, plan: str, old: str | None, new: str | None):
    """The shipped policy with one change to a plan file (old and new None: its clocks taken out)."""
    policies, rules = (shutil.copytree(shipped(name), tmp_path / name, ignore=shutil.ignore_patterns("tests"))
                       for name in ("policies", "rules"))
    path = policies / "plans" / plan / "2026.1.yaml"
    text = path.read_text(encoding="utf-8")
    if old is None:
        start, end = text.index("\nclocks:\n"), text.index("\nafter_hours:\n")
        text = text[:start] + text[end:]
    else:
        assert text.count(old) == 1
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return load_policy_set(policies, rules)

