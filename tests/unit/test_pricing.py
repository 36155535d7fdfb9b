"""Pricing the work on a ticket (engine.charge): what is charged, what is not and why, and bad input refused."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from supportpolicy.engine import load_policy_set
from supportpolicy.engine.charge.price import price_work
from supportpolicy.engine.errors import EngineError, InvalidRequest

from support import DESIGNATED, OTHER, REPO, make_request

NOW = datetime(2026, 12, 31, tzinfo=timezone.utc)
HARBOR = "cio@harbor-county.gov"


def work(*spans, prefix="w"):
    return [{"entry_id": f"{prefix}-{n}", "start": start, "end": end, "by": "agent@example.com"}
            for n, (start, end) in enumerate(spans, 1)]


def body(received_at, entries, notice=None, email=DESIGNATED, category="usage_question", **extra):
    return {"request": make_request(received_at, "phone", category, email), "notice": notice,
            "entries": entries, **extra}


def harbor(received_at, entries, notice, severity=3):
    request = {"customer": "harbor-county", "received_at": received_at, "channel": "phone",
               "requester": {"email": HARBOR}, "category": "question", "attributes": {"severity": severity}}
    return {"request": request, "notice": notice, "entries": entries}


def accepted(at):
    return {"given_at": at, "response": "accepted"}


def priced(policy_set, document):
    return price_work(policy_set, document, NOW).as_json(lambda instant: instant.isoformat())


def refused(policy_set, document) -> dict:
    with pytest.raises(InvalidRequest) as caught:
        price_work(policy_set, document, NOW)
    return {e.pointer: e.message for e in caught.value.errors}


SATURDAY_NIGHT = body("2026-11-28T23:00:00-06:00", work(("2026-11-28T23:10:00-06:00", "2026-11-29T00:40:00-06:00")),
                      accepted("2026-11-28T23:05:00-06:00"))


def test_saturday_night_usage_work_after_notice_is_charged_at_the_after_hours_rate(policy_set):
    charge = priced(policy_set, SATURDAY_NIGHT)
    assert charge["total"] == {"amount": "300.00", "currency": "USD"}
    [line] = charge["lines"]
    assert (line["charged"], line["reason"], line["period"]) == (True, "charged", "weekend")
    assert line["rate"] == {"amount": "200.00", "currency": "USD"}
    assert (line["worked_minutes"], line["billed_minutes"]) == ("90", "90")
    # Cut at local midnight: Saturday's span and Sunday's, both weekend time, on one line.
    assert [(s["start"], s["end"]) for s in line["spans"]] == [
        ("2026-11-29T05:10:00+00:00", "2026-11-29T06:00:00+00:00"),
        ("2026-11-29T06:00:00+00:00", "2026-11-29T06:40:00+00:00")]
    assert [r["rule"] for r in line["rules"]] == ["billing/after-hours-work-is-charged"]
    assert line["terms"] == ["after_hours_notice_required", "after_hours_rate", "after_hours.rounding"]
    assert (line["policy"]["id"], line["policy"]["version"]) == ("central-standard", "2026.1")


def test_an_emergency_from_a_designated_contact_is_free_and_the_line_names_the_rule(policy_set):
    charge = priced(policy_set, dict(SATURDAY_NIGHT, request=make_request(
        "2026-11-28T23:00:00-06:00", "phone", "website_down", DESIGNATED)))
    assert charge["total"]["amount"] == "0.00"
    [line] = charge["lines"]
    assert (line["charged"], line["reason"], line["amount"]["amount"]) == (False, "not_billable", "0.00")
    assert [r["rule"] for r in line["rules"]] == ["billing/emergency-support-is-free"]


def test_nothing_is_charged_without_notice_or_after_the_customer_declined(policy_set):
    for notice, reason in ((None, "no_notice"),
                           ({"given_at": "2026-11-28T23:05:00-06:00", "response": "declined"}, "declined")):
        charge = priced(policy_set, dict(SATURDAY_NIGHT, notice=notice))
        assert charge["total"]["amount"] == "0.00"
        assert {(line["reason"], line["worked_minutes"]) for line in charge["lines"]} == {(reason, "90")}


def test_work_before_notice_is_not_charged_and_its_line_says_so(policy_set):
    charge = priced(policy_set, dict(SATURDAY_NIGHT, notice=accepted("2026-11-28T23:40:00-06:00")))
    lines = {line["reason"]: line for line in charge["lines"]}
    assert lines["before_notice"]["worked_minutes"] == "30"
    assert lines["charged"]["worked_minutes"] == "60"
    assert charge["total"]["amount"] == "200.00"


def test_work_that_runs_into_support_hours_is_charged_only_until_they_open(policy_set):
    charge = priced(policy_set, body("2026-11-30T05:00:00-06:00",
                                     work(("2026-11-30T06:00:00-06:00", "2026-11-30T08:30:00-06:00")),
                                     accepted("2026-11-30T05:30:00-06:00")))
    lines = {line["period"]: line for line in charge["lines"]}
    assert (lines["weeknight"]["reason"], lines["weeknight"]["worked_minutes"]) == ("charged", "60")
    assert (lines["business_hours"]["reason"], lines["business_hours"]["worked_minutes"]) == ("not_billable", "90")
    assert [r["rule"] for r in lines["business_hours"]["rules"]] == ["billing/business-hours-are-included"]
    assert charge["total"]["amount"] == "200.00"


def test_work_for_a_requester_who_is_not_a_designated_contact_is_not_charged(policy_set):
    charge = priced(policy_set, dict(SATURDAY_NIGHT, request=make_request(
        "2026-11-28T23:00:00-06:00", "phone", "usage_question", OTHER)))
    assert charge["total"]["amount"] == "0.00"
    assert [r["rule"] for r in charge["lines"][0]["rules"]] == ["billing/after-hours-waits-unbilled"]


def test_one_rounding_per_line_at_the_plan_s_rule(policy_set):
    # 200.00 an hour for 10 minutes is 33.333...: 33.33, rounded once, however many entries make the line.
    entries = work(("2026-11-28T23:10:00-06:00", "2026-11-28T23:15:00-06:00"),
                   ("2026-11-28T23:20:00-06:00", "2026-11-28T23:25:00-06:00"))
    charge = priced(policy_set, body("2026-11-28T23:00:00-06:00", entries, accepted("2026-11-28T23:05:00-06:00")))
    assert charge["total"]["amount"] == "33.33"
    assert len(charge["lines"]) == 1


def test_a_premium_call_out_is_charged_the_minimum_then_in_increments_at_the_period_s_multiplier(policy_set):
    # 180.00 an hour, weeknights 1.5 times: 270.00; at least 60 minutes a call-out, then steps of 15.
    notice = accepted("2026-12-01T20:00:00-08:00")
    short = priced(policy_set, harbor("2026-12-01T19:50:00-08:00",
                                      work(("2026-12-01T20:00:00-08:00", "2026-12-01T20:20:00-08:00")), notice))
    assert short["total"]["amount"] == "270.00"
    [line] = short["lines"]
    assert (line["worked_minutes"], line["billed_minutes"], line["period"]) == ("20", "60", "weeknight")
    assert "after_hours.minimum_charge" in line["terms"] and "period_rate" in line["terms"]
    longer = priced(policy_set, harbor("2026-12-01T19:50:00-08:00",
                                       work(("2026-12-01T20:00:00-08:00", "2026-12-01T21:10:00-08:00")), notice))
    assert (longer["lines"][0]["billed_minutes"], longer["total"]["amount"]) == ("75", "337.50")


def test_the_minimum_applies_to_each_call_out(policy_set):
    entries = work(("2026-12-05T10:00:00-08:00", "2026-12-05T10:10:00-08:00"),
                   ("2026-12-05T14:00:00-08:00", "2026-12-05T14:10:00-08:00"))
    charge = priced(policy_set, harbor("2026-12-05T09:00:00-08:00", entries, accepted("2026-12-05T09:30:00-08:00")))
    # Saturday: weekend, twice 180.00; each call-out at least an hour.
    assert charge["lines"][0]["billed_minutes"] == "120"
    assert charge["total"]["amount"] == "720.00"


def test_premium_severity_one_work_is_included_at_any_hour(policy_set):
    charge = priced(policy_set, harbor("2026-12-05T09:00:00-08:00",
                                       work(("2026-12-05T10:00:00-08:00", "2026-12-05T11:00:00-08:00")),
                                       accepted("2026-12-05T09:30:00-08:00"), severity=1))
    assert charge["total"]["amount"] == "0.00"
    assert [r["rule"] for r in charge["lines"][0]["rules"]] == ["premium-billing/urgent-work-is-included"]


@pytest.mark.parametrize("entries, notice, field, words", [
    (work(("2026-11-28T23:30:00-06:00", "2026-11-28T23:10:00-06:00")), None, "/entries/0/end", "is not after start"),
    (work(("2026-11-28T23:10:00-06:00", "2026-11-28T23:40:00-06:00"),
          ("2026-11-28T23:30:00-06:00", "2026-11-28T23:50:00-06:00")), None, "/entries/1/start", "overlaps /entries/0"),
    (work(("2026-11-28T22:10:00-06:00", "2026-11-28T22:40:00-06:00")), None, "/entries/0/start",
     "before the ticket was received"),
    (work(("2026-12-30T23:10:00-06:00", "2026-12-31T00:40:00-06:00")), None, "/entries/0/end", "in the future"),
    (work(("2026-11-28T23:10:00-06:00", "2026-11-28T23:40:00-06:00")), accepted("2026-11-28T23:45:00-06:00"),
     "/notice/given_at", "after the work ended"),
])
def test_work_that_cannot_be_priced_is_refused_naming_the_field(policy_set, entries, notice, field, words):
    errors = refused(policy_set, body("2026-11-28T23:00:00-06:00", entries, notice))
    assert field in errors and words in errors[field]


def test_two_entries_with_one_id_are_refused(policy_set):
    entries = work(("2026-11-28T23:10:00-06:00", "2026-11-28T23:20:00-06:00"),
                   ("2026-11-28T23:30:00-06:00", "2026-11-28T23:40:00-06:00"))
    entries[1]["entry_id"] = entries[0]["entry_id"]
    errors = refused(policy_set, body("2026-11-28T23:00:00-06:00", entries))
    assert "/entries/1/entry_id" in errors


def test_a_currency_that_is_not_the_plan_s_is_refused(policy_set):
    errors = refused(policy_set, dict(SATURDAY_NIGHT, currency="EUR"))
    assert "USD" in errors["/currency"]


@pytest.mark.parametrize("change, field", [
    (lambda b: b.pop("entries"), "/entries"),
    (lambda b: b.update(entries=[]), "/entries"),
    (lambda b: b["entries"][0].update(start="Saturday night"), "/entries/0/start"),
    (lambda b: b["entries"][0].update(minutes=90), "/entries/0/minutes"),
    (lambda b: b.update(notice={"given_at": "2026-11-28T23:05:00-06:00", "response": "maybe"}), "/notice"),
    (lambda b: b.update(currency="usd"), "/currency"),
])
def test_a_malformed_charge_request_names_the_field(policy_set, change, field):
    document = {**SATURDAY_NIGHT, "entries": [dict(e) for e in SATURDAY_NIGHT["entries"]]}
    change(document)
    assert field in refused(policy_set, document)


def test_the_decision_request_s_errors_are_named_under_request(policy_set):
    document = dict(SATURDAY_NIGHT, request=dict(SATURDAY_NIGHT["request"], customer="nobody"))
    with pytest.raises(EngineError) as caught:
        price_work(policy_set, document, NOW)
    assert [e.pointer for e in caught.value.errors] == ["/request/customer"]


def test_amounts_are_decimal_and_sum_exactly(policy_set):
    charge = price_work(policy_set, SATURDAY_NIGHT, NOW)
    assert isinstance(charge.total.amount, Decimal)
    assert charge.total.amount == sum(line.amount.amount for line in charge.lines)


@pytest.fixture(scope="module")
def prepaid_set(tmp_path_factory):
    """The shipped policy, premium-24x7 with a block of ten prepaid hours a month, harbor-county's overridden to two."""
    folder = tmp_path_factory.mktemp("prepaid")
    for name in ("policies", "rules"):
        shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("tests"))
    plan = folder / "policies" / "plans" / "premium-24x7" / "2026.1.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("  rounding: half_up\n",
                                                             "  rounding: half_up\n  prepaid: {hours: 10}\n"),
                    encoding="utf-8")
    customer = folder / "policies" / "customers" / "harbor-county.yaml"
    customer.write_text(customer.read_text(encoding="utf-8") + "  after_hours:\n    prepaid: {hours: 2}\n",
                        encoding="utf-8")
    return load_policy_set(folder / "policies", folder / "rules")


def test_a_prepaid_block_is_drawn_down_before_overage_is_charged(prepaid_set):
    # Saturday, 90 minutes (weekend: 360.00 an hour); an hour of December's block already used elsewhere.
    document = dict(harbor("2026-12-05T09:00:00-08:00", work(("2026-12-05T10:00:00-08:00", "2026-12-05T11:30:00-08:00")),
                           accepted("2026-12-05T09:30:00-08:00")), prepaid_used={"2026-12": 60})
    charge = priced(prepaid_set, document)
    lines = {line["reason"]: line for line in charge["lines"]}
    assert (lines["prepaid"]["billed_minutes"], lines["prepaid"]["amount"]["amount"]) == ("60", "0.00")
    assert "after_hours.prepaid" in lines["prepaid"]["terms"]
    assert (lines["charged"]["billed_minutes"], charge["total"]["amount"]) == ("30", "180.00")
    unused = priced(prepaid_set, dict(document, prepaid_used={}))
    assert unused["total"]["amount"] == "0.00" and [line["reason"] for line in unused["lines"]] == ["prepaid"]
    # With the month's block used up, the same work is 90 minutes at 360.00: 540.00.
    assert priced(prepaid_set, dict(document, prepaid_used={"2026-12": 120}))["total"]["amount"] == "540.00"
