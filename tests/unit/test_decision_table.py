"""Every row of docs/decision-api.md's table, for the shipped default policy.

2026-11-27 is a Friday (the day after Thanksgiving, a working day);
2026-11-28 is a Saturday. America/Chicago is UTC-6 in November.
"""
import pytest

from support import DESIGNATED, OTHER

IN_HOURS = "2026-11-27T10:00:00-06:00"
AFTER_HOURS = "2026-11-28T23:00:00-06:00"  # Saturday night
NEXT_OPENING_PLUS_4 = "2026-11-30T11:00:00-06:00"  # Monday 07:00 + 4 business hours


def outcome(d):
    return (d["route"]["team"], d["billable"], d["notice_required"], d["respond_by"])


@pytest.mark.parametrize("category", ["website_down", "application_malfunction"])
def test_row1_emergency_from_designated_contact_by_phone_in_hours_is_answered_live(decide, category):
    d = decide(IN_HOURS, "phone", category, DESIGNATED)
    assert outcome(d) == ("support", False, False, IN_HOURS)
    assert d["emergency"] and d["designated_contact"] and d["emergency_support"]
    assert d["hourly_rate"] is None
    assert d["trace"][0]["rule"] == "route-and-coverage/emergency-in-business-hours"


@pytest.mark.parametrize("channel", ["voicemail", "email", "portal"])
def test_row1_emergency_in_hours_on_other_channels_is_due_within_one_calendar_hour(decide, channel):
    d = decide(IN_HOURS, channel, "website_down", DESIGNATED)
    assert outcome(d) == ("support", False, False, "2026-11-27T11:00:00-06:00")
    assert d["emergency_support"] is True


@pytest.mark.parametrize("channel", ["phone", "voicemail", "email", "portal"])
def test_row1_emergency_after_hours_goes_on_call_free_within_one_calendar_hour(decide, channel):
    d = decide(AFTER_HOURS, channel, "website_down", DESIGNATED)
    assert outcome(d) == ("emergency_on_call", False, False, "2026-11-29T00:00:00-06:00")
    assert d["emergency_support"] is True and d["hourly_rate"] is None


@pytest.mark.parametrize("category,email", [
    ("usage_question", DESIGNATED), ("application_error", DESIGNATED),
    ("usage_question", OTHER), ("application_error", OTHER),
    ("website_down", OTHER),  # an emergency, but not from a designated contact
])
def test_row2_phone_in_hours_is_answered_live(decide, email, category):
    d = decide(IN_HOURS, "phone", category, email)
    assert outcome(d) == ("support", False, False, IN_HOURS)
    assert d["emergency_support"] is False


@pytest.mark.parametrize("channel", ["voicemail", "email", "portal"])
def test_row3_other_channels_in_hours_are_due_in_four_business_hours(decide, channel):
    d = decide(IN_HOURS, channel, "suggestion", OTHER)
    assert outcome(d) == ("support", False, False, "2026-11-27T14:00:00-06:00")


def test_row3_four_business_hours_started_an_hour_before_closing_end_three_hours_after_next_opening(decide):
    d = decide("2026-11-27T18:00:00-06:00", "email", "usage_question", OTHER)
    assert d["respond_by"] == "2026-11-30T10:00:00-06:00"


@pytest.mark.parametrize("channel", ["phone", "voicemail", "email", "portal"])
def test_row4_after_hours_non_emergency_from_designated_contact_is_billable_with_notice(decide, channel):
    d = decide(AFTER_HOURS, channel, "usage_question", DESIGNATED)
    assert outcome(d) == ("emergency_on_call", True, True, NEXT_OPENING_PLUS_4)
    assert d["hourly_rate"] == {"amount": "200.00", "currency": "USD"}
    assert d["emergency_support"] is False
    assert [t["rule"] for t in d["trace"]][1] == "billing/after-hours-work-is-charged"


@pytest.mark.parametrize("channel", ["phone", "voicemail", "email", "portal"])
@pytest.mark.parametrize("category", ["usage_question", "website_down"])
def test_row5_after_hours_anything_else_waits_for_the_next_opening_unbilled(decide, channel, category):
    d = decide(AFTER_HOURS, channel, category, OTHER)
    assert outcome(d) == ("support", False, False, NEXT_OPENING_PLUS_4)
    assert d["emergency_support"] is False and d["hourly_rate"] is None


def test_designated_contact_is_compared_without_case(decide):
    assert decide(IN_HOURS, email="IT.Director@Demo-City.GOV")["designated_contact"] is True
    assert decide(IN_HOURS, email="webmaster@demo-city.gov")["designated_contact"] is True
    assert decide(IN_HOURS, email="someone@demo-city.gov")["designated_contact"] is False


@pytest.mark.parametrize("category,emergency,team,via", [
    ("website_down", True, "technical", "issue_tracker"),
    ("application_malfunction", True, "technical", "issue_tracker"),
    ("application_error", False, "technical", "issue_tracker"),
    ("usage_question", False, "liaison", None),
    ("suggestion", False, "liaison", None),
    ("additional_services", False, "customer_care", None),
    ("other", False, "liaison", None),
])
def test_every_category_has_its_emergency_flag_and_escalation(decide, category, emergency, team, via):
    d = decide(IN_HOURS, "email", category, OTHER)
    assert d["emergency"] is emergency
    assert d["escalation"] == {"team": team, "via": via}
    assert d["trace"][-1] == {"rule": "escalation/by-category", "file": "rules/escalation.yaml",
                              "line": d["trace"][-1]["line"]}


def test_the_decision_reports_the_policy_that_decided_and_echoes_the_request(decide):
    d = decide(IN_HOURS, ticket_id="T-1")
    assert d["ticket_id"] == "T-1" and d["customer"] == "demo-city"
    assert d["policy"]["id"] == "central-standard" and d["policy"]["version"] == "2026.1"
    assert d["policy"]["digest"].startswith("sha256:") and len(d["policy"]["digest"]) == 71
    assert {f["kind"] for f in d["policy"]["files"]} == {"plan", "customer", "ruleset"}
    assert d["local_time"] == IN_HOURS and d["received_at"] == IN_HOURS
    assert decide(IN_HOURS)["decision_id"] != d["decision_id"]


def test_trace_names_one_rule_per_rule_set_in_decision_order_with_file_and_line(decide):
    d = decide(AFTER_HOURS, "phone", "website_down", DESIGNATED)
    assert [t["rule"] for t in d["trace"]] == [
        "route-and-coverage/emergency-after-hours",
        "billing/emergency-support-is-free",
        "response-deadline/emergency-answered-within-the-hour",
        "escalation/by-category",
    ]
    for entry in d["trace"]:
        assert entry["file"].startswith("rules/") and entry["line"] > 1
