"""The policy explorer's page and the endpoints only it uses, through the Flask test client.

The page must work offline under its Content-Security-Policy: every file it loads comes from this
server, nothing runs inline, and every file ships directly in server/explorer/ (setup.cfg packages
``explorer/*``, which takes no subfolders). The coverage and customers endpoints are checked here
against the contract's calendar: support hours 07:00 to 19:00 America/Chicago on weekdays, the US
federal holidays closed, the contract in effect from 2026-01-01.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import supportpolicy.server as server

EXPLORER = Path(server.__file__).parent / "explorer"
CHICAGO = ZoneInfo("America/Chicago")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# The only absolute URL the script may hold: the SVG namespace, a name that is never fetched.
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


class Page(HTMLParser):
    """What the page refers to and anything the CSP would block: inline scripts, styles, handlers."""

    def __init__(self):
        super().__init__()
        self.references, self.inline = [], []
        self._tag = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self._tag = tag
        for name in ("src", "href"):
            if attributes.get(name) is not None:
                self.references.append(attributes[name])
        for name in attributes:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script" and not attributes.get("src"):
            self.inline.append("<script> without src")

    def handle_data(self, data):
        if self._tag == "script" and data.strip():
            self.inline.append("<script> with a body")

    def handle_endtag(self, tag):
        self._tag = None


def parsed_page(client) -> Page:
    page = Page()
    page.feed(client.get("/").get_data(as_text=True))
    return page


def week(client, week_of: str, customer: str = "demo-city"):
    return client.get(f"/v1/customers/{customer}/coverage?week_of={week_of}")


def hours(period: dict) -> float:
    return (datetime.fromisoformat(period["to"]) - datetime.fromisoformat(period["from"])).total_seconds() / 3600


def support(day: dict) -> list:
    return [(p["from"][11:], p["to"][11:]) for p in day["periods"] if p["coverage"] == "support_hours"]


# ---- the page -------------------------------------------------------------------------

def test_the_page_is_html_served_with_the_content_security_policy(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"):
        assert directive in policy
    body = response.get_data(as_text=True)
    assert "<h1>Support policy explorer</h1>" in body


def test_nothing_on_the_page_is_inline_so_the_policy_blocks_nothing(client):
    assert parsed_page(client).inline == []


def test_every_file_the_page_refers_to_is_served_here_under_the_same_policy(client):
    references = parsed_page(client).references
    assert {"/explorer/explorer.js", "/explorer/timeline.js", "/explorer/explorer.css"} <= set(references)
    for reference in references:
        assert not re.match(r"^([a-z][a-z0-9+.-]*:|//)", reference, re.I), f"{reference} is not on this server"
        response = client.get(reference)
        assert response.status_code == 200, reference
        assert "default-src 'self'" in response.headers["Content-Security-Policy"], reference


def test_the_script_and_style_fetch_nothing_from_elsewhere():
    script = (EXPLORER / "explorer.js").read_text(encoding="utf-8")
    style = (EXPLORER / "explorer.css").read_text(encoding="utf-8")
    assert re.findall(r"(?:https?:)?//[\w.-]+\.\w+[^\s\"'`]*", script.replace(SVG_NAMESPACE, "")) == []
    assert "@import" not in style and "url(" not in style and "//" not in style.replace("/*", "").replace("*/", "")
    # Every path the script names (it fetches only through api(), with paths) is in this server's API.
    assert script.count("fetch(") == 1
    assert set(re.findall(r"(?:`|api\(\")(/[\w-]+)/", script)) == {"/v1"}
    # The timelines' script asks through explorer.js's api() alone.
    timelines = (EXPLORER / "timeline.js").read_text(encoding="utf-8")
    assert re.findall(r"(?:https?:)?//[\w.-]+\.\w+[^\s\"'`]*", timelines) == []
    assert "fetch(" not in timelines and "XMLHttpRequest" not in timelines
    assert set(re.findall(r"(?:`|api\(\")(/[\w-]+)/", timelines)) == {"/v1"}


def test_every_explorer_file_is_directly_in_the_folder_the_wheel_ships():
    assert [p.name for p in EXPLORER.iterdir() if p.is_dir() and p.name != "__pycache__"] == []
    assert {"index.html", "explorer.js", "timeline.js", "explorer.css", "favicon.svg"} <= \
        {p.name for p in EXPLORER.iterdir()}


# ---- GET /v1/customers ------------------------------------------------------------------

def test_customers_lists_demo_city_with_its_zone_and_versions(client):
    response = client.get("/v1/customers")
    assert response.status_code == 200
    (demo,) = [c for c in response.get_json()["customers"] if c["id"] == "demo-city"]
    assert demo["name"] == "City of Demo" and demo["time_zone"] == "America/Chicago"
    (version,) = demo["versions"]
    assert version["path"] == "policies/customers/demo-city.yaml" and version["effective_from"] == "2026-01-01"
    assert version["plan"]["id"] == "central-standard"


# ---- GET /v1/customers/<id>/coverage ----------------------------------------------------

def test_thanksgiving_2026_is_named_and_has_no_support_hours(client):
    response = week(client, "2026-11-26")
    assert response.status_code == 200
    document = response.get_json()
    assert (document["from"], document["to"]) == ("2026-11-23T00:00:00-06:00", "2026-11-30T00:00:00-06:00")
    assert [d["weekday"] for d in document["days"]] == list(WEEKDAYS)
    days = {d["date"]: d for d in document["days"]}
    thanksgiving = days["2026-11-26"]
    assert thanksgiving["holiday"] == "Thanksgiving Day"
    assert [(p["coverage"], hours(p)) for p in thanksgiving["periods"]] == [("emergency_only", 24)]
    for other in ("2026-11-23", "2026-11-24", "2026-11-25", "2026-11-27"):
        assert days[other]["holiday"] is None
        assert support(days[other]) == [("07:00:00-06:00", "19:00:00-06:00")]
    assert support(days["2026-11-28"]) == support(days["2026-11-29"]) == []
    assert document["upcoming_holidays"][:2] == [
        {"date": "2026-11-26", "name": "Thanksgiving Day", "actual_date": "2026-11-26"},
        {"date": "2026-12-25", "name": "Christmas Day", "actual_date": "2026-12-25"}]
    assert document["after_hours"] == {"rate": {"amount": "200.00", "currency": "USD"}, "notice_required": True}


def test_every_day_is_covered_without_gap_or_overlap(client):
    days = week(client, "2026-11-26").get_json()["days"]
    periods = [p for d in days for p in d["periods"]]
    assert all(a["to"] == b["from"] for a, b in zip(periods, periods[1:]))
    assert sum(hours(p) for p in periods) == 7 * 24


@pytest.mark.parametrize("week_of,sunday,length,offsets", [
    ("2026-11-01", "2026-11-01", 25, ("-05:00", "-06:00")),   # clocks go back on Sunday 1 November
    ("2026-03-08", "2026-03-08", 23, ("-06:00", "-05:00")),   # and forward on Sunday 8 March
])
def test_a_daylight_saving_week_has_the_offset_of_each_day(client, week_of, sunday, length, offsets):
    document = week(client, week_of).get_json()
    before, after = offsets
    assert document["from"].endswith(before) and document["to"].endswith(after)
    days = {d["date"]: d for d in document["days"]}
    assert sum(hours(p) for p in days[sunday]["periods"]) == length
    assert days[sunday]["periods"][0]["from"].endswith(before)
    assert days[sunday]["periods"][-1]["to"].endswith(after)
    monday = document["days"][0]
    assert support(monday) == [(f"07:00:00{before}", f"19:00:00{before}")]
    following = week(client, (date.fromisoformat(sunday) + timedelta(days=1)).isoformat()).get_json()
    assert support(following["days"][0]) == [(f"07:00:00{after}", f"19:00:00{after}")]


def test_the_week_the_contract_takes_effect_shows_no_contract_before_it(client):
    # Monday 29 December 2025 to Sunday 4 January 2026; the contract starts on New Year's Day.
    days = {d["date"]: d for d in week(client, "2025-12-31").get_json()["days"]}
    for before in ("2025-12-29", "2025-12-30", "2025-12-31"):
        assert days[before]["contract"] is None and days[before]["plan"] is None
        assert [p["coverage"] for p in days[before]["periods"]] == ["no_contract"]
    assert days["2026-01-01"]["contract"] == "2026.1" and days["2026-01-01"]["holiday"] == "New Year's Day"
    assert support(days["2026-01-02"]) == [("07:00:00-06:00", "19:00:00-06:00")]


def test_a_week_wholly_before_the_contract_has_no_terms(client):
    document = week(client, "2025-06-04").get_json()
    assert {p["coverage"] for d in document["days"] for p in d["periods"]} == {"no_contract"}
    assert document["emergency_support"] is None and document["after_hours"] is None
    assert document["name"] == "City of Demo"  # the customer exists, though no version is in effect yet
    # The contract's holidays are still listed from the day it takes effect.
    assert document["upcoming_holidays"][0] == {"date": "2026-01-01", "name": "New Year's Day",
                                                "actual_date": "2026-01-01"}


def test_without_week_of_the_week_is_this_one_in_the_schedules_zone(client):
    before = datetime.now(CHICAGO).date()
    document = client.get("/v1/customers/demo-city/coverage").get_json()
    after = datetime.now(CHICAGO).date()
    mondays = {(d - timedelta(days=d.weekday())).isoformat() for d in (before, after)}
    assert document["days"][0]["date"] in mondays


@pytest.mark.parametrize("value", ["2026-13-01", "26-11-2026", "2026-11-26T00:00", "1999-12-31", "tomorrow", ""])
def test_a_bad_week_of_is_a_422_naming_the_parameter(client, value):
    response = week(client, value)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "/problems/invalid-request" and "week_of" in problem["detail"]
    assert [e["parameter"] for e in problem["errors"]] == ["week_of"]


@pytest.mark.parametrize("value", ["2150-12-25", "2100-12-27", "2101-01-01", "2199-12-31"])
def test_a_week_the_holiday_calendar_does_not_know_is_a_422_naming_week_of(client, value):
    # The week of Monday 2100-12-27 ends in 2101, past the last year of the US calendar (2100).
    response = week(client, value)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "/problems/invalid-request" and "week_of" in problem["detail"]
    assert problem["errors"] == [{"parameter": "week_of", "detail": "is outside the years the contract's holiday "
                                                                    "calendar knows (US: 1777 to 2100)"}]


def test_the_last_known_week_lists_the_holidays_up_to_the_calendars_end(client):
    document = week(client, "2100-12-20").get_json()
    assert [d["holiday"] for d in document["days"]][4:6] == ["Christmas Day (observed)", "Christmas Day"]
    # Christmas on a Saturday, closed the Friday before: one holiday, on the day support closes. New Year's
    # Day 2101 is past the calendar's data, so its observed Friday is all that is known of it.
    assert document["upcoming_holidays"] == [
        {"date": "2100-12-24", "name": "Christmas Day", "actual_date": "2100-12-25"},
        {"date": "2100-12-31", "name": "New Year's Day (observed)", "actual_date": "2100-12-31"}]


def test_an_unknown_customer_is_a_404_problem(client):
    response = week(client, "2026-11-26", customer="no-such-city")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "/problems/unknown-customer" and "no-such-city" in problem["detail"]


# ---- the first view, rendered on the server -------------------------------------------

class Text(HTMLParser):
    """The text of each element with an id (its own and its children's), as a reader without the script sees it."""

    def __init__(self):
        super().__init__()
        self.by_id, self._open, self.selected = {}, [], {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("br", "input", "link", "meta"):
            if tag == "input" and attributes.get("id"):
                self.by_id[attributes["id"]] = attributes.get("value") or ""
            return
        self._open.append(attributes.get("id"))
        if tag == "option" and "selected" in attributes:
            self.selected[self._open[-2] if len(self._open) > 1 else None] = attributes.get("value")

    def handle_endtag(self, tag):
        if tag not in ("br", "input", "link", "meta") and self._open:
            self._open.pop()

    def handle_data(self, data):
        for element in filter(None, self._open):
            self.by_id[element] = self.by_id.get(element, "") + data


def first_view(client, query: str = "") -> Text:
    response = client.get("/" + query)
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = Text()
    page.feed(response.get_data(as_text=True))
    return page


def words(text: str) -> str:
    return " ".join(text.split())


def test_the_first_view_is_on_the_page_before_any_script_runs(client):
    page = first_view(client, "?customer=demo-city&week_of=2026-11-26")
    assert page.selected["customer"] == "demo-city" and page.by_id["week-of"] == "2026-11-23"
    summary = words(page.by_id["coverage-summary"])
    assert summary.startswith("City of Demo (demo-city): the week of Monday 23 November 2026 in America/Chicago.")
    assert "Contract versions in effect: contract 2026.1, plan central-standard 2026.1 all week." in summary
    text = words(page.by_id["coverage-text"])
    assert "Thursday 26 November (Thanksgiving Day)Off hours: Thu 26 Nov 00:00 to 24:00 CST" in text
    assert "Support hours: Mon 23 Nov 07:00 to 19:00 CST" in text
    assert words(page.by_id["holidays"]).startswith("Thu, 26 Nov 2026 Thanksgiving Day")
    assert "Emergencies are answered within 1 hour, day or night." in words(page.by_id["after-hours"])
    assert "phone: Toll-free support number" in page.by_id["channel"]
    assert "website_down: The website is down (emergency)" in page.by_id["category"]
    assert "Drawing the calendar" in page.by_id["calendar"]  # a clear state until the script has drawn it


def test_the_periods_are_named_as_the_contract_names_them(client):
    legend = words(first_view(client, "?customer=demo-city&week_of=2026-11-26").by_id["legend"])
    # Not "Emergency support only": outside support hours a designated contact may also ask for billed work.
    assert "Emergency support only" not in legend
    assert ("Off hours: emergency support around the clock for the designated contacts, free of charge for true "
            "emergencies and answered within 1 hour, day or night; other work asked for outside support hours may "
            "be billed at 200.00 USD an hour, the customer told before any charge") in legend
    assert "hour(s)" not in legend


def test_each_schedule_of_the_premium_contract_is_shown_with_its_zone(client):
    page = first_view(client, "?customer=harbor-county&week_of=2026-12-23")
    assert "in America/Los_Angeles (the customer's own time zone)." in words(page.by_id["coverage-summary"])
    schedules = [words(line) for line in page.by_id["schedules"].split("\n") if line.strip()]
    assert schedules == [
        "support hours (America/Los_Angeles, the customer's own time zone): Business hours: 09:00-18:00 in the "
        "customer's local time zone, for everything else",
        "around the clock (UTC): Severity 1 and 2 from a designated contact, 24 hours a day, every day",
        "follow the sun (America/Los_Angeles): Severity 2 from anyone else, Sunday 15:00 to Friday 17:00 "
        "Pacific (24x5)"]
    legend = words(page.by_id["legend"])
    assert "answered within 30 minutes, day or night" in legend
    assert "(weeknights 270.00 USD; weekends 360.00 USD; holidays 450.00 USD)" in legend
    coverage = week(client, "2026-12-23", customer="harbor-county").get_json()
    assert coverage["customer_time_zone"] is True
    assert coverage["schedules"]["around_the_clock"]["open"] == [{"from": "2026-12-21T08:00:00+00:00",
                                                                  "to": "2026-12-28T08:00:00+00:00"}]


def test_a_holiday_observed_on_another_day_is_listed_once(client):
    # Juneteenth 2027 is a Saturday: support closes on Friday 18 June, and the holiday is listed once.
    document = week(client, "2027-06-14").get_json()
    juneteenth = [h for h in document["upcoming_holidays"] if "Juneteenth" in h["name"]]
    assert juneteenth == [{"date": "2027-06-18", "name": "Juneteenth National Independence Day",
                           "actual_date": "2027-06-19"}]
    holidays = words(first_view(client, "?customer=demo-city&week_of=2027-06-14").by_id["holidays"])
    assert holidays.count("Juneteenth") == 1
    assert "Fri, 18 Jun 2027 Juneteenth National Independence Day (falls on Sat, 19 Jun 2027, observed this day)" \
        in holidays


def test_the_week_a_new_plan_version_takes_effect_shows_both_and_marks_the_day(tmp_path):
    from supportpolicy.server import create_app

    from support import with_plan_2027
    folder = with_plan_2027(tmp_path, suites=False)
    client = create_app({"POLICIES": folder / "policies", "RULES": folder / "rules"}).test_client()
    document = week(client, "2026-12-30").get_json()
    assert [(v["from"], v["to"], v["plan"]["version"]) for v in document["versions"]] == \
        [("2026-12-28", "2026-12-31", "2026.1"), ("2027-01-01", "2027-01-03", "2027.1")]
    days = {d["date"]: d for d in document["days"]}
    assert days["2027-01-01"]["takes_effect"] == [{"kind": "plan", "id": "central-standard", "version": "2027.1",
                                                   "path": "policies/plans/central-standard/2027.1.yaml"}]
    assert days["2026-12-31"]["takes_effect"] == []
    page = first_view(client, "?customer=demo-city&week_of=2026-12-30")
    assert ("Contract versions in effect: contract 2026.1, plan central-standard 2026.1 from Monday 28 December; "
            "contract 2026.1, plan central-standard 2027.1 from Friday 1 January.") in \
        words(page.by_id["coverage-summary"])
    assert "Friday 1 January (New Year's Day) takes effect: plan central-standard 2027.1" in \
        words(page.by_id["coverage-text"])
    # The week after: 2027.1 alone, opening at 08:00.
    following = week(client, "2027-01-04").get_json()
    assert [v["plan"]["version"] for v in following["versions"]] == ["2027.1"]
    assert support(following["days"][0]) == [("08:00:00-06:00", "19:00:00-06:00")]


def test_with_tokens_the_page_shows_nothing_of_the_policy(policy_set, tmp_path):
    from supportpolicy.server import create_app
    from supportpolicy.server.auth import add_token, load_tokens
    tokens = tmp_path / "tokens.json"
    add_token(tokens, "explorer", ["read"])
    client = create_app({"POLICY_SET": policy_set, "TOKENS": load_tokens(tokens)}).test_client()
    body = client.get("/?customer=demo-city").get_data(as_text=True)
    assert "demo-city" not in body and "City of Demo" not in body and "central-standard" not in body
    assert "asks for an API token" in body


def test_a_bad_week_of_on_the_page_says_so_and_shows_this_week(client):
    page = first_view(client, "?customer=demo-city&week_of=someday")
    assert "is not a date (YYYY-MM-DD)" in page.by_id["load-problem"]
    assert page.by_id["week-of"] == week_of_today()


def week_of_today() -> str:
    today = datetime.now(CHICAGO).date()
    return (today - timedelta(days=today.weekday())).isoformat()
