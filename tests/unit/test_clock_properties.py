"""Ticket clocks over thousands of generated event streams, against a brute-force count written here.

The brute force knows nothing of the engine's schedules or clocks: it walks a
ticket minute by minute, asks its own reading of the contract whether support
is open in that minute (Monday to Friday, 07:00 to 19:00 in Chicago, US federal
holidays on their observed dates), and counts the minutes in which the clock
runs. Streams start near daylight-saving changes and holidays, and the plan used
is the shipped central-standard with pending_customer and on_hold pausing the
first response.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportpolicy.engine.clock.evaluate import evaluate_ticket
from supportpolicy.engine.decide.build import load_policy_set
from supportpolicy.engine.resources import shipped

from support import OTHER

CHICAGO = ZoneInfo("America/Chicago")
US = holidays.country_holidays("US", years=range(2026, 2029), observed=True)
PAUSING = ("pending_customer", "on_hold")
STATUSES = ("open", "pending_customer", "on_hold")
ALLOWANCE = 240  # minutes: four business hours for an e-mail
# Around the changes of daylight saving (8 March, 1 November 2026), Thanksgiving and Christmas, New Year.
STARTS = [datetime(2026, 3, 5, 12, tzinfo=timezone.utc), datetime(2026, 10, 29, 20, tzinfo=timezone.utc),
          datetime(2026, 11, 24, 22, tzinfo=timezone.utc), datetime(2026, 12, 23, 15, tzinfo=timezone.utc),
          datetime(2026, 12, 31, 18, tzinfo=timezone.utc), datetime(2026, 6, 3, 10, tzinfo=timezone.utc)]


@pytest.fixture(scope="module")
def pausing_set(tmp_path_factory):
    """The shipped policy, central-standard's first response paused while waiting for the customer or on hold."""
    root = tmp_path_factory.mktemp("pausing")
    policies, rules = (shutil.copytree(shipped(name), root / name, ignore=shutil.ignore_patterns("tests"))
                       for name in ("policies", "rules"))
    plan = policies / "plans" / "central-standard" / "2026.1.yaml"
    text = plan.read_text(encoding="utf-8")
    assert text.count("pause: []") == 1
    plan.write_text(text.replace("pause: []", "pause: [pending_customer, on_hold]"), encoding="utf-8")
    return load_policy_set(policies, rules)


@lru_cache(maxsize=None)
def _open_hour(hour: datetime) -> bool:
    local = hour.astimezone(CHICAGO)
    return local.weekday() < 5 and 7 <= local.hour < 19 and local.date() not in US


def is_open(minute: datetime) -> bool:
    # Chicago's offsets are whole hours and the hours start on the hour: a UTC hour is open or closed throughout.
    return _open_hour(minute.replace(minute=0))


def brute_force(received: datetime, events: list, at: datetime) -> dict:
    """The first response's clock at ``at``, counted minute by minute.

    A minute counts while the clock runs (before the reply and ``at``, in no pausing status) and support is
    open; the target is due at the end of the 240th counted minute; it is breached when the clock still
    runs in a minute at or after that. Past the reply (or ``at``) it is counted on as if it ran unpaused:
    the due time it had then (none while it is paused at ``at``).
    """
    stop = next((t for t, kind in events if kind == "reply"), None)
    end = at if stop is None else stop
    changes = {t: kind for t, kind in events if kind != "reply"}
    paused_at_end = stop is None and [kind for t, kind in events if kind != "reply"][-1:] in ([p] for p in PAUSING)
    status, minute, counted, elapsed, due, breached = "new", received, 0, 0, None, False
    while minute < end or (due is None and not paused_at_end):
        status = changes.get(minute, status)
        live = minute < end
        running = status not in PAUSING if live else True
        if live and running and due is not None:
            breached = True
        if running and is_open(minute):
            elapsed += live
            if due is None:
                counted += 1
                due = minute + timedelta(minutes=1) if counted == ALLOWANCE else None
        minute += timedelta(minutes=1)
    state = "breached" if breached else "met" if stop is not None else "paused" if paused_at_end else "running"
    return {"state": state, "due": None if state == "paused" else due, "elapsed": elapsed * 60}


@st.composite
def tickets(draw, pausing: bool = True):
    received = draw(st.sampled_from(STARTS)) + timedelta(minutes=draw(st.integers(0, 3 * 1440)))
    steps = draw(st.lists(st.integers(1, 16 * 60), max_size=8))
    statuses = STATUSES if pausing else ("open",)
    events, at, replied = [], received, False
    for step in steps:
        at += timedelta(minutes=step)
        kind = draw(st.sampled_from(statuses + ("reply",)))
        if kind == "reply" and replied:
            kind = "open"
        replied = replied or kind == "reply"
        events.append((at, kind))
    read_at = at + timedelta(minutes=draw(st.integers(0, 3 * 1440)))
    return received, events, read_at


def body(received: datetime, events: list, at: datetime) -> dict:
    return {"request": {"customer": "demo-city", "received_at": received.isoformat(), "channel": "email",
                        "requester": {"email": OTHER}, "category": "usage_question"},
            "events": [{"type": "agent_reply", "at": t.isoformat()} if kind == "reply"
                       else {"type": "status", "at": t.isoformat(), "status": kind} for t, kind in events],
            "at": at.isoformat()}


def first_response(policy_set, received, events, at) -> dict:
    return evaluate_ticket(policy_set, body(received, events, at), at).as_json()["targets"]["first_response"]


def _instant(text):
    return None if text is None else datetime.fromisoformat(text)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tickets())
def test_the_clock_agrees_with_a_minute_by_minute_count(pausing_set, ticket):
    received, events, at = ticket
    clock, expected = first_response(pausing_set, *ticket), brute_force(received, events, at)
    assert clock["state"] == expected["state"], (ticket, clock)
    assert _instant(clock["due"]) == expected["due"], (ticket, clock)
    assert clock["elapsed_seconds"] == expected["elapsed"], (ticket, clock)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tickets(pausing=False))
def test_a_ticket_never_paused_is_due_exactly_when_the_intake_decision_said(pausing_set, ticket):
    received, events, at = ticket
    clock = first_response(pausing_set, *ticket)
    decided = pausing_set.decide(body(*ticket)["request"]).outcome.respond_by
    assert _instant(clock["due"]) == decided
    assert clock["paused"] == []
    assert (clock["state"] == "breached") == (decided < min([t for t, k in events if k == "reply"] + [at]))


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tickets())
def test_pausing_never_makes_a_ticket_due_earlier(pausing_set, ticket):
    received, events, at = ticket
    unpaused = [(t, "open" if kind in PAUSING else kind) for t, kind in events]
    paused_clock, plain_clock = first_response(pausing_set, *ticket), first_response(pausing_set, received, unpaused,
                                                                                    at)
    plain_due = _instant(plain_clock["due"])
    assert plain_due == pausing_set.decide(body(*ticket)["request"]).outcome.respond_by
    if paused_clock["due"] is not None:
        assert _instant(paused_clock["due"]) >= plain_due
    assert paused_clock["elapsed_seconds"] <= plain_clock["elapsed_seconds"]
    if plain_clock["state"] != "breached":
        assert paused_clock["state"] != "breached"
