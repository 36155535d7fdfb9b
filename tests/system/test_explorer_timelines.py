"""The explorer's timelines in a real headless Chromium: a ticket's clocks and a charge, drawn from the API's answers.

The same browser and server as tests/system/test_explorer_browser.py. Each picture is read back through
the hover text of what it draws (and the words written out below it), and compared with the API's own
answer for the same body, written out here with zoneinfo: the page must say, in the schedule's zone and
in the contract's words, what the engine said.
"""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import test_explorer_browser as explorer_tests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from test_explorer_browser import (
    focused,
    screenshot,
    serving,
    severe_messages,
    start_at,
    tab_to,
    wait,
    zone,
)

from supportpolicy.server import create_app
from supportpolicy.server.storage.decisionlog import open_log

from support import http

# The explorer's own fixtures: a browser per test, and the shipped policies served for the module.
browser, base_url = explorer_tests.browser, explorer_tests.base_url


def long_time(text: str, zone_name: str) -> str:
    """As the page writes an instant: "Tuesday 24 November, 08:00 CST"."""
    local = datetime.fromisoformat(text).astimezone(ZoneInfo(zone_name))
    return f"{local:%A} {local.day} {local:%B}, {local:%H:%M} {local:%Z}"


def titles(picture, css: str) -> list[str]:
    return [t.get_attribute("textContent") for t in picture.find_elements(By.CSS_SELECTOR, f"{css} > title")]


def row(picture, key: str):
    return picture.find_element(By.CSS_SELECTOR, f"g.row[data-row='{key}']")


def pick_example(driver, select_id: str, typed: str, button_id: str) -> dict:
    """Choose an example by typing its first words into the list, then Tab to the button and press Enter; the
    body the example put in the text box."""
    start_at(driver, select_id)
    focused(driver).send_keys(typed)
    area = driver.find_element(By.ID, select_id.replace("-example", "-body"))
    wait(driver, lambda d: area.get_attribute("value").strip(), "the example filled nothing in")
    tab_to(driver, button_id, presses=3)
    focused(driver).send_keys(Keys.ENTER)
    return json.loads(area.get_attribute("value"))


def picture_of(driver, box: str):
    return wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f"#{box} svg.timeline"), f"nothing drawn in #{box}")[0]


def expected_marks(answer: dict, zone_name: str, labels: dict) -> dict:
    """What the page must mark, from the API's answer: each row's hover texts."""
    def team(t, via):
        return labels.get(t, t.replace("_", " ")) + (f" via {labels.get(via, via)}" if via else "")
    rows = {}
    for name, target in answer["targets"].items():
        found = [f"{w['percent']}% of the target: {'tell' if w['action'] == 'notify' else 'escalate to'} "
                 f"{team(w['team'], w['via'])}; {'fired' if w['fired'] else 'fires, if the clock runs on,'} "
                 f"{long_time(w['fires_at'], zone_name)}" for w in target["warnings"] if w["fires_at"]]
        found += [f"Breached {long_time(b, zone_name)}" for b in target["breaches"]]
        if target["due"] and target["breached_at"] is None:
            found.append(f"Due {long_time(target['due'], zone_name)}")
        rows[f"target:{name}"] = found
    if answer["escalation"]:
        rows["escalation"] = [f"Escalation level {lv['level']}: {team(lv['team'], lv['via'])}; "
                              f"{'reached' if lv['fired'] else 'reached, unless someone acknowledges first,'} "
                              f"{long_time(lv['fires_at'], zone_name)}"
                              for lv in answer["escalation"]["levels"] if lv["fires_at"]]
    return rows


def assert_marks_say_what_the_api_said(picture, answer: dict, labels: dict) -> None:
    for key, wanted in expected_marks(answer, answer["time_zone"], labels).items():
        drawn = titles(row(picture, key), "g.mark")
        assert sorted(t for t in drawn if not t.startswith(("Met", "Stopped"))) == sorted(wanted), key


# ---- a ticket's clocks ----------------------------------------------------------------------

def test_an_example_ticket_shows_its_clock_through_the_night_its_warnings_breach_and_escalation(browser, base_url,
                                                                                                output_dir):
    zone(browser, "Asia/Tokyo")  # the picture is in the schedule's zone, whatever the viewer's
    browser.get(base_url + "/?customer=demo-city&week_of=2026-11-26")
    body = pick_example(browser, "ticket-example", "City of Demo", "ticket-show")
    picture = picture_of(browser, "ticket-timeline")
    assert picture.get_attribute("data-zone") == "America/Chicago"
    status, answer = http("POST", base_url + "/v1/tickets/evaluate", body)
    assert status == 200 and answer["targets"]["first_response"]["state"] == "breached"
    _, coverage = http("GET", base_url + "/v1/customers/demo-city/coverage?week_of=2026-11-23")
    first = row(picture, "target:first_response")
    # The e-mail came at 16:00 and was answered 10:30 the next day; the clock counts in support hours only.
    assert titles(first, "rect.span.running") == ["Running: Mon 23 Nov 16:00 to Tue 24 Nov 10:30 CST"]
    open_hours = titles(first, "rect.band.open")
    assert "Support hours open: Mon 23 Nov 07:00 to 19:00 CST" in open_hours
    assert "Support hours open: Tue 24 Nov 07:00 to 19:00 CST" in open_hours
    assert_marks_say_what_the_api_said(picture, answer, coverage["labels"])
    assert titles(first, "g.mark.breach") == ["Breached Tuesday 24 November, 08:00 CST"]
    assert titles(first, "g.mark.stop") == ["Stopped by the first public agent reply: Tuesday 24 November, 10:30 CST"]
    # The ladder: the decision's escalation when the target ran out, the liaison two business hours on.
    levels = titles(row(picture, "escalation"), "g.mark.level")
    assert len(levels) == 2 and levels[1] == ("Escalation level 2: the customer support liaison; reached Tuesday "
                                              "24 November, 10:00 CST")
    # Words, not identifiers: the targets, teams and states as people say them.
    labels = " ".join(t.text for t in picture.find_elements(By.CSS_SELECTOR, "text.row-label, text.row-note"))
    assert "First response" in labels and "breached, in support hours" in labels
    assert "_" not in labels and "_" not in " ".join(levels)
    text = browser.find_element(By.ID, "ticket-text").text
    assert "Breached Tuesday 24 November, 08:00 CST" in text and "Received Monday 23 November, 16:00 CST" in text
    summary = browser.find_element(By.ID, "ticket-summary").text
    assert "Ticket T-2001 of demo-city" in summary and "policies/plans/central-standard/2026.1.yaml:" in summary
    screenshot(browser, output_dir, "ticket-timeline")
    assert severe_messages(browser) == []


def test_a_pause_is_drawn_apart_from_the_running_time_and_the_next_update_runs_in_cycles(browser, base_url,
                                                                                         output_dir):
    browser.get(base_url + "/?customer=harbor-county&week_of=2026-11-26")
    body = pick_example(browser, "ticket-example", "Harbor County", "ticket-show")
    picture = picture_of(browser, "ticket-timeline")
    assert picture.get_attribute("data-zone") == "America/Los_Angeles"
    _, answer = http("POST", base_url + "/v1/tickets/evaluate", body)
    update = row(picture, "target:next_update")
    assert titles(update, "rect.span.paused") == ["Paused: Mon 23 Nov 11:00 to 12:30 PST"]
    assert titles(update, "rect.span.running") == [
        f"Running (cycle {s['cycle']}): {_range(s['from'], s['to'], 'America/Los_Angeles')}"
        for s in answer["targets"]["next_update"]["ran"]]
    _, coverage = http("GET", base_url + "/v1/customers/harbor-county/coverage?week_of=2026-11-23")
    assert_marks_say_what_the_api_said(picture, answer, coverage["labels"])
    screenshot(browser, output_dir, "ticket-paused")
    assert severe_messages(browser) == []


def _range(start: str, end: str, zone_name: str) -> str:
    a = datetime.fromisoformat(start).astimezone(ZoneInfo(zone_name))
    b = datetime.fromisoformat(end).astimezone(ZoneInfo(zone_name))
    same = a.date() == b.date()
    return (f"{a:%a} {a.day} {a:%b} {a:%H:%M} to " + (f"{b:%H:%M}" if same else f"{b:%a} {b.day} {b:%b} {b:%H:%M}")
            + f" {a:%Z}")


def test_a_tracked_ticket_is_opened_by_its_id(browser, tmp_path, policy_set, output_dir):
    log = open_log(None, tmp_path / "data")
    log.setup()
    request = {"customer": "demo-city", "received_at": "2026-11-23T16:00:00-06:00", "channel": "email",
               "requester": {"email": "clerk@demo-city.gov"}, "category": "application_error"}
    events = [{"id": "e1", "type": "status", "at": "2026-11-23T16:05:00-06:00", "status": "open"},
              {"id": "e2", "type": "agent_reply", "at": "2026-11-24T10:30:00-06:00"},
              {"id": "e3", "type": "status", "at": "2026-11-24T11:00:00-06:00", "status": "solved"}]
    with serving(create_app({"POLICY_SET": policy_set, "DECISION_LOG": log})) as url:
        status, _ = http("POST", url + "/v1/tickets/T-77/events", {"request": request, "events": events})
        assert status == 200
        browser.get(url + "/?customer=demo-city&week_of=2026-11-26")
        start_at(browser, "tracked-id")
        focused(browser).send_keys("T-77", Keys.ENTER)
        picture = picture_of(browser, "ticket-timeline")
        status, answer = http("GET", url + "/v1/tickets/T-77")
        assert status == 200 and answer["ticket_id"] == "T-77"
        _, coverage = http("GET", url + "/v1/customers/demo-city/coverage?week_of=2026-11-23")
        assert_marks_say_what_the_api_said(picture, answer, coverage["labels"])
        assert titles(row(picture, "target:first_response"), "rect.span.running") == [
            "Running: Mon 23 Nov 16:00 to Tue 24 Nov 10:30 CST"]
        assert "Ticket T-77 of demo-city" in browser.find_element(By.ID, "ticket-summary").text
        # A ticket it does not track: the API's 404, said on the page.
        start_at(browser, "tracked-id")
        focused(browser).send_keys(Keys.CONTROL, "a")
        focused(browser).send_keys("T-404", Keys.ENTER)
        problem = wait(browser, lambda d: [e for e in d.find_elements(By.ID, "ticket-problem") if e.is_displayed()],
                       "no problem shown")[0]
        assert "no ticket 'T-404' is tracked" in problem.text
        screenshot(browser, output_dir, "tracked-ticket")
    log.close()


def test_a_stream_of_events_out_of_order_is_refused_naming_the_event(browser, base_url, output_dir):
    browser.get(base_url + "/?customer=demo-city&week_of=2026-11-26")
    pick_example(browser, "ticket-example", "City of Demo", "ticket-show")
    picture_of(browser, "ticket-timeline")
    area = browser.find_element(By.ID, "ticket-body")
    body = json.loads(area.get_attribute("value"))
    body["events"][1]["at"] = "2026-11-23T15:00:00-06:00"  # before the event ahead of it, and the ticket itself
    browser.execute_script("arguments[0].value = arguments[1]", area, json.dumps(body))
    start_at(browser, "ticket-show")
    focused(browser).send_keys(Keys.ENTER)
    problem = wait(browser, lambda d: [e for e in d.find_elements(By.ID, "ticket-problem") if e.is_displayed()],
                   "no problem shown")[0]
    assert "(422)" in problem.text and "/events/1" in problem.text
    browser.execute_script("arguments[0].value = '{not json'", area)
    start_at(browser, "ticket-show")
    focused(browser).send_keys(Keys.ENTER)
    wait(browser, lambda d: "The text is not JSON." in d.find_element(By.ID, "ticket-problem").text, "no JSON problem")
    screenshot(browser, output_dir, "ticket-refused")
    assert [m for m in severe_messages(browser) if "status of 422" not in m] == []


# ---- a charge --------------------------------------------------------------------------------

def test_a_charge_shows_the_support_hours_the_notice_and_each_span_with_its_amount(browser, base_url, output_dir):
    browser.get(base_url + "/?customer=demo-city&week_of=2026-11-26")
    body = pick_example(browser, "charge-example", "City of Demo: a call", "charge-show")
    picture = picture_of(browser, "charge-timeline")
    status, answer = http("POST", base_url + "/v1/charges", body)
    assert status == 200 and answer["total"] == {"amount": "150.00", "currency": "USD"}
    assert picture.get_attribute("data-zone") == "America/Chicago"
    cover = titles(row(picture, "coverage"), "rect.band")
    assert "Support hours: Mon 23 Nov 07:00 to 19:00 CST" in cover
    assert any(t.startswith("Off hours: Mon 23 Nov 19:00 to") for t in cover), cover
    # One row a line: worked in support hours (not billable), after closing before the notice, then charged.
    drawn = [(row(picture, f"line:{n}").find_element(By.CSS_SELECTOR, "text.row-label").text,
              titles(row(picture, f"line:{n}"), "rect.span")) for n in (1, 2, 3)]
    assert drawn == [
        ("Line 1: Support hours", ["Support hours, Mon 23 Nov 18:35 to 19:00 CST: not billable, as the rules decide"]),
        ("Line 2: weeknight", ["weeknight, Mon 23 Nov 19:00 to 19:15 CST: worked before the customer was told: "
                               "not charged"]),
        ("Line 3: weeknight", ["weeknight, Mon 23 Nov 19:15 to 20:00 CST: 45 minutes worked, 45 billed at 200.00 "
                               "USD an hour: 150.00 USD"])]
    assert [line["charged"] for line in answer["lines"]] == [False, False, True]
    assert row(picture, "line:3").find_element(By.CSS_SELECTOR, "text.span-text").text == "150.00 USD"
    assert row(picture, "line:3").find_elements(By.CSS_SELECTOR, "rect.span.work.charged")
    notice = titles(picture, "g.line.notice")
    assert notice == ["Notice given Monday 23 November, 19:15 CST: the customer accepted"]
    assert browser.find_element(By.ID, "charge-summary").text.startswith("Total 150.00 USD for ticket T-3001")
    screenshot(browser, output_dir, "charge-timeline")
    assert severe_messages(browser) == []
