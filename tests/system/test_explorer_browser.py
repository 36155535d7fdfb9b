"""The policy explorer in a real headless Chromium, against a real server.

Debian's ``chromium`` is driven through its ``chromedriver`` (Selenium, never a downloaded driver),
with a fresh profile per test and the language set to en-US so date and time fields take their
digits month first. The server is the Flask app under Werkzeug in a thread, on an ephemeral
loopback port. The forms are filled with the keyboard alone (Tab, typing, Enter), as a keyboard
user would. Each test leaves a full-page screenshot in the test output directory for a person to
look at.

Without /usr/bin/chromium or /usr/bin/chromedriver the tests are skipped, except under CI
(``CI=true``), where they fail: CI must not pass without having run them (``.ci/run`` installs both).
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from supportpolicy.engine.resources import shipped
from supportpolicy.server import create_app
from supportpolicy.server.auth import add_token, load_tokens
from supportpolicy.server.storage.decisionlog import open_log

from support import DESIGNATED, http, make_request

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--lang=en-US", "--window-size=1366,768")  # a laptop screen, at 100%
WAIT = 15  # seconds: the bound on every wait for the page
PLAN = "policies/plans/central-standard/2026.1.yaml"

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_browser() -> None:
    """Skips the test locally without Debian's chromium and chromedriver; fails it in CI."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        message = f"{' and '.join(missing)} not installed: no browser to test the policy explorer in"
        if in_ci():
            pytest.fail(f"{message} (CI=true: the browser tests must run in CI; .ci/run installs chromium "
                        "and chromium-driver)")
        pytest.skip(message)


# ---- a server and a browser -----------------------------------------------------------

@contextmanager
def serving(app):
    """The app on 127.0.0.1 and a port the system chose, for as long as the block runs."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="explorer-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(WAIT)
        server.server_close()


@pytest.fixture(scope="module")
def base_url(policy_set):
    with serving(create_app({"POLICY_SET": policy_set})) as url:
        yield url


@pytest.fixture()
def browser(tmp_path):
    require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def zone(driver, name: str) -> None:
    """Make the browser believe it is in time zone ``name`` (the viewer's own zone)."""
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": name})


def wait(driver, condition, message: str):
    try:
        return WebDriverWait(driver, WAIT).until(condition)
    except TimeoutException:
        raise AssertionError(f"{message} (waited {WAIT} s); the page says:\n"
                             f"{driver.find_element(By.TAG_NAME, 'main').text}") from None


def calendar_of(driver, week_of: str):
    """The calendar, once drawn for the week whose Monday is ``week_of``."""
    drawn = f"#coverage:not([aria-busy]) #calendar svg[data-week-of='{week_of}']"
    return wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, drawn), f"no calendar for the week of {week_of}")[0]


def wait_for_policy_set(driver) -> None:
    # The files are on the page as served; the reload status is the script's, once it has asked the API.
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#policy-files tbody tr"), "no policy files listed")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#reload-status p"), "no reload status shown")


def severe_messages(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(driver, output_dir: Path, name: str) -> Path:
    """The whole page, at the laptop width, as output_dir/explorer-<name>.png."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1366, max(768, height + 140))  # +140: the window's own chrome
    driver.execute_script("window.scrollTo(0, 0)")
    path = output_dir / f"explorer-{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    return path


def words(text: str) -> str:
    """Text with its line breaks as spaces: the calendar wraps a holiday's name to fit its column."""
    return " ".join(text.split())


def focused(driver):
    return driver.switch_to.active_element


def tab_to(driver, element_id: str, presses: int = 6) -> None:
    """Press Tab until the element has the focus, as a keyboard user would."""
    for _ in range(presses):
        if focused(driver).get_attribute("id") == element_id:
            return
        focused(driver).send_keys(Keys.TAB)
    assert focused(driver).get_attribute("id") == element_id, f"Tab never reached #{element_id}"


def start_at(driver, element_id: str) -> None:
    """Put the keyboard focus on a field, as clicking its label would."""
    driver.execute_script("document.getElementById(arguments[0]).focus()", element_id)
    assert focused(driver).get_attribute("id") == element_id


def show_week(driver, month_day_year: str) -> None:
    """Type a date into "Week of" and press Enter."""
    start_at(driver, "week-of")
    focused(driver).send_keys(month_day_year, Keys.ENTER)


def fill_what_if(driver, month_day_year: str, time_ampm: str, channel: str, category: str, email: str) -> None:
    """The what-if form by keyboard: type the time, Tab on, pick from the lists by typing, Enter."""
    start_at(driver, "received-at")
    focused(driver).send_keys(month_day_year, Keys.TAB, time_ampm)
    tab_to(driver, "channel")
    focused(driver).send_keys(channel)
    tab_to(driver, "category")
    focused(driver).send_keys(category)
    tab_to(driver, "email")
    focused(driver).send_keys(email, Keys.ENTER)


def support_titles(svg) -> list[tuple]:
    """(day, from, to) of every support-hours block, read from its hover text."""
    found = []
    for title in svg.find_elements(By.CSS_SELECTOR, "rect.support_hours > title"):
        match = re.match(r"Support hours: (\w{3} \d+ \w{3}) (\d\d:\d\d) to (\d\d:\d\d) ",
                         title.get_attribute("textContent"))
        assert match, title.get_attribute("textContent")
        found.append(match.groups())
    return sorted(found)


# ---- the tests ------------------------------------------------------------------------

def test_the_page_loads_without_console_errors(browser, base_url, output_dir):
    browser.get(base_url + "/")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#calendar svg[data-week-of]"), "no calendar drawn")
    wait_for_policy_set(browser)
    assert browser.title == "Support policy explorer"
    assert browser.find_element(By.ID, "customer").get_attribute("value") == "demo-city"
    assert browser.find_element(By.ID, "auth").is_displayed() is False
    headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2") if h.is_displayed()]
    assert {"Coverage calendar", "Holidays ahead", "Policy set in force"} <= set(headings)
    screenshot(browser, output_dir, "loaded")
    assert severe_messages(browser) == []


def test_the_calendar_shows_thanksgiving_2026_without_support_hours(browser, base_url, output_dir):
    browser.get(base_url + "/?customer=demo-city&week_of=2026-06-03")  # another week, to type the date over
    calendar_of(browser, "2026-06-01")
    show_week(browser, "11262026")
    svg = calendar_of(browser, "2026-11-23")
    thursday = svg.find_element(By.CSS_SELECTOR, "g.day[data-date='2026-11-26']")
    assert "Thu 26 Nov" in thursday.text and "Thanksgiving Day" in words(thursday.text)
    assert thursday.find_elements(By.CSS_SELECTOR, "rect.support_hours") == []
    assert thursday.find_elements(By.CSS_SELECTOR, "rect.emergency_only")
    band = thursday.find_element(By.CSS_SELECTOR, "rect.holiday > title").get_attribute("textContent")
    assert band.startswith("Holiday: Thanksgiving Day: Thu 26 Nov 00:00 to 24:00")
    for weekday in ("2026-11-23", "2026-11-24", "2026-11-25", "2026-11-27"):
        day = svg.find_element(By.CSS_SELECTOR, f"g.day[data-date='{weekday}']")
        assert "Thanksgiving" not in day.text and len(day.find_elements(By.CSS_SELECTOR, "rect.support_hours")) == 1
    assert support_titles(svg) == [(day, "07:00", "19:00") for day in ("Fri 27 Nov", "Mon 23 Nov", "Tue 24 Nov",
                                                                        "Wed 25 Nov")]
    # The same week as text, for those who cannot see the picture.
    as_text = browser.find_element(By.ID, "coverage-text").get_attribute("textContent")
    assert "Thursday 26 November (Thanksgiving Day)Off hours: Thu 26 Nov 00:00 to 24:00 CST" in as_text
    holidays = browser.find_element(By.ID, "holidays").text.splitlines()
    assert holidays[0] == "Thu, 26 Nov 2026 Thanksgiving Day"
    assert "week_of=2026-11-26" in browser.current_url  # a link to this week, to share
    screenshot(browser, output_dir, "thanksgiving")
    assert severe_messages(browser) == []


def test_the_week_buttons_move_a_week_at_a_time(browser, base_url, output_dir):
    browser.get(base_url + "/?customer=demo-city&week_of=2026-12-16")
    calendar_of(browser, "2026-12-14")
    start_at(browser, "week-of")
    tab_to(browser, "previous-week")
    focused(browser).send_keys(Keys.TAB, Keys.ENTER)  # "Next week"
    svg = calendar_of(browser, "2026-12-21")
    assert "Christmas Day" in words(svg.find_element(By.CSS_SELECTOR, "g.day[data-date='2026-12-25']").text)
    assert browser.find_element(By.ID, "week-of").get_attribute("value") == "2026-12-23"
    start_at(browser, "previous-week")
    focused(browser).send_keys(Keys.ENTER)
    focused(browser).send_keys(Keys.ENTER)
    svg = calendar_of(browser, "2026-12-07")
    assert not svg.find_elements(By.CSS_SELECTOR, "g.holiday-day")
    screenshot(browser, output_dir, "week-buttons")
    assert severe_messages(browser) == []


def test_the_what_if_form_gives_the_billable_after_hours_decision(browser, base_url, output_dir):
    browser.get(base_url + "/?customer=demo-city&week_of=2026-11-26")
    calendar_of(browser, "2026-11-23")
    assert browser.find_element(By.ID, "zone-schedule").is_selected()
    fill_what_if(browser, "11282026", "1030P", "phone", "usage_question", DESIGNATED)
    decision = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#decision .trace li"), "no decision shown")
    text = browser.find_element(By.ID, "decision").text
    assert "Received Saturday 28 November, 22:30 CST." in text
    assert "Outside support hours." in text and "Emergency: no." in text and "Designated contact: yes." in text
    assert "Billable at 200.00 USD per hour; the customer must be notified before any charge." in text
    assert "Respond by Monday 30 November, 11:00 CST." in text
    # In the plan's words (its labels), not the rules' identifiers.
    assert "Handled first by: the emergency support team on call." in text
    assert "Escalates to: the customer support liaison." in text and "emergency_on_call" not in text
    # The rules listed are the API's own trace for the same request, each with its file:line.
    status, expected = http("POST", base_url + "/v1/decisions", make_request(
        "2026-11-28T22:30:00-06:00", "phone", "usage_question", DESIGNATED))
    assert status == 200 and expected["billable"] is True
    assert [li.text for li in decision] == [f"{t['file']}:{t['line']} {t['rule']}" for t in expected["trace"]]
    assert any(li.text.startswith("rules/billing.yaml:") for li in decision)
    # The request is marked on the calendar, on the Saturday.
    marker = browser.find_element(By.CSS_SELECTOR, "#calendar g.marker.request > title")
    assert marker.get_attribute("textContent") == "The what-if request: Saturday 28 November, 22:30 CST"
    screenshot(browser, output_dir, "what-if")
    assert severe_messages(browser) == []


def test_the_time_zone_toggle_redraws_the_calendar_in_the_viewers_zone(browser, base_url, output_dir):
    zone(browser, "Asia/Tokyo")  # UTC+9 all year: Chicago's 07:00 to 19:00 is 22:00 to 10:00 the next day
    browser.get(base_url + "/?customer=demo-city&week_of=2026-11-26")
    svg = calendar_of(browser, "2026-11-23")
    assert svg.get_attribute("data-zone") == "America/Chicago"
    in_chicago = support_titles(svg)
    viewer = browser.find_element(By.ID, "zone-viewer")
    choices = browser.find_element(By.CSS_SELECTOR, "fieldset.zones").text
    assert "the schedule's time zone (America/Chicago)" in choices and "my time zone (Asia/Tokyo)" in choices
    start_at(browser, "zone-schedule")
    focused(browser).send_keys(Keys.ARROW_DOWN)  # radio buttons move with the arrow keys
    assert viewer.is_selected()
    svg = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#calendar svg[data-zone='Asia/Tokyo']"),
               "the calendar was not redrawn in Asia/Tokyo")[0]
    in_tokyo = support_titles(svg)
    assert in_tokyo != in_chicago
    # Each support period of the week, as the API gives it, in Tokyo and cut at Tokyo's midnights.
    status, coverage = http("GET", base_url + "/v1/customers/demo-city/coverage?week_of=2026-11-26")
    assert status == 200
    assert in_tokyo == sorted(tokyo_pieces(coverage))
    assert ("Mon 23 Nov", "22:00", "24:00") in in_tokyo and ("Tue 24 Nov", "00:00", "10:00") in in_tokyo
    # Chicago's Thanksgiving is Thursday 15:00 to Friday 15:00 in Tokyo: both days carry its name.
    for day in ("2026-11-26", "2026-11-27"):
        assert "Thanksgiving Day" in words(svg.find_element(By.CSS_SELECTOR, f"g.day[data-date='{day}']").text)
    assert browser.find_element(By.ID, "received-zone").text == "(Asia/Tokyo)"
    screenshot(browser, output_dir, "viewer-zone")
    assert severe_messages(browser) == []


def tokyo_pieces(coverage: dict) -> list[tuple]:
    tokyo = ZoneInfo("Asia/Tokyo")
    pieces = []
    for day in coverage["days"]:
        for period in day["periods"]:
            if period["coverage"] != "support_hours":
                continue
            start = datetime.fromisoformat(period["from"]).astimezone(tokyo)
            end = datetime.fromisoformat(period["to"]).astimezone(tokyo)
            while start < end:
                midnight = datetime.combine(start.date() + timedelta(days=1), time(0), tokyo)
                until = min(end, midnight)
                pieces.append((f"{start:%a} {start.day} {start:%b}", f"{start:%H:%M}",
                               "24:00" if until == midnight else f"{until:%H:%M}"))
                start = until
    return pieces


def test_a_refused_request_is_shown_naming_the_field(browser, base_url, output_dir):
    browser.get(base_url + "/?customer=demo-city&week_of=2026-11-26")
    calendar_of(browser, "2026-11-23")
    # A June 2025 request: before demo-city's contract took effect on 2026-01-01.
    fill_what_if(browser, "06012025", "1000A", "email", "other", DESIGNATED)
    problem = wait(browser, lambda d: [e for e in d.find_elements(By.ID, "what-if-problem") if e.is_displayed()],
                   "no problem shown")[0]
    assert "No policy version was in effect at that time (422)" in problem.text
    assert "Received at: is before demo-city's contract takes effect (2026-01-01)" in problem.text
    field = browser.find_element(By.ID, "received-at")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby") == "what-if-problem"
    link = problem.find_element(By.LINK_TEXT, "Received at")
    assert link.get_attribute("href").endswith("#received-at")
    screenshot(browser, output_dir, "refused-request")
    # The browser reports the 422 answer itself; nothing else may fail.
    assert [m for m in severe_messages(browser) if "status of 422" not in m] == []


def test_with_tokens_the_page_asks_for_one_and_then_works(browser, policy_set, tmp_path, output_dir):
    tokens = tmp_path / "tokens.json"
    secret = add_token(tokens, "explorer", ["read", "decide"])
    with serving(create_app({"POLICY_SET": policy_set, "TOKENS": load_tokens(tokens)})) as url:
        browser.get(url + "/?customer=demo-city&week_of=2026-11-26")
        field = wait(browser, lambda d: [e for e in d.find_elements(By.ID, "token") if e.is_displayed()],
                     "no token asked for")[0]
        assert field.get_attribute("type") == "password"
        assert focused(browser).get_attribute("id") == "token"
        screenshot(browser, output_dir, "token-asked")
        focused(browser).send_keys("sp_not-the-token", Keys.ENTER)
        wait(browser, lambda d: "refused" in d.find_element(By.ID, "auth-reason").text, "a wrong token was taken")
        focused(browser).send_keys(secret, Keys.ENTER)
        calendar_of(browser, "2026-11-23")
        wait_for_policy_set(browser)
        assert not browser.find_element(By.ID, "auth").is_displayed()
        assert browser.execute_script("return sessionStorage.getItem('supportpolicy.token')") == secret
        fill_what_if(browser, "11282026", "1030P", "phone", "usage_question", DESIGNATED)
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#decision .trace li"), "no decision shown")
        assert "Billable at 200.00 USD per hour" in browser.find_element(By.ID, "decision").text
        # Kept for the tab: a reload does not ask again.
        browser.refresh()
        calendar_of(browser, "2026-11-23")
        assert not browser.find_element(By.ID, "auth").is_displayed()
        screenshot(browser, output_dir, "token-given")
        # Only the two refusals (no token, then the wrong one) show as failed loads.
        assert severe_messages(browser) and all("status of 401" in m for m in severe_messages(browser))


def test_the_what_if_form_is_a_dry_run_a_read_token_may_make_and_nothing_is_logged(browser, policy_set, tmp_path,
                                                                                      output_dir):
    tokens = tmp_path / "tokens.json"
    secret = add_token(tokens, "auditor", ["read"])
    log = open_log(None, tmp_path / "data")
    log.setup()
    with serving(create_app({"POLICY_SET": policy_set, "TOKENS": load_tokens(tokens), "DECISION_LOG": log})) as url:
        browser.get(url + "/?customer=demo-city&week_of=2026-11-26")
        wait(browser, lambda d: [e for e in d.find_elements(By.ID, "token") if e.is_displayed()], "no token asked for")
        focused(browser).send_keys(secret, Keys.ENTER)
        calendar_of(browser, "2026-11-23")
        fill_what_if(browser, "11282026", "1030P", "phone", "usage_question", DESIGNATED)
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#decision .trace li"), "no decision shown")
        assert "Billable at 200.00 USD per hour" in browser.find_element(By.ID, "decision").text
        screenshot(browser, output_dir, "what-if-dry-run")
    assert log.find() == []  # nothing for GET /v1/decisions, `log export` or `impact` to take for traffic
    log.close()


def test_a_refused_reload_is_shown_with_each_error_at_its_file_and_line(browser, tmp_path, output_dir):
    for folder in ("policies", "rules"):
        shutil.copytree(shipped(folder), tmp_path / folder, ignore=shutil.ignore_patterns("tests"))
    app = create_app({"POLICIES": tmp_path / "policies", "RULES": tmp_path / "rules"})
    plan = tmp_path / PLAN
    text = plan.read_text(encoding="utf-8")
    assert text.count("time_zone: America/Chicago\n") == 1
    plan.write_text(text.replace("time_zone: America/Chicago\n", "time_zone: America/Chicagoo\n"), encoding="utf-8")
    line = next(n for n, row in enumerate(plan.read_text().splitlines(), 1) if "America/Chicagoo" in row)
    with serving(app) as url:
        status, problem = http("POST", url + "/v1/admin/reload")
        assert status == 422 and problem["type"] == "/problems/invalid-policy-set"
        browser.get(url + "/?customer=demo-city&week_of=2026-11-26")
        calendar_of(browser, "2026-11-23")  # the set in force still decides
        wait_for_policy_set(browser)
        report = browser.find_element(By.ID, "reload-status")
        assert report.text.startswith("Last reload: refused.")
        assert "1 error(s); the set below stays in force." in report.text
        errors = [li.text for li in report.find_elements(By.CSS_SELECTOR, ".policy-errors li")]
        assert len(errors) == 1 and errors[0].startswith(f"{PLAN}:{line}:")
        assert "unknown_time_zone" in errors[0] and "America/Chicagoo" in errors[0]
        screenshot(browser, output_dir, "reload-refused")
        assert severe_messages(browser) == []


def test_without_its_script_the_page_shows_the_week_as_text(tmp_path, base_url, output_dir):
    # As `chromium --headless --screenshot` sees a page before (or without) its script: the first view is served.
    require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(base_url + "/?customer=demo-city&week_of=2026-11-26")
        text = driver.find_element(By.ID, "coverage-text").text
        assert "Thursday 26 November (Thanksgiving Day)" in text and "Support hours: Mon 23 Nov 07:00 to 19:00 CST" in text
        assert "The calendar is drawn by the page's script" in driver.find_element(By.ID, "calendar").text
        assert driver.find_elements(By.CSS_SELECTOR, "#calendar svg") == []  # the script did not run
        assert driver.find_element(By.ID, "customer").get_attribute("value") == "demo-city"
        assert "Off hours" in driver.find_element(By.ID, "legend").text
        # The form still works: "Show" loads another week, rendered on the server.
        field = driver.find_element(By.ID, "week-of")
        driver.execute_script("arguments[0].value = '2026-12-23'", field)
        driver.find_element(By.ID, "show-week").click()
        # A new page: wait for it whole (an element of the old one goes stale as it is replaced).
        wait(driver, lambda d: "week_of=2026-12-23" in d.current_url
             and d.execute_script("return document.readyState") == "complete", "no other week loaded")
        assert "Christmas Day" in driver.find_element(By.ID, "coverage-text").text
        assert "customer=demo-city" in driver.current_url
        assert driver.find_elements(By.CSS_SELECTOR, "#calendar svg") == []
        screenshot(driver, output_dir, "without-script")
    finally:
        driver.quit()


def test_the_premium_contract_draws_each_of_its_schedules(browser, base_url, output_dir):
    browser.get(base_url + "/?customer=harbor-county&week_of=2026-12-23")
    svg = calendar_of(browser, "2026-12-21")
    assert svg.get_attribute("data-zone") == "America/Los_Angeles"
    summary = browser.find_element(By.ID, "coverage-summary").text
    assert "in America/Los_Angeles (the customer's own time zone)" in summary
    # Around the clock: open all week, a lane in every day; follow the sun (24x5) closed on Christmas Day.
    lanes = {day: [t.get_attribute("textContent") for t in svg.find_elements(
        By.CSS_SELECTOR, f"g.day[data-date='{day}'] rect.lane > title")] for day in ("2026-12-21", "2026-12-25")}
    assert any(t.startswith("around the clock: open: Mon 21 Dec 00:00 to 24:00 PST") for t in lanes["2026-12-21"])
    assert any(t.startswith("follow the sun: open: Mon 21 Dec 00:00 to 24:00 PST") for t in lanes["2026-12-21"])
    assert [t.split(":")[0] for t in lanes["2026-12-25"]] == ["around the clock"]
    schedules = browser.find_element(By.ID, "schedules").text.splitlines()
    assert schedules[0].startswith("support hours (America/Los_Angeles, the customer's own time zone)")
    assert schedules[1].startswith("around the clock (UTC): Severity 1 and 2 from a designated contact")
    assert schedules[2].startswith("follow the sun (America/Los_Angeles): Severity 2 from anyone else")
    screenshot(browser, output_dir, "premium-schedules")
    assert severe_messages(browser) == []


def test_the_day_a_new_plan_version_takes_effect_is_marked(browser, tmp_path, output_dir):
    from support import with_plan_2027
    folder = with_plan_2027(tmp_path / "policy", suites=False)
    with serving(create_app({"POLICIES": folder / "policies", "RULES": folder / "rules"})) as url:
        browser.get(url + "/?customer=demo-city&week_of=2026-12-30")
        svg = calendar_of(browser, "2026-12-28")
        friday = svg.find_element(By.CSS_SELECTOR, "g.day[data-date='2027-01-01']")
        assert "new-version" in friday.get_attribute("class")
        assert "New: plan 2027.1" in friday.text
        assert not svg.find_elements(By.CSS_SELECTOR, "g.day.new-version:not([data-date='2027-01-01'])")
        marker = svg.find_element(By.CSS_SELECTOR, "g.marker.version > title").get_attribute("textContent")
        assert marker == "Takes effect: plan central-standard 2027.1: Friday 1 January, 00:00 CST"
        summary = browser.find_element(By.ID, "coverage-summary").text
        assert ("Contract versions in effect: contract 2026.1, plan central-standard 2026.1 from Monday 28 December; "
                "contract 2026.1, plan central-standard 2027.1 from Friday 1 January.") in summary
        screenshot(browser, output_dir, "new-version")
        assert severe_messages(browser) == []
