"""What the load test sends, and how it tells a decision from anything else.

The mix is what a ticketing system for the shipped demo customer would send
over two years: every channel and category, designated contacts (also spelled
in another case) and other requesters, mostly in support hours but also
nights, weekends, the US federal holidays the plan closes on, the opening and
closing instants and both daylight-saving changes, written with Chicago's
offset, in UTC or from other zones, with summaries from none to a few
thousand characters (some not ASCII). It is built from a fixed seed, so every
run sends the same requests in the same order.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import orjson

CUSTOMER = "demo-city"
CHICAGO = ZoneInfo("America/Chicago")
CHANNELS = ("phone", "voicemail", "email", "portal")
CATEGORIES = ("website_down", "application_malfunction", "application_error", "usage_question",
              "suggestion", "additional_services", "other")
DESIGNATED = ("it.director@demo-city.gov", "WebMaster@Demo-City.gov")  # matched case-insensitively
OTHERS = ("resident@example.org", "clerk@demo-city.gov")
# Zones other than the schedule's that callers write times in: the same instant, another offset.
ELSEWHERE = (timezone.utc, ZoneInfo("America/Los_Angeles"), ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Tokyo"))

# Local Chicago times the calendar is hardest on; each is sent with several channels, categories and
# requesters. Daylight saving 2026: March 8 02:00 -> 03:00, November 1 02:00 -> 01:00 (01:30 happens twice).
SPECIAL = (
    ("2026-01-01T10:00:00", 0),  # New Year's Day (a Thursday)
    ("2026-07-03T12:00:00", 0),  # Independence Day observed (July 4 is a Saturday)
    ("2026-11-26T11:00:00", 0),  # Thanksgiving
    ("2026-12-25T09:00:00", 0),  # Christmas, a Friday
    ("2027-01-18T08:00:00", 0),  # Martin Luther King Jr. Day 2027
    ("2026-03-06T18:00:00", 0),  # the Friday before spring forward, an hour before closing
    ("2026-03-08T01:30:00", 0),  # spring forward night, standard time
    ("2026-03-08T03:30:00", 0),  # the same night, daylight time
    ("2026-03-09T07:00:00", 0),  # the Monday after, the opening instant in daylight time
    ("2026-10-30T18:30:00", 0),  # the Friday before fall back
    ("2026-11-01T01:30:00", 0),  # fall back: 01:30 daylight time ...
    ("2026-11-01T01:30:00", 1),  # ... and 01:30 standard time, an hour later
    ("2026-11-02T06:59:59", 0),  # a second before Monday's opening
    ("2026-11-24T07:00:00", 0),  # the opening instant
    ("2026-11-23T18:59:59", 0),  # the last second of a day's hours
    ("2026-11-27T19:00:00", 0),  # the closing instant (closed)
    ("2026-11-28T23:00:00", 0),  # Saturday night
    ("2026-11-29T09:00:00", 0),  # Sunday morning
)
SUMMARIES = ("", "The permit search page shows an error after login.",
             "Le formulaire de paiement renvoie une erreur 500 — merci de vérifier. 🙏",
             "Steps to reproduce: open the council minutes archive, pick 2025, click page 3. " * 25)


def build(size: int = 2_240, seed: int = 20261126) -> list[dict]:
    """``size`` request templates (no ticket_id: each request gets its own); every channel, category
    and requester pairing appears equally often."""
    rng = random.Random(seed)
    pairings = [(c, k, e) for c in CHANNELS for k in CATEGORIES for e in DESIGNATED + OTHERS]
    templates = []
    for n in range(size):
        channel, category, email = pairings[n % len(pairings)]
        body = {"customer": CUSTOMER, "received_at": _instant(rng, n), "channel": channel,
                "requester": {"email": email}, "category": category}
        summary = SUMMARIES[rng.randrange(len(SUMMARIES))]
        if summary:
            body["summary"] = summary
        templates.append(body)
    rng.shuffle(templates)  # so consecutive requests differ in every field
    return templates


def _instant(rng: random.Random, n: int) -> str:
    """One in four requests at a special time, the rest spread over 2026 and 2027, 70% on weekdays in
    hours as real traffic is; written in Chicago time, in UTC or from elsewhere."""
    if n % 4 == 0:
        text, fold = SPECIAL[(n // 4) % len(SPECIAL)]
        local = datetime.fromisoformat(text).replace(tzinfo=CHICAGO, fold=fold)
    else:
        day = datetime(2026, 1, 1, tzinfo=CHICAGO) + timedelta(days=rng.randrange(730))
        if rng.random() < 0.7:
            while day.weekday() >= 5:
                day += timedelta(days=1)
            seconds = rng.randrange(7 * 3600, 19 * 3600)
        else:
            seconds = rng.randrange(24 * 3600)
        # Wall-clock arithmetic: 2026-03-08 02:30 does not exist and is read as 03:30 daylight time.
        local = day + timedelta(seconds=seconds)
    if n % 5 == 1:
        return local.astimezone(ELSEWHERE[rng.randrange(len(ELSEWHERE))]).isoformat().replace("+00:00", "Z")
    return local.astimezone(CHICAGO).isoformat()


def encode(template: dict, ticket_id: str) -> bytes:
    return orjson.dumps(dict(template, ticket_id=ticket_id))


# -- the answer ----------------------------------------------------------------------------------

# Every field docs/decision-api.md promises in a 200 answer.
FIELDS = frozenset(("decision_id", "ticket_id", "customer", "policy", "received_at", "local_time",
                    "in_business_hours", "holiday", "emergency", "designated_contact", "emergency_support",
                    "billable", "hourly_rate", "notice_required", "respond_by", "route", "escalation", "trace"))


def check(status: int, data: bytes, ticket_id: str):
    """(error kind or None, the decision or None) for one answer to the request ``ticket_id``."""
    if status != 200:
        return f"HTTP {status}", None
    try:
        decision = orjson.loads(data)
    except orjson.JSONDecodeError:
        return "200 with a body that is not JSON", None
    if not isinstance(decision, dict) or not FIELDS <= decision.keys():
        return "200 with a body that is not a decision", None
    trace = decision["trace"]
    if (not isinstance(decision["decision_id"], str) or not decision["decision_id"]
            or not isinstance(decision["billable"], bool) or not isinstance(decision["policy"], dict)
            or not isinstance(decision["route"], dict) or not isinstance(trace, list) or not trace
            or not all(isinstance(step, dict) and {"rule", "file", "line"} <= step.keys() for step in trace)):
        return "200 with a malformed decision", None
    if decision["ticket_id"] != ticket_id or decision["customer"] != CUSTOMER:
        return "a decision for another request", None  # answers crossed between connections
    return None, decision


def signature(decision: dict) -> bytes:
    """The decision without what differs between two identical requests: its id and the ticket's."""
    return orjson.dumps({k: v for k, v in decision.items() if k not in ("decision_id", "ticket_id")})


def table_row(decision: dict) -> int:
    """Which row of docs/decision-api.md's table decided (to show the mix reaches all five)."""
    if decision["emergency_support"]:
        return 1
    if decision["in_business_hours"]:  # answered as it arrives: compared as instants, the zones differ
        answered_at = datetime.fromisoformat(decision["respond_by"])
        return 2 if answered_at == datetime.fromisoformat(decision["received_at"]) else 3
    return 4 if decision["billable"] else 5
