"""durable-rules decides; Condition.holds explains. They must agree on every combination of facts."""
from __future__ import annotations

import itertools
import shutil

import pytest

from supportpolicy.engine import PolicySetInvalid, load_policy_set
from supportpolicy.engine.load.assemble import MAX_RULES
from supportpolicy.engine.load.domains import Domains
from supportpolicy.engine.resources import shipped
from supportpolicy.engine.vocabulary import FACTS


def _all_facts(policy_set, plan_id: str = "central-standard"):
    domains = Domains.of(p.data for p in policy_set.plans[plan_id])
    names = sorted(FACTS)
    for combination in itertools.product(*(domains.values(n) for n in names)):
        yield dict(zip(names, combination))


def test_durable_rules_fires_exactly_the_rules_whose_conditions_hold(policy_set):
    bundle = policy_set.bundles["central-standard"][0]
    compiled_rules = [r for ruleset in bundle.rulesets for r in ruleset.rules]
    checked = 0
    for facts in _all_facts(policy_set):
        fired = bundle.compiled.fire_in_durable_rules(facts)
        expected = [r.name for r in compiled_rules if r.failing(facts) is None]
        assert fired == expected, facts
        checked += 1
    assert checked == 2 ** 5 * 7 * 4 * 7 * 4  # five booleans, seven days, four channels, seven categories, four periods


def test_conditions_of_every_kind_compile_to_the_same_meaning(tmp_path):
    shutil.copytree(shipped("policies"), tmp_path / "policies")
    shutil.copytree(shipped("rules"), tmp_path / "rules")
    (tmp_path / "rules" / "escalation.yaml").write_text("""# yaml-language-server: $schema=../schemas/ruleset.schema.json
ruleset: escalation
version: "2026.1"
effective_from: 2026-01-01
decides: [escalation]
rules:
  - id: weekday-calls
    when: {channel: {in: [phone, voicemail]}, day_of_week: {not_in: [saturday, sunday]}}
    then: {escalation: {team: a, via: null}}
  - id: not-email
    when: {channel: {not: email}}
    then: {escalation: {team: b, via: null}}
  - id: single-in
    when: {category: {in: [other]}, on_holiday: {not: true}}
    then: {escalation: {team: c, via: null}}
  - id: single-not-in
    when: {category: {not_in: [other]}}
    then: {escalation: {team: d, via: null}}
default:
  id: rest
  then: {escalation: {term: category_escalation}}
""")
    policy_set = load_policy_set(tmp_path / "policies", tmp_path / "rules")
    bundle = policy_set.bundles["central-standard"][0]
    rules = [r for ruleset in bundle.rulesets for r in ruleset.rules]
    for facts in _all_facts(policy_set):
        assert bundle.compiled.fire_in_durable_rules(facts) == [r.name for r in rules if r.failing(facts) is None], facts


def _ruleset(name: str, decides: str, count: int, then: str, default: str) -> str:
    rules = "".join(f"  - id: r{i}\n    when: {{channel: phone}}\n    then: {then}\n" for i in range(count))
    # The escalation rule set decides for every plan; the others only for central-standard (the premium plan
    # has its own).
    plans = "" if name == "escalation" else "plans: [central-standard]\n"
    return (f"# yaml-language-server: $schema=../schemas/ruleset.schema.json\nruleset: {name}\nversion: \"1\"\n"
            f"effective_from: 2026-01-01\n{plans}decides: [{decides}]\nrules:\n{rules}default:\n"
            f"  id: rest\n  then: {default}\n")


def test_more_rules_than_durable_rules_can_hold_are_a_policy_error(tmp_path):
    shutil.copytree(shipped("policies"), tmp_path / "policies")
    shutil.copytree(shipped("rules"), tmp_path / "rules")
    half = MAX_RULES // 2
    (tmp_path / "rules" / "escalation.yaml").write_text(_ruleset(
        "escalation", "escalation", half, "{escalation: {team: t, via: null}}",
        "{escalation: {term: category_escalation}}"))
    (tmp_path / "rules" / "response-deadline.yaml").write_text(_ruleset(
        "response-deadline", "respond_by", half, "{respond_by: null}", "{respond_by: null}"))
    with pytest.raises(PolicySetInvalid) as caught:
        load_policy_set(tmp_path / "policies", tmp_path / "rules")
    assert [e.code for e in caught.value.policy_errors if e.severity == "error"] == ["too_many_rules"]


def test_durable_rules_agrees_on_the_premium_plans_attributes_and_schedule_facts(policy_set):
    # Integers, attributes and open_<schedule> facts, over every combination of the facts its rules test.
    bundle = policy_set.bundles["premium-24x7"][0]
    rules = [r for ruleset in bundle.rulesets for r in ruleset.rules]
    domains = Domains.of(p.data for p in policy_set.plans["premium-24x7"])
    tested = sorted({c.fact for r in rules for c in r.conditions})
    assert {"severity", "open_follow_the_sun"} <= set(tested)
    base = dict(next(_all_facts(policy_set, "premium-24x7")), severity=3, open_around_the_clock=False,
                open_follow_the_sun=False)
    checked = 0
    for combination in itertools.product(*(domains.values(f) for f in tested)):
        facts = dict(base, **dict(zip(tested, combination)))
        assert bundle.compiled.fire_in_durable_rules(facts) == [r.name for r in rules if r.failing(facts) is None], facts
        checked += 1
    assert checked == 4 * 2 ** (len(tested) - 1)


def test_the_memo_answers_as_durable_rules_does_and_stays_bounded(policy_set, monkeypatch):
    bundle = policy_set.bundles["central-standard"][0]
    compiled = bundle.compiled
    monkeypatch.setattr(type(compiled), "MEMO_SIZE", 50)
    for n, facts in enumerate(_all_facts(policy_set)):
        if n % 7 == 0:  # every seventh combination, twice: once from durable-rules, once perhaps from the memo
            assert compiled.fired(facts) == compiled.fire_in_durable_rules(facts) == compiled.fired(facts), facts
        assert len(compiled._memo) <= 50
