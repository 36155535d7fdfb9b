"""Clock terms in a plan file: each mistake reported at its place, with its stable code."""
from __future__ import annotations

import shutil

import pytest

from supportpolicy.engine.decide.build import check_policy_set
from supportpolicy.engine.resources import shipped

PLAN = "policies/plans/premium-24x7/2026.1.yaml"


def _errors(tmp_path, old: str, new: str) -> list:
    policies, rules = (shutil.copytree(shipped(name), tmp_path / name, ignore=shutil.ignore_patterns("tests"))
                       for name in ("policies", "rules"))
    path = tmp_path / PLAN
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    policy_set, errors = check_policy_set((policies, rules))
    assert policy_set is None
    return [e for e in errors if e.severity == "error"]


def _line_of(tmp_path, text: str) -> int:
    lines = (tmp_path / PLAN).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize("old,new,code,where,words", [
    ("pause: [pending_customer, on_hold]", "pause: [pending_customer, waiting]", "unknown_status", "pending_customer, waiting]",
     "there is no status 'waiting' in clocks.statuses"),
    ("pause: [pending_customer, on_hold]", "pause: [pending_customer, solved]", "invalid_clock", "solved]",
     "solved solves the ticket, which stops every clock"),
    ("  initial_status: new", "  initial_status: fresh", "unknown_status", "initial_status", "no status 'fresh'"),
    ("        - {percent: 75, notify: support}\n  escalation:", "        - {percent: 75, notify: support, escalate: "
     "true}\n  escalation:", "invalid_warning", "notify: support, escalate", "either notifies a team"),
    ("        - {percent: 75, notify: account_manager}", "        - {percent: 40, notify: account_manager}",
     "invalid_warning", "percent: 40", "rising order of percent: 40 comes after 50"),
    ("at: {percent: 50, of: first_response}}", "at: {percent: 50, of: first_response}, after: {minutes: 5}}",
     "invalid_escalation", "percent: 50, of: first_response}, after", "after a delay (after: ...) or at a share"),
    ("at: {percent: 100, of: first_response}}", "at: {percent: 100, of: resolution}}", "unknown_target",
     "of: resolution", "no target 'resolution'"),
    ("after: {minutes: 30}, since: previous_level}", "after: {business_hours: 1, schedule: nights}, since: "
     "previous_level}", "unknown_schedule", "schedule: nights", "there is no schedule 'nights'"),
    ("  escalation:\n    levels:", "  escalation:\n    repeat: 2\n    levels:", "invalid_escalation",
     "{to: decision, at: {percent: 50", "every level's delay must be counted since the previous level"),
    ("stop: each_agent_reply", "stop: every_reply", "invalid_value", "stop: every_reply", "every_reply"),
])
def test_each_mistake_in_clock_terms_is_reported_at_its_place(tmp_path, old, new, code, where, words):
    errors = _errors(tmp_path, old, new)
    assert {e.code for e in errors} == {code}, [str(e) for e in errors]
    error = errors[0]
    assert error.file.endswith(PLAN) and error.line == _line_of(tmp_path, where), str(error)
    assert words in error.message
    assert str(error).startswith(f"{error.file}:{error.line}:{error.column}: {code}: ")


def test_every_target_needs_its_clock(tmp_path):
    start = "    next_update:\n      # Updates follow"
    policies = tmp_path / "check"
    errors = _errors(policies, start, "    next_updates_gone:\n      # Updates follow")
    assert sorted(e.code for e in errors) == ["missing_clock", "unknown_target"]
    missing = next(e for e in errors if e.code == "missing_clock")
    assert "no clock for next_update" in missing.message and missing.json_path == "$.clocks.targets"
    unknown = next(e for e in errors if e.code == "unknown_target")
    assert "the plan has no target 'next_updates_gone'; its targets are: first_response, next_update" in \
        unknown.message
