"""Policy sets: versions in effect at received_at, customer terms, hit policies, refusal of bad sets."""
from __future__ import annotations

import shutil

import pytest

from supportpolicy.engine import NoPolicyInEffect, PolicySetInvalid, load_policy_set
from supportpolicy.engine.resources import shipped

from support import DESIGNATED, make_request

SATURDAY_NIGHT = "2026-11-28T23:00:00-06:00"


@pytest.fixture()
def tree(tmp_path):
    """A writable copy of the shipped policies and rules."""
    shutil.copytree(shipped("policies"), tmp_path / "policies")
    shutil.copytree(shipped("rules"), tmp_path / "rules")
    return tmp_path


def load(tree):
    return load_policy_set(tree / "policies", tree / "rules")


def billed(policy_set, received_at):
    return policy_set.decide(make_request(received_at, "email", "usage_question", DESIGNATED)).as_json()


def add_plan_version(tree, version, effective_from, rate):
    plans = tree / "policies" / "plans" / "central-standard"
    text = (plans / "2026.1.yaml").read_text()
    text = text.replace('version: "2026.1"', f'version: "{version}"')
    text = text.replace("effective_from: 2026-01-01", f"effective_from: {effective_from}")
    text = text.replace('amount: "200.00"', f'amount: "{rate}"')
    (plans / f"{version}.yaml").write_text(text)


def test_a_request_is_decided_by_the_plan_version_in_effect_when_it_was_received(tree):
    add_plan_version(tree, "2027.1", "2027-01-01", "250.00")
    policy_set = load(tree)
    before = billed(policy_set, "2026-12-31T23:30:00-06:00")
    after = billed(policy_set, "2027-01-01T00:00:00-06:00")
    assert before["hourly_rate"]["amount"] == "200.00" and before["policy"]["version"] == "2026.1"
    assert after["hourly_rate"]["amount"] == "250.00" and after["policy"]["version"] == "2027.1"
    assert before["policy"]["digest"] != after["policy"]["digest"]


@pytest.mark.parametrize("received_at,version", [
    ("2027-01-01T05:59:59Z", "2026.1"),  # still Dec 31 in Chicago
    ("2027-01-01T06:00:00Z", "2027.1"),  # local midnight, the version's first instant
    ("2027-01-01T01:00:00+01:00", "2026.1"),
])
def test_effective_dates_start_at_local_midnight_in_the_schedule_zone(tree, received_at, version):
    add_plan_version(tree, "2027.1", "2027-01-01", "250.00")
    assert billed(load(tree), received_at)["policy"]["version"] == version


def test_a_customer_may_hold_to_a_pinned_plan_version(tree):
    add_plan_version(tree, "2027.1", "2027-01-01", "250.00")
    customer = tree / "policies" / "customers" / "demo-city.yaml"
    customer.write_text(customer.read_text().replace("version: current", 'version: "2026.1"'))
    assert billed(load(tree), "2027-03-06T23:00:00-06:00")["hourly_rate"]["amount"] == "200.00"


def test_a_customer_override_replaces_the_plans_term(tree):
    customer = tree / "policies" / "customers" / "demo-city.yaml"
    customer.write_text(customer.read_text() + 'overrides:\n  after_hours:\n    rate: {amount: "150.00", currency: USD}\n')
    decision = billed(load(tree), SATURDAY_NIGHT)
    assert decision["hourly_rate"] == {"amount": "150.00", "currency": "USD"}
    assert decision["notice_required"] is True  # not overridden: still the plan's


def test_an_override_of_a_term_the_plan_lacks_is_refused_at_its_line(tree):
    customer = tree / "policies" / "customers" / "demo-city.yaml"
    text = customer.read_text() + "overrides:\n  after_hours:\n    discount: 10\n"
    customer.write_text(text)
    with pytest.raises(PolicySetInvalid) as caught:
        load(tree)
    (error,) = caught.value.policy_errors
    assert (error.code, error.line, error.file) == ("unknown_term", text.count("\n"), "policies/customers/demo-city.yaml")


def test_a_new_rule_set_version_takes_over_from_its_date(tree):
    billing = (tree / "rules" / "billing.yaml").read_text()
    newer = billing.replace('version: "2026.1"', 'version: "2027.1"').replace(
        "effective_from: 2026-01-01", "effective_from: 2027-01-01").replace(
        "id: after-hours-work-is-charged", "id: after-hours-work-is-charged-2027")
    (tree / "rules" / "billing-2027.yaml").write_text(newer)
    policy_set = load(tree)
    assert "billing/after-hours-work-is-charged" in [t["rule"] for t in billed(policy_set, SATURDAY_NIGHT)["trace"]]
    trace = billed(policy_set, "2027-01-02T23:00:00-06:00")["trace"]
    assert {"rule": "billing/after-hours-work-is-charged-2027", "file": "rules/billing-2027.yaml",
            "line": trace[1]["line"]} == trace[1]


def test_a_request_before_any_contract_version_is_refused_naming_received_at(policy_set):
    with pytest.raises(NoPolicyInEffect) as caught:
        policy_set.decide(make_request("2025-12-31T23:59:59-06:00"))
    assert caught.value.errors[0].pointer == "/received_at"


def test_hit_policy_all_applies_every_matching_rule_over_the_default(tree):
    (tree / "rules" / "escalation.yaml").write_text("""# yaml-language-server: $schema=../schemas/ruleset.schema.json
ruleset: escalation
version: "2026.1"
effective_from: 2026-01-01
hit_policy: all
decides: [escalation]
rules:
  - id: outages-page-the-vendor
    when: {category: {in: [website_down, application_malfunction]}}
    then: {escalation: {team: vendor, via: pager}}
  - id: weekend-outages-page-the-director
    when: {category: website_down, day_of_week: {in: [saturday, sunday]}}
    then: {escalation: {team: director, via: phone}}
default:
  id: by-category
  then: {escalation: {term: category_escalation}}
""")
    policy_set = load(tree)
    weekend = policy_set.decide(make_request(SATURDAY_NIGHT, "phone", "website_down")).as_json()
    assert weekend["escalation"] == {"team": "director", "via": "phone"}
    assert [t["rule"] for t in weekend["trace"]][-2:] == [
        "escalation/outages-page-the-vendor", "escalation/weekend-outages-page-the-director"]
    other = policy_set.decide(make_request(SATURDAY_NIGHT, "phone", "suggestion")).as_json()
    assert other["escalation"] == {"team": "liaison", "via": None}
    assert other["trace"][-1]["rule"] == "escalation/by-category"


def test_the_same_policy_can_be_loaded_again_in_one_process(tree):
    first, second = load(tree), load(tree)
    assert first.digest == second.digest
    assert billed(second, SATURDAY_NIGHT)["billable"] is True


def test_an_invalid_set_is_refused_whole_with_every_error_sorted(tree):
    plan = tree / "policies" / "plans" / "central-standard" / "2026.1.yaml"
    plan.write_text(plan.read_text().replace("America/Chicago", "America/Chikago"))
    billing = tree / "rules" / "billing.yaml"
    billing.write_text(billing.read_text().replace("{designated_contact: true}", "{is_vip: true}"))
    with pytest.raises(PolicySetInvalid) as caught:
        load(tree)
    codes = [(e.file, e.code) for e in caught.value.policy_errors]
    assert codes == [("policies/plans/central-standard/2026.1.yaml", "unknown_time_zone"),
                     ("rules/billing.yaml", "unknown_fact")]


@pytest.mark.parametrize("condition", ["{in: [email, email]}", "{not_in: [phone, voicemail, phone]}"])
def test_a_value_listed_twice_in_a_condition_is_refused_at_its_place(tree, condition):
    # durable-rules fires a rule once per repeated value of an `in` (an $or of equalities), so a
    # hit_policy all trace would list it twice; a value is listed once.
    escalation = tree / "rules" / "escalation.yaml"
    text = escalation.read_text().replace("rules: []", f"rules:\n  - id: twice\n    when: {{channel: {condition}}}\n"
                                                        "    then: {escalation: {team: a, via: null}}")
    escalation.write_text(text)
    with pytest.raises(PolicySetInvalid) as caught:
        load(tree)
    (error,) = [e for e in caught.value.policy_errors if e.severity == "error"]
    line = text.splitlines().index(f"    when: {{channel: {condition}}}") + 1
    assert (error.file, error.line, error.code) == ("rules/escalation.yaml", line, "duplicate_item")
    assert "more than once" in error.message
