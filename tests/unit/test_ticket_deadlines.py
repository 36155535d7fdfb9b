"""A ticket's deadlines as the queue keeps them, and the month an SLA report covers, from the engine alone."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from supportpolicy.engine.clock.deadlines import BREACH, WARNING, Deadlines, Mark, deadlines
from supportpolicy.engine.clock.evaluate import evaluate_ticket
from supportpolicy.engine.tools.sla_report import Month

from support import make_request

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def evaluated(policy_set, events, at="2026-11-23T12:00:00-06:00"):
    body = {"request": make_request("2026-11-23T10:00:00-06:00", "email", "application_error"), "events": events,
            "at": at}
    return evaluate_ticket(policy_set, body, NOW)


def test_a_running_clock_gives_its_first_warning_and_its_breach(policy_set):
    found = deadlines(evaluated(policy_set, [{"type": "status", "at": "2026-11-23T10:05:00-06:00",
                                              "status": "open"}]).targets)
    assert found.state == "running"
    assert found.warning.at == datetime(2026, 11, 23, 19, tzinfo=timezone.utc)  # 75% of 4 business hours
    assert found.breach.at == datetime(2026, 11, 23, 20, tzinfo=timezone.utc)
    assert found.next == (WARNING, found.warning)
    assert [t.target for t in found.targets] == ["first_response"]


def test_a_breached_clock_keeps_its_breach_and_a_met_one_has_none(policy_set):
    late = deadlines(evaluated(policy_set, [], at="2026-11-23T15:00:00-06:00").targets)
    assert late.state == "breached" and late.breach.at == datetime(2026, 11, 23, 20, tzinfo=timezone.utc)
    met = deadlines(evaluated(policy_set, [{"type": "agent_reply", "at": "2026-11-23T11:00:00-06:00"}]).targets)
    assert (met.state, met.warning, met.breach, met.next, met.targets) == ("met", None, None, None, ())


def test_a_warning_at_the_breach_instant_comes_first():
    at = datetime(2026, 11, 23, 20, tzinfo=timezone.utc)
    both = Deadlines("running", Mark("a", at), Mark("a", at))
    assert both.next[0] == WARNING
    assert Deadlines("running", Mark("a", at + timedelta(seconds=1)), Mark("a", at)).next[0] == BREACH


def test_a_month_runs_from_local_midnight_to_local_midnight_across_a_change_of_offset():
    november = Month("2026-11", ZoneInfo("America/Chicago"))  # DST ends on November 1st
    assert november.start.isoformat() == "2026-11-01T00:00:00-05:00"
    assert november.end.isoformat() == "2026-12-01T00:00:00-06:00"
    assert Month("2026-12", ZoneInfo("UTC")).end == datetime(2027, 1, 1, tzinfo=ZoneInfo("UTC"))
    assert not november.holds(datetime(2026, 11, 1, 4, 59, tzinfo=timezone.utc))
    assert november.holds(datetime(2026, 11, 1, 5, tzinfo=timezone.utc))
