"""The policy language's newer constructs: what validate says of each mistake, and what each means when valid.

Every case edits one line of a copy of the shipped policy (the premium plan,
its customer or its rules) and expects one error, with its code, at the line
edited.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from supportpolicy.engine import PolicySetInvalid, load_policy_set
from supportpolicy.engine.decide.build import check_policy_set
from supportpolicy.engine.load.files import label_from_root_name
from supportpolicy.engine.load.schemas import schema
from supportpolicy.engine.resources import shipped
from supportpolicy.engine.tools.check import check_in_context
from supportpolicy.engine.vocabulary import NAMED_TERMS

PREMIUM = "policies/plans/premium-24x7/2026.1.yaml"
HARBOR = "policies/customers/harbor-county.yaml"
TARGETS = "rules/premium/targets.yaml"
ROUTE = "rules/premium/route-and-coverage.yaml"


@pytest.fixture()
def tree(tmp_path) -> Path:
    shutil.copytree(shipped("policies"), tmp_path / "policies")
    shutil.copytree(shipped("rules"), tmp_path / "rules")
    return tmp_path


def edit(tree: Path, file: str, old: str, new: str) -> int:
    """Replace ``old`` (once) in ``file``; the line on which the replacement starts."""
    path = tree / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


def errors(tree: Path) -> list:
    _, found = check_policy_set((tree / "policies", tree / "rules"), label_from_root_name)
    return [(e.file, e.line, e.code) for e in found if e.severity == "error"]


MISTAKES = [
    # (file, old, new, the text on the line the error is at, code)
    (PREMIUM, 'response_target: {minutes: 30}\n  email', 'response_target: {minutes: 30, hours: 1}\n  email',
     "{minutes: 30, hours: 1}", "invalid_target"),
    (PREMIUM, "message: {business_days: 1}", "message: {business_days: 1, schedule: nowhere}", "schedule: nowhere",
     "unknown_schedule"),
    (PREMIUM, "message: {business_days: 1}", "message: {hours: 4, schedule: follow_the_sun}", "hours: 4",
     "invalid_target"),
    (PREMIUM, "    open: always\n", "    open: always\n    holidays: {country: US}\n", "holidays: {country: US}",
     "conflicting_hours"),
    (PREMIUM, "    default: 3", "    default: 5", "default: 5", "invalid_attribute"),
    (PREMIUM, "    default: 3\n", "", "  severity:", "invalid_attribute"),
    (PREMIUM, "attributes:\n", "attributes:\n  channel:\n    type: text\n    default: x\n", "  channel:",
     "reserved_name"),
    (PREMIUM, 'holiday: {amount: "450.00", currency: USD}', 'holiday: {amount: "450.00", currency: EUR}',
     "currency: EUR", "currency_mismatch"),
    (PREMIUM, '{date: 2026-12-24, hours:', '{date: 2026-12-24, closed: true, hours:', "closed: true",
     "invalid_exception"),
    (PREMIUM, 'to: {day: friday, at: "17:00"}}', 'to: {day: sunday, at: "15:00"}}', 'to: {day: sunday',
     "invalid_hours"),
    (PREMIUM, 'monday:    [{from: "09:00", to: "18:00"}]', 'monday:    [{from: "09:00", to: 18:00}]', "to: 18:00",
     "unquoted_time"),
    (HARBOR, "time_zone: America/Los_Angeles", "time_zone: America/Los_Angelez", "Los_Angelez", "unknown_time_zone"),
    (HARBOR, "time_zone: America/Los_Angeles\n", "", "id: premium-24x7", "missing_time_zone"),
    (TARGETS, "when: {severity: 1, designated_contact: true}", "when: {severity: 9, designated_contact: true}",
     "severity: 9", "invalid_fact_value"),
    (TARGETS, "when: {severity: 1, designated_contact: true}", "when: {severty: 1, designated_contact: true}",
     "severty", "unknown_fact"),
    (TARGETS, "decides: [respond_by, next_update]", "decides: [respond_by, next_updates]", "decides:",
     "unknown_decision_field"),
    (TARGETS, "within: {minutes: 30}", "within: {minutes: 30, schedule: around_the_clock}", "around_the_clock}",
     "invalid_target"),
    (ROUTE, "plans: [premium-24x7]", "plans: [premium]", "plans: [premium]", "unknown_reference"),
]


@pytest.mark.parametrize("file,old,new,anchor,code", MISTAKES, ids=[f"{m[4]}-{i}" for i, m in enumerate(MISTAKES)])
def test_each_mistake_is_one_error_at_its_line(tree, file, old, new, anchor, code):
    edit(tree, file, old, new)
    lines = (tree / file).read_text(encoding="utf-8").splitlines()
    (line,) = [n for n, text in enumerate(lines, 1) if anchor in text]
    assert errors(tree) == [(file, line, code)]


def test_a_rule_set_for_every_plan_may_not_test_what_only_one_plan_has(tree):
    line = edit(tree, "rules/escalation.yaml", "rules: []", "rules:\n  - id: sev\n    when: {severity: 1}\n"
                "    then: {escalation: {team: a, via: null}}")
    assert errors(tree) == [("rules/escalation.yaml", line + 2, "unknown_fact")]


def test_a_misspelt_term_is_unknown_term_naming_the_terms(tree):
    line = edit(tree, "rules/billing.yaml", "{term: after_hours_rate}", "{term: after_hour_rate}")
    _, found = check_policy_set((tree / "policies", tree / "rules"), label_from_root_name)
    (error,) = [e for e in found if e.severity == "error"]
    assert (error.file, error.line, error.code) == ("rules/billing.yaml", line, "unknown_term")
    assert "after_hours_rate" in error.message and "period_rate" in error.message


def test_a_misspelt_term_in_a_default_is_not_taken_for_a_missing_default(tree):
    edit(tree, "rules/escalation.yaml", "escalation: {term: category_escalation}",
         "escalation: {term: category_escalations}")
    assert [code for _, _, code in errors(tree)] == ["unknown_term"]


def test_the_schema_lists_the_named_terms_of_the_vocabulary():
    term = schema("ruleset")["$defs"]["term"]["properties"]["term"]
    assert term["enum"] == list(NAMED_TERMS)


@pytest.mark.parametrize("text,words", [
    ('plan: x\nschedule:\n  time_zone: UTC\n hours: {}\n', "indented differently"),
    ('plan: x\nschedule:\n\ttime_zone: UTC\n', "a tab is used here"),
    ('plan: x\ntitle: a: b\n', "put the value in quotes"),
    ('plan: x\ntitle: "unclosed\n', "never closed"),
])
def test_yaml_syntax_errors_say_in_plain_words_what_to_fix(tree, text, words):
    (tree / PREMIUM).write_text("# yaml-language-server: $schema=../../../schemas/plan.schema.json\n" + text)
    _, found = check_policy_set((tree / "policies", tree / "rules"), label_from_root_name)
    syntax = [e for e in found if e.code == "yaml_syntax"]
    assert len(syntax) == 1 and words in syntax[0].message and "(YAML says:" in syntax[0].message


def test_one_file_is_checked_in_the_context_of_its_policy_set(tree):
    line = edit(tree, HARBOR, "id: premium-24x7", "id: premium-24x8")
    found, context = check_in_context([tree / HARBOR], label=lambda root, path: str(path))
    assert context == (tree / "policies", tree / "rules")
    assert [(Path(e.file).name, e.line, e.code) for e in found] == [("harbor-county.yaml", line, "unknown_reference")]
    # A file that is valid in its set has nothing to report, though alone it would miss its plan and rules.
    shutil.copy(shipped("policies") / "customers" / "harbor-county.yaml", tree / HARBOR)
    assert check_in_context([tree / HARBOR], label=lambda root, path: str(path))[0] == []


def test_a_valid_premium_plan_decides_with_its_own_rules_and_central_with_its_own(tree):
    policy_set = load_policy_set(tree / "policies", tree / "rules")
    assert {r.id for b in policy_set.bundles["premium-24x7"] for r in b.rulesets} == {
        "premium-route-and-coverage", "premium-billing", "premium-targets", "escalation"}
    assert {r.id for b in policy_set.bundles["central-standard"] for r in b.rulesets} == {
        "route-and-coverage", "billing", "response-deadline", "escalation"}


def test_a_rule_set_for_both_plans_deciding_what_each_already_has_is_a_duplicate(tree):
    edit(tree, ROUTE, "plans: [premium-24x7]\n", "")
    assert "duplicate_decision" in {code for _, _, code in errors(tree)}
    with pytest.raises(PolicySetInvalid):
        load_policy_set(tree / "policies", tree / "rules")


def test_explain_shows_the_attributes_schedules_and_every_target(policy_set):
    from supportpolicy.engine.tools.explain import as_json, explain
    from supportpolicy.server import reports

    body = {"customer": "harbor-county", "received_at": "2026-11-28T23:00:00-08:00", "channel": "email",
            "requester": {"email": "resident@example.org"}, "category": "degraded", "attributes": {"severity": 2}}
    explanation = explain(policy_set, body)
    text = reports.explain_text(explanation)
    assert "severity             2  (a request attribute)" in text
    assert "open_follow_the_sun  no" in text and "period               weekend" in text
    assert "target next_update   due 2026-11-29T23:00:00-08:00 (counted in follow_the_sun; " \
           "set by premium-targets/severity-2)" in text
    facts = as_json(explanation)["facts"]
    assert facts["severity"] == 2 and facts["open_follow_the_sun"] is False and facts["period"] == "weekend"
