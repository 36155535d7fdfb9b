"""A customer's overrides of its plan's clock terms: what they change on a ticket's clocks, and each mistake in them
reported at its place in the customer's file.

Harbor County's contract (a copy of the shipped policies) is given terms of its own: time on hold with a
supplier counts towards the next update, its warning comes at half the target and tells the account manager,
and the ladder pages the county's IT director 15 minutes after the category's escalation. The same ticket is
read under the plan's terms and the customer's.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from supportpolicy.engine.clock.evaluate import evaluate_ticket
from supportpolicy.engine.decide.build import check_policy_set
from supportpolicy.engine.resources import shipped
from supportpolicy.engine.tools.suites import load_suites, run
from supportpolicy.engine.tools.terms_in_force import terms_in_force

CUSTOMER = "policies/customers/harbor-county.yaml"
NOW = datetime(2026, 12, 2, tzinfo=timezone.utc)
OVERRIDES = """\
  clocks:
    targets:
      next_update:
        # The county's contract: time on hold with a supplier counts.
        pause: [pending_customer]
        warnings:
          - {percent: 50, notify: account_manager}
    escalation:
      levels:
        - {to: decision, at: {percent: 50, of: first_response}}
        - {to: {team: it_director, via: pager}, after: {minutes: 15}, since: previous_level}
"""
TICKET = {"request": {"customer": "harbor-county", "received_at": "2026-11-23T10:00:00-08:00", "channel": "email",
                      "requester": {"email": "cio@harbor-county.gov"}, "category": "outage",
                      "attributes": {"severity": 1}},
          "events": [{"type": "status", "at": "2026-11-23T10:05:00-08:00", "status": "open"},
                     {"type": "status", "at": "2026-11-23T10:20:00-08:00", "status": "on_hold"}],
          "at": "2026-11-23T10:40:00-08:00"}


def _policies(tmp_path, overrides: str):
    policies, rules = (shutil.copytree(shipped(name), tmp_path / name, ignore=shutil.ignore_patterns("tests"))
                       for name in ("policies", "rules"))
    path = tmp_path / CUSTOMER
    path.write_text(path.read_text(encoding="utf-8") + overrides, encoding="utf-8")
    return check_policy_set((policies, rules))


def _line_of(tmp_path, text: str) -> int:
    lines = (tmp_path / CUSTOMER).read_text(encoding="utf-8").splitlines()
    found = [i for i, line in enumerate(lines, 1) if text in line]
    assert len(found) == 1, text
    return found[0]


@pytest.fixture(scope="module")
def overridden(tmp_path_factory):
    folder = tmp_path_factory.mktemp("overridden")
    policy_set, errors = _policies(folder, OVERRIDES)
    assert policy_set is not None, [str(e) for e in errors]
    return policy_set, folder


def test_the_customers_pause_statuses_warnings_and_ladder_replace_the_plans(overridden, policy_set):
    mine, folder = overridden
    plans = evaluate_ticket(policy_set, TICKET, NOW).as_json()
    customers = evaluate_ticket(mine, TICKET, NOW).as_json()
    # On hold pauses the plan's next update; the county's keeps counting (an hour's target, 40 minutes run).
    assert plans["targets"]["next_update"]["state"] == "paused"
    assert plans["targets"]["next_update"]["elapsed_seconds"] == 20 * 60
    update = customers["targets"]["next_update"]
    assert update["state"] == "running" and update["paused"] == [] and update["elapsed_seconds"] == 40 * 60
    assert update["due"] == "2026-11-23T11:00:00-08:00"
    assert [(w["percent"], w["team"], w["fired"]) for w in update["warnings"]] == [(50, "account_manager", True)]
    assert update["warnings"][0]["fires_at"] == "2026-11-23T10:30:00-08:00"
    # The ladder: the category's escalation at half the 30-minute first response (10:15), the IT director at 10:30.
    levels = [(lv["team"], lv["via"], lv["fires_at"]) for lv in customers["escalation"]["levels"]]
    assert levels == [("engineering", "pager", "2026-11-23T10:15:00-08:00"),
                      ("it_director", "pager", "2026-11-23T10:30:00-08:00")]
    assert customers["escalation"]["level"] == 2 and customers["escalation"]["team"] == "it_director"
    assert [lv["team"] for lv in plans["escalation"]["levels"]] == ["engineering", "support_manager",
                                                                    "account_manager"]
    # Where the terms that ran the clocks are written: the customer's overrides, not the plan.
    assert customers["clocks"] == {"file": CUSTOMER, "line": _line_of(folder, "  clocks:")}
    assert plans["clocks"]["file"] == "policies/plans/premium-24x7/2026.1.yaml"
    # What the overrides leave alone is the plan's: the first response's warnings and statuses.
    assert customers["targets"]["first_response"]["warnings"] == plans["targets"]["first_response"]["warnings"]


def test_the_terms_in_force_name_the_customers_line_for_each_clock_term_it_overrides(overridden):
    mine, folder = overridden
    terms = {t["term"]: t for t in terms_in_force(mine, "harbor-county",
                                                  datetime(2026, 11, 23, 18, tzinfo=timezone.utc))["terms"]}
    pause = terms["clocks.targets.next_update.pause"]
    assert pause["value"] == ["pending_customer"]
    assert pause["from"] == {"file": CUSTOMER, "line": _line_of(folder, "pause: [pending_customer]")}
    assert terms["clocks.escalation.levels"]["from"]["file"] == CUSTOMER
    assert terms["clocks.targets.first_response.pause"]["from"]["file"] == "policies/plans/premium-24x7/2026.1.yaml"


def _errors(tmp_path, overrides: str) -> list:
    policy_set, errors = _policies(tmp_path, overrides)
    assert policy_set is None
    return [e for e in errors if e.severity == "error"]


@pytest.mark.parametrize("override,code,where,words", [
    ("  clocks:\n    targets:\n      next_update:\n        pause: [pending_customer, waiting]\n",
     "unknown_status", "pause: [pending_customer, waiting]", "there is no status 'waiting' in clocks.statuses"),
    ("  clocks:\n    targets:\n      next_update:\n        pause: [solved]\n",
     "invalid_clock", "pause: [solved]", "solved solves the ticket, which stops every clock"),
    ("  clocks:\n    targets:\n      first_response:\n        warnings:\n          - {percent: 80, notify: support}\n"
     "          - {percent: 60, notify: account_manager}\n",
     "invalid_warning", "percent: 60", "rising order of percent: 60 comes after 80"),
    ("  clocks:\n    targets:\n      resolution:\n        pause: []\n",
     "unknown_term", "resolution:", "the plan defines no term 'clocks.targets.resolution' to override"),
    ("  clocks:\n    escalation:\n      levels:\n        - {to: decision, at: {percent: 100, of: resolution}}\n",
     "unknown_target", "of: resolution", "no target 'resolution'"),
    ("  clocks:\n    escalation:\n      levels:\n        - {to: decision, after: {hours: 1}, at: {percent: 50, of: "
     "first_response}}\n", "invalid_escalation", "- {to: decision", "after a delay (after: ...) or at a share"),
    ("  clocks:\n    targets:\n      next_update:\n        stop: every_reply\n",
     "invalid_value", "stop: every_reply", "every_reply"),
])
def test_each_mistake_in_a_customers_clock_overrides_is_reported_at_its_place(tmp_path, override, code, where,
                                                                              words):
    errors = _errors(tmp_path, override)
    assert {e.code for e in errors} == {code}, [str(e) for e in errors]
    error = errors[0]
    assert error.file.endswith(CUSTOMER) and error.line == _line_of(tmp_path, where), str(error)
    assert words in error.message, error.message
    assert str(error).startswith(f"{error.file}:{error.line}:{error.column}: {code}: ")


def test_an_override_that_says_what_the_plan_says_is_a_warning_and_the_set_still_loads(tmp_path):
    # The plan's own reopen term for the next update, written again: it changes nothing, and would hold the
    # customer to it when a new plan version changes it.
    policy_set, found = _policies(tmp_path, "  clocks:\n    targets:\n      next_update:\n        on_reopen: restart\n"
                                            "        pause: [on_hold]\n")
    assert policy_set is not None, [str(e) for e in found]
    [warning] = [e for e in found if e.severity == "warning" and e.code == "redundant_override"]
    assert warning.file.endswith(CUSTOMER) and warning.line == _line_of(tmp_path, "on_reopen: restart")
    assert "clocks.targets.next_update.on_reopen is the plan's own term already" in warning.message
    assert not [e for e in found if e.severity == "error"]


SUITE = """\
# yaml-language-server: $schema=../../schemas/suite.schema.json
suite: harbor-clocks
cases:
  - name: on hold with a supplier, the county's next update still counts and the IT director is paged
    request: {customer: harbor-county, received_at: "2026-11-23T10:00:00-08:00", channel: email, category: outage,
              requester: {email: cio@harbor-county.gov}, attributes: {severity: 1}}
    ticket:
      events:
        - {type: status, at: "2026-11-23T10:05:00-08:00", status: open}
        - {type: status, at: "2026-11-23T10:20:00-08:00", status: on_hold}
      at: "2026-11-23T10:40:00-08:00"
    expect:
      clocks:
        targets: {next_update: {state: running, elapsed_seconds: 2400, due: "2026-11-23T11:00:00-08:00"}}
        escalation: {level: 2, team: it_director, via: pager}
"""


def test_a_policy_test_case_in_yaml_checks_the_clocks_under_the_customers_terms(overridden, policy_set, tmp_path):
    mine, _ = overridden
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "harbor-clocks.yaml").write_text(SUITE, encoding="utf-8")
    suites, errored = load_suites([tmp_path])
    assert errored == [] and len(suites) == 1
    assert run(mine, suites).counts == {"passed": 1, "failed": 0, "errored": 0}
    # Under the plan's own clock terms the same case fails, on its clocks alone.
    [result] = run(policy_set, suites).suites[0].cases
    assert result.status == "failed" and [m.field for m in result.mismatches] == ["clocks"]
    assert result.mismatches[0].actual["targets"]["next_update"]["state"] == "paused"
