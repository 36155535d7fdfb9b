"""Policy test suites (engine/suites.py) and the `test` command's reporters.

The shipped suites in policies/tests/ must pass and decide with every rule.
The rest builds suites in tmp_path, runs them through the engine and reads
the text, JSON and JUnit reports they produce.
"""
from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from supportpolicy.engine import load_policy_set
from supportpolicy.engine.load.files import label_from_root_name
from supportpolicy.engine.resources import shipped
from supportpolicy.engine.tools.suites import Case, below, load_suites, matches, run, run_case, selected
from supportpolicy.server import reports
from supportpolicy.server.cli import main

from support import CATEGORIES, CHANNELS, DESIGNATED, OTHER

MODELINE = "# yaml-language-server: $schema=../../schemas/suite.schema.json\n"
SHIPPED_SUITES = {"decision-table", "calendar", "categories-and-channels", "refusals", "premium"}

IN_HOURS = "2026-11-27T10:00:00-06:00"  # Friday
SATURDAY_NIGHT = "2026-11-28T23:00:00-06:00"
MONDAY_11 = "2026-11-30T11:00:00-06:00"  # Monday's 07:00 opening + 4 business hours

ROW_TRACES = {
    "row 1, phone in hours": ("route-and-coverage/emergency-in-business-hours", "billing/emergency-support-is-free",
                              "response-deadline/emergency-call-answered-live", "escalation/by-category"),
    "row 1, other channel in hours": ("route-and-coverage/emergency-in-business-hours",
                                      "billing/emergency-support-is-free",
                                      "response-deadline/emergency-answered-within-the-hour", "escalation/by-category"),
    "row 1, after hours": ("route-and-coverage/emergency-after-hours", "billing/emergency-support-is-free",
                           "response-deadline/emergency-answered-within-the-hour", "escalation/by-category"),
    "rows 2 and 3": ("route-and-coverage/business-hours", "billing/business-hours-are-included",
                     "response-deadline/business-hours-channel-target", "escalation/by-category"),
    "row 4": ("route-and-coverage/after-hours-designated-contact", "billing/after-hours-work-is-charged",
              "response-deadline/after-hours-message", "escalation/by-category"),
    "row 5": ("route-and-coverage/after-hours-waits-for-support", "billing/after-hours-waits-unbilled",
              "response-deadline/after-hours-message", "escalation/by-category"),
}


# ---- helpers ------------------------------------------------------------------

def request(received_at=SATURDAY_NIGHT, channel="email", category="usage_question", email=DESIGNATED) -> dict:
    return {"customer": "demo-city", "received_at": received_at, "channel": channel,
            "requester": {"email": email}, "category": category}


def case(req: dict, expect=None, expect_error=None, suite="unit", name="a case") -> Case:
    return Case(suite, name, req, expect, expect_error, "unit.yaml", 1)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th line of ``path`` that contains ``needle``."""
    found = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    assert len(found) >= occurrence, f"{needle!r} is not in {path} {occurrence} time(s)"
    return found[occurrence - 1]


def copy_policy(tmp_path: Path, keep_tests: bool = True, premium: bool = True) -> tuple[Path, Path]:
    """Copies of the shipped policies/ and rules/ in tmp_path (without policies/tests unless asked; without
    the premium plan, its customer, its rules and the integrations that map to them when asked, leaving the
    central-standard contract alone)."""
    policies, rules = tmp_path / "policies", tmp_path / "rules"
    shutil.copytree(shipped("policies"), policies)
    shutil.copytree(shipped("rules"), rules)
    if not keep_tests:
        shutil.rmtree(policies / "tests", ignore_errors=True)
    if not premium:
        for folder in (policies / "plans" / "premium-24x7", rules / "premium"):
            shutil.rmtree(folder)
        (policies / "customers" / "harbor-county.yaml").unlink()
        (policies / "tests" / "premium.yaml").unlink(missing_ok=True)
        shutil.rmtree(policies / "integrations")  # the shipped mappings send the premium plan's words too
    return policies, rules


def run_folder(policy_set, folder: Path, patterns=()):
    suites, errored = load_suites([folder], label_from_root_name)
    return run(policy_set, suites, errored, patterns)


def results_by_name(test_run) -> dict:
    return {(s.name, r.case.name): r for s in test_run.suites for r in s.cases}


@pytest.fixture(scope="module")
def shipped_run(policy_set):
    suites, errored = load_suites([shipped("policies")], label_from_root_name)
    return suites, errored, run(policy_set, suites, errored)


# ---- the shipped suites -------------------------------------------------------------

def test_the_shipped_suites_all_pass_and_every_rule_decides_a_case(shipped_run):
    suites, errored, result = shipped_run
    assert errored == []
    assert {s.name for s in suites} >= SHIPPED_SUITES
    failures = [(r.case.id, r.mismatches, r.refusal) for s in result.suites for r in s.cases if r.status != "passed"]
    assert failures == []
    assert result.counts == {"passed": sum(len(s.cases) for s in suites), "failed": 0, "errored": 0}
    assert [r.name for r in result.coverage.uncovered] == []
    assert result.coverage.ratio == 1
    assert len(result.coverage.rules) == 30  # 14 of central-standard's, 16 of the premium plan's
    assert not below(result.coverage, Fraction(100))
    assert "rule coverage: 30 of 30 rules decided a case (100.00%)" in reports.test_text(result)


def test_the_shipped_suites_cover_every_row_channel_category_and_refusal(shipped_run):
    _, _, result = shipped_run
    decided = [r for s in result.suites for r in s.cases if r.decision is not None]
    traces = {tuple(t["rule"] for t in r.decision.as_json()["trace"]) for r in decided}
    assert {row: trace in traces for row, trace in ROW_TRACES.items()} == dict.fromkeys(ROW_TRACES, True)
    seen = {(r.case.request["channel"], r.decision.as_json()["in_business_hours"]) for r in decided}
    assert seen >= {(channel, inside) for channel in CHANNELS for inside in (True, False)}
    assert {r.case.request["category"] for r in decided} >= set(CATEGORIES)
    holidays = {r.decision.as_json()["holiday"] for r in decided}
    assert holidays >= {"Christmas Day", "Thanksgiving Day", "Independence Day (observed)"}
    refusals = {(r.case.expect_error["status"], r.case.expect_error.get("pointer"))
                for s in result.suites for r in s.cases if r.case.expect_error}
    assert refusals >= {(422, "/channel"), (422, "/category"), (404, "/customer"), (422, "/received_at")}


def test_the_shipped_suite_files_start_with_the_modeline_and_use_a_default_request():
    files = sorted((shipped("policies") / "tests").glob("*.yaml"))
    assert {yaml.safe_load(f.read_text(encoding="utf-8"))["suite"] for f in files} >= SHIPPED_SUITES
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert text.startswith(MODELINE), f
        assert (f.parent / "../../schemas/suite.schema.json").resolve().is_file()
        data = yaml.safe_load(text)
        assert next(iter(data)) == "suite", f
        assert data["defaults"]["request"], f


# ---- matching ---------------------------------------------------------------------

RATE = {"amount": "200.00", "currency": "USD"}
TRACE = [{"rule": "route-and-coverage/after-hours-designated-contact", "file": "rules/route-and-coverage.yaml",
          "line": 23},
         {"rule": "billing/after-hours-work-is-charged", "file": "rules/billing.yaml", "line": 19}]


@pytest.mark.parametrize("name,expected,actual,result", [
    # objects: only the listed keys are compared
    ("route", {"team": "support"}, {"team": "support"}, True),
    ("route", {"team": "support"}, {"team": "emergency_on_call"}, False),
    ("escalation", {"team": "liaison"}, {"team": "liaison", "via": None}, True),
    ("escalation", {"team": "technical", "via": "issue_tracker"}, {"team": "technical", "via": None}, False),
    ("escalation", {"team": "liaison", "via": None}, {"team": "liaison", "via": None}, True),
    ("route", {"team": "support"}, None, False),
    ("hourly_rate", RATE, None, False),
    ("hourly_rate", None, RATE, False),
    ("hourly_rate", None, None, True),
    ("policy", {"id": "central-standard", "version": "2026.1"},
     {"id": "central-standard", "version": "2026.1", "digest": "sha256:00"}, True),
    # times: the same instant, whatever the offset
    ("respond_by", "2026-11-30T17:00:00Z", "2026-11-30T11:00:00-06:00", True),
    ("respond_by", "2026-11-30T11:00:00-06:00", "2026-11-30T17:00:00+00:00", True),
    ("respond_by", "2026-11-30T17:00:00z", "2026-11-30T11:00:00-06:00", True),
    ("local_time", "2026-11-01T01:30:00-05:00", "2026-11-01T01:30:00-06:00", False),
    ("respond_by", "2026-11-30T11:00:00-06:00", "2026-11-30T11:00:01-06:00", False),
    ("respond_by", "2026-11-30T11:00:00", "2026-11-30T11:00:00-06:00", False),  # no offset: not an instant
    ("respond_by", "2026-11-30T17:00:00Z", None, False),
    ("respond_by", None, "2026-11-30T17:00:00Z", False),
    ("respond_by", None, None, True),
    # other strings: exactly
    ("holiday", "Christmas Day", "Christmas Day", True),
    ("holiday", "christmas day", "Christmas Day", False),
    ("holiday", None, "Christmas Day", False),
    # amounts: a YAML number (a Decimal) against the decimal string
    ("amount", Decimal("200.00"), "200.00", True),
    ("amount", Decimal("200"), "200.00", True),
    ("amount", 200, "200.00", True),
    ("amount", Decimal("200.01"), "200.00", False),
    ("amount", Decimal("200.00"), "USD", False),
    ("amount", "200", "200.00", False),  # a string is compared as written
    ("hourly_rate", {"amount": Decimal("200.00"), "currency": "USD"}, RATE, True),
    ("hourly_rate", {"amount": Decimal("199.99"), "currency": "USD"}, RATE, False),
    # booleans are never 0 or 1
    ("billable", True, True, True),
    ("billable", False, False, True),
    ("billable", True, False, False),
    ("billable", True, 1, False),
    ("billable", False, 0, False),
    ("billable", 1, True, False),
    ("billable", 0, False, False),
    ("billable", Decimal(1), True, False),
    ("billable", True, "true", False),
    ("in_business_hours", False, None, False),
    # a trace given as rule names must be the whole trace, in order
    ("trace", [t["rule"] for t in TRACE], TRACE, True),
    ("trace", [TRACE[0]["rule"]], TRACE, False),
    ("trace", [t["rule"] for t in reversed(TRACE)], TRACE, False),
    ("trace", [t["rule"] for t in TRACE] + ["escalation/by-category"], TRACE, False),
    ("trace", [], TRACE, False),
])
def test_matches(name, expected, actual, result):
    assert matches(name, expected, actual) is result


def test_only_the_listed_fields_are_compared(policy_set):
    req = request()  # a Saturday-night usage question from a designated contact: row 4
    assert run_case(policy_set, case(req, {"billable": True})).status == "passed"
    result = run_case(policy_set, case(req, {"billable": True, "route": {"team": "support"}}))
    assert result.status == "failed"
    assert [(m.field, m.expected, m.actual) for m in result.mismatches] == [
        ("route", {"team": "support"}, {"team": "emergency_on_call"})]


def test_a_failing_case_reports_each_mismatched_field_with_expected_actual_and_the_deciding_rules(policy_set):
    expect = {"billable": False, "notice_required": True, "route": {"team": "support"},
              "respond_by": "2026-11-30T10:00:00-06:00", "hourly_rate": None, "holiday": None,
              "trace": list(ROW_TRACES["row 4"])}
    result = run_case(policy_set, case(request(), expect))
    assert result.status == "failed"
    assert [(m.field, m.expected, m.actual) for m in result.mismatches] == [
        ("billable", False, True),
        ("route", {"team": "support"}, {"team": "emergency_on_call"}),
        ("respond_by", "2026-11-30T10:00:00-06:00", MONDAY_11),
        ("hourly_rate", None, RATE),
    ]
    assert [t["rule"] for t in result.decision.as_json()["trace"]] == list(ROW_TRACES["row 4"])
    assert result.refusal is None


def test_a_wrong_trace_is_reported_with_the_whole_actual_trace(policy_set):
    result = run_case(policy_set, case(request(), {"trace": list(ROW_TRACES["row 5"])}))
    assert result.status == "failed"
    (mismatch,) = result.mismatches
    assert mismatch.field == "trace" and mismatch.expected == list(ROW_TRACES["row 5"])
    assert [t["rule"] for t in mismatch.actual] == list(ROW_TRACES["row 4"])


@pytest.mark.parametrize("expect_error,mismatches", [
    ({"status": 422, "pointer": "/channel"}, []),
    ({"status": 422}, []),
    ({"status": 404, "pointer": "/channel"}, [("status", 404, 422)]),
    ({"status": 400}, [("status", 400, 422)]),
    ({"status": 422, "pointer": "/category"}, [("pointer", "/category", ["/channel"])]),
    ({"status": 404, "pointer": "/customer"}, [("status", 404, 422), ("pointer", "/customer", ["/channel"])]),
])
def test_expect_error_must_name_the_status_and_pointer_of_the_refusal(policy_set, expect_error, mismatches):
    result = run_case(policy_set, case(request(channel="fax"), expect_error=expect_error))
    assert result.status == ("failed" if mismatches else "passed")
    assert [(m.field, m.expected, m.actual) for m in result.mismatches] == mismatches
    assert result.refusal.startswith("422 ")


def test_an_unknown_customer_is_refused_with_404_at_customer(policy_set):
    req = dict(request(), customer="nowhere-town")
    assert run_case(policy_set, case(req, expect_error={"status": 404, "pointer": "/customer"})).status == "passed"
    assert run_case(policy_set, case(req, expect_error={"status": 422})).status == "failed"


def test_a_case_expecting_a_refusal_that_gets_a_decision_fails(policy_set):
    result = run_case(policy_set, case(request(), expect_error={"status": 422, "pointer": "/channel"}))
    assert result.status == "failed"
    assert [(m.field, m.expected, m.actual) for m in result.mismatches] == [("status", 422, "a decision")]
    assert result.decision is not None and result.refusal is None


def test_a_case_expecting_a_decision_that_gets_refused_fails_with_the_refusal(policy_set):
    result = run_case(policy_set, case(request(received_at="2025-12-31T23:59:59-06:00"), {"billable": True}))
    assert result.status == "failed"
    assert result.decision is None
    assert result.refusal.startswith("422 ") and "2026-01-01" in result.refusal
    (mismatch,) = result.mismatches
    assert (mismatch.field, mismatch.expected) == ("decision", "a decision")
    assert mismatch.actual == f"refused: {result.refusal}"


def test_a_yaml_number_amount_is_loaded_as_a_decimal_and_matches_the_decimal_string(tmp_path, policy_set):
    suite = write(tmp_path / "tests" / "rate.yaml", MODELINE + f"""suite: rate
defaults:
  request: {{customer: demo-city, requester: {{email: {DESIGNATED}}}, channel: email, category: usage_question}}
cases:
  - name: written as a number
    request: {{received_at: "{SATURDAY_NIGHT}"}}
    expect: {{hourly_rate: {{amount: 200.00, currency: USD}}}}
  - name: written as a string
    request: {{received_at: "{SATURDAY_NIGHT}"}}
    expect: {{hourly_rate: {{amount: "200.00", currency: USD}}}}
  - name: a different number
    request: {{received_at: "{SATURDAY_NIGHT}"}}
    expect: {{hourly_rate: {{amount: 200.50, currency: USD}}}}
""")
    (loaded,), errored = load_suites([suite], label_from_root_name)
    assert errored == []
    amount = loaded.cases[0].expect["hourly_rate"]["amount"]
    assert isinstance(amount, Decimal) and amount == Decimal("200.00")
    result = run(policy_set, [loaded])
    assert [r.status for r in result.suites[0].cases] == ["passed", "passed", "failed"]


def test_times_in_a_suite_are_compared_as_instants(tmp_path, policy_set):
    suite = write(tmp_path / "tests" / "times.yaml", MODELINE + f"""suite: times
defaults:
  request: {{customer: demo-city, requester: {{email: {OTHER}}}, channel: email, category: usage_question}}
cases:
  - name: a deadline in UTC
    request: {{received_at: "{SATURDAY_NIGHT}"}}
    expect: {{respond_by: "2026-11-30T17:00:00Z"}}
  - name: a deadline in Chicago time
    request: {{received_at: "{SATURDAY_NIGHT}"}}
    expect: {{respond_by: "2026-11-30T11:00:00-06:00"}}
  - name: the same wall time in UTC is another instant
    request: {{received_at: "{SATURDAY_NIGHT}"}}
    expect: {{respond_by: "2026-11-30T11:00:00Z"}}
""")
    result = run_folder(policy_set, suite)
    assert [r.status for r in result.suites[0].cases] == ["passed", "passed", "failed"]


# ---- suites that cannot be loaded ------------------------------------------------------

SYNTAX_ERROR = MODELINE + """suite: syntax-error
cases:
  - name: a case
    request: {channel: [}
    expect: {billable: false}
"""
UNKNOWN_FIELD = MODELINE + f"""suite: unknown-field
cases:
  - name: a case
    request: {{customer: demo-city, received_at: "{IN_HOURS}", channel: email, category: other,
              requester: {{email: {OTHER}}}}}
    expect:
      billable: false
      billabel: false
"""
WRONG_TYPE = MODELINE + f"""suite: wrong-type
cases:
  - name: a boolean written as a number
    request: {{customer: demo-city, received_at: "{IN_HOURS}", channel: email, category: other,
              requester: {{email: {OTHER}}}}}
    expect:
      billable: 0
"""
DUPLICATE = MODELINE + f"""suite: duplicate
defaults:
  request: {{customer: demo-city, received_at: "{IN_HOURS}", channel: email, category: other,
            requester: {{email: {OTHER}}}}}
cases:
  - name: the same name
    request: {{}}
    expect: {{billable: false}}
  - name: another name
    request: {{}}
    expect: {{billable: false}}
  - name: the same name
    request: {{channel: phone}}
    expect: {{billable: false}}
"""


@pytest.fixture()
def broken_suites(tmp_path):
    """A copy of the shipped policies whose tests/ also holds four suites that cannot be loaded."""
    policies, _ = copy_policy(tmp_path)
    tests = policies / "tests"
    files = {"syntax-error": write(tests / "syntax-error.yaml", SYNTAX_ERROR),
             "unknown-field": write(tests / "unknown-field.yaml", UNKNOWN_FIELD),
             "wrong-type": write(tests / "wrong-type.yaml", WRONG_TYPE),
             "duplicate": write(tests / "duplicate.yaml", DUPLICATE)}
    return policies, files


def test_broken_suites_are_reported_as_errored_at_their_place_and_the_others_still_run(policy_set, broken_suites):
    policies, files = broken_suites
    suites, errored = load_suites([policies], label_from_root_name)
    assert {s.name for s in suites} == {s.name for s in load_suites([shipped("policies")])[0]}
    by_file = {e.file: e for e in errored}
    assert set(by_file) == {f"policies/tests/{name}.yaml" for name in files}
    places = {}
    for name, path in files.items():
        result = by_file[f"policies/tests/{name}.yaml"]
        assert result.status == "errored" and result.cases == ()
        places[name] = [(e.code, e.line) for e in result.errors]
    first_duplicate = line_of(files["duplicate"], "name: the same name")
    assert places == {
        "syntax-error": [("yaml_syntax", line_of(files["syntax-error"], "[}"))],
        "unknown-field": [("unknown_field", line_of(files["unknown-field"], "billabel"))],
        "wrong-type": [("wrong_type", line_of(files["wrong-type"], "billable: 0"))],
        "duplicate": [("duplicate_case", line_of(files["duplicate"], "name: the same name", 2))],
    }
    (duplicate,) = by_file["policies/tests/duplicate.yaml"].errors
    assert f"already at line {first_duplicate}" in duplicate.message
    assert by_file["policies/tests/unknown-field.yaml"].name == "unknown-field"

    result = run(policy_set, suites, errored)
    assert result.counts == {"passed": sum(len(s.cases) for s in suites), "failed": 0, "errored": 4}
    assert {s.name: s.status for s in result.suites if s.status != "errored"} == dict.fromkeys(
        {s.name for s in suites}, "passed")
    text = reports.test_text(result)
    errored_lines = [line for line in text.splitlines() if line.startswith("ERRORED")]
    for name in files:
        (line,) = [line for line in errored_lines if f"policies/tests/{name}.yaml" in line]
        assert line.endswith(": the suite could not be loaded")
    assert "ERRORED  policies/tests/syntax-error.yaml: the suite" in text  # a suite without a name: its path, once
    assert f"    policies/tests/duplicate.yaml:{places['duplicate'][0][1]}:" in text
    assert f"    policies/tests/syntax-error.yaml:{places['syntax-error'][0][1]}:" in text
    assert "PASSED   decision-table (policies/tests/decision-table.yaml)" in text
    assert text.rstrip().endswith(f"{result.counts['passed']} passed, 0 failed, 4 errored")
    document = json.loads(reports.test_json(result))
    assert document["counts"]["errored"] == 4
    errored_json = {s["file"]: s for s in document["suites"] if s["status"] == "errored"}
    assert errored_json["policies/tests/wrong-type.yaml"]["errors"][0]["line"] == places["wrong-type"][0][1]


def test_the_test_command_reports_broken_suites_given_as_paths_and_runs_the_others(broken_suites):
    policies, files = broken_suites
    outcome = CliRunner().invoke(main, ["test", str(policies / "tests")])
    assert outcome.exit_code == 1, outcome.output
    assert outcome.output.count("the suite could not be loaded") == 4
    assert "PASSED   decision-table" in outcome.output
    assert f"duplicate.yaml:{line_of(files['duplicate'], 'name: the same name', 2)}:" in outcome.output


def test_the_test_command_reports_broken_suites_in_the_policies_folder_and_runs_the_others(broken_suites):
    # A suite that cannot be loaded is an errored suite (exit 1), not an invalid
    # policy set (exit 3): the decision rules did not change.
    policies, files = broken_suites
    outcome = CliRunner().invoke(main, ["test", "--policies", str(policies), "--rules", str(shipped("rules"))])
    assert outcome.exit_code == 1, outcome.output
    assert outcome.output.count("the suite could not be loaded") == 4
    assert "PASSED   decision-table" in outcome.output


# ---- --filter ------------------------------------------------------------------------

ROW_4 = case({}, {"billable": True}, suite="decision-table",
             name="Row 4, a Saturday-night usage question from a designated contact is billed")


@pytest.mark.parametrize("patterns,expected", [
    ((), True),
    (["row 4"], True),  # a part of the name, whatever the case
    (["DECISION-TABLE/ROW 4"], True),
    (["table/row"], True),  # a part may span suite and case
    (["decision-table/*saturday*"], True),  # a glob over the whole "suite/case"
    (["*/row ?, a saturday-night*"], True),
    (["row 4*"], False),  # a glob must match the whole "suite/case"
    (["calendar/*"], False),
    (["row 5"], False),
    (["row 5", "saturday"], True),  # any pattern
    (["calendar", "row 5"], False),
])
def test_filter_matches_a_part_or_a_glob_of_suite_and_case_without_case(patterns, expected):
    assert selected(ROW_4, patterns) is expected


def test_filter_runs_only_the_selected_cases_and_counts_coverage_over_them(policy_set):
    suites, errored = load_suites([shipped("policies")], label_from_root_name)
    chosen = [c for s in suites for c in s.cases
              if s.name == "decision-table" and c.name.lower().startswith("row 1,")]
    assert len(chosen) >= 4
    result = run(policy_set, suites, errored, ["Decision-Table/ROW 1,*"])
    assert [s.name for s in result.suites] == ["decision-table"]
    assert [r.case.name for r in result.suites[0].cases] == [c.name for c in chosen]
    assert result.counts == {"passed": len(chosen), "failed": 0, "errored": 0}
    covered = {r.name for r in result.coverage.rules} - {r.name for r in result.coverage.uncovered}
    assert covered == {"route-and-coverage/emergency-in-business-hours", "route-and-coverage/emergency-after-hours",
                       "billing/emergency-support-is-free", "response-deadline/emergency-call-answered-live",
                       "response-deadline/emergency-answered-within-the-hour", "escalation/by-category"}
    nothing = run(policy_set, suites, errored, ["no such case"])
    assert nothing.suites == () and nothing.counts == {"passed": 0, "failed": 0, "errored": 0}


def test_the_test_command_exits_1_when_the_filter_selects_nothing():
    outcome = CliRunner().invoke(main, ["test", "--filter", "no such case"])
    assert outcome.exit_code == 1
    assert "no test case was run (check --filter)" in outcome.output


# ---- coverage -----------------------------------------------------------------------

ALL_BUT_THE_LIVE_CALL = MODELINE + f"""suite: most-rules
defaults:
  request: {{customer: demo-city, requester: {{email: {DESIGNATED}}}, category: usage_question}}
cases:
  - name: row 1 by e-mail in hours
    request: {{received_at: "{IN_HOURS}", channel: email, category: website_down}}
    expect: {{respond_by: "2026-11-27T11:00:00-06:00"}}
  - name: row 1 after hours
    request: {{received_at: "{SATURDAY_NIGHT}", channel: phone, category: website_down}}
    expect: {{route: {{team: emergency_on_call}}}}
  - name: row 3
    request: {{received_at: "{IN_HOURS}", channel: email}}
    expect: {{respond_by: "2026-11-27T14:00:00-06:00"}}
  - name: row 4
    request: {{received_at: "{SATURDAY_NIGHT}", channel: email}}
    expect: {{billable: true}}
  - name: row 5
    request: {{received_at: "{SATURDAY_NIGHT}", channel: email, requester: {{email: {OTHER}}}}}
    expect: {{billable: false}}
  - name: refused cases cover no rule
    request: {{received_at: "{IN_HOURS}", channel: fax}}
    expect_error: {{status: 422, pointer: /channel}}
"""
LIVE_CALL = f"""  - name: row 1 by phone in hours
    request: {{received_at: "{IN_HOURS}", channel: phone, category: website_down}}
    expect: {{respond_by: "{IN_HOURS}"}}
"""


@pytest.fixture()
def one_rule_uncovered(tmp_path):
    policies, rules = copy_policy(tmp_path, keep_tests=False, premium=False)
    write(policies / "tests" / "most-rules.yaml", ALL_BUT_THE_LIVE_CALL)
    return policies, rules


def test_coverage_is_exact_and_names_the_uncovered_rule_at_its_place(one_rule_uncovered):
    policies, rules = one_rule_uncovered
    policy_set = load_policy_set(policies, rules)
    result = run_folder(policy_set, policies)
    assert result.counts == {"passed": 6, "failed": 0, "errored": 0}
    coverage = result.coverage
    line = line_of(rules / "response-deadline.yaml", "id: emergency-call-answered-live")
    assert [(r.name, r.file, r.line) for r in coverage.uncovered] == [
        ("response-deadline/emergency-call-answered-live", "rules/response-deadline.yaml", line)]
    assert len(coverage.rules) == 14
    assert coverage.ratio == Fraction(13, 14)
    exactly = Fraction(1300, 14)  # 92.857142...%
    assert below(coverage, Fraction("99.99"))
    assert below(coverage, Fraction(100))
    assert below(coverage, Fraction("92.86"))  # the percentage as printed, rounded up
    assert below(coverage, exactly + Fraction(1, 10**12))
    assert not below(coverage, exactly)
    assert not below(coverage, Fraction("92.85"))
    assert not below(coverage, Fraction(0))

    text = reports.test_text(result)
    assert "rule coverage: 13 of 14 rules decided a case (92.86%)" in text
    assert f"  not covered: response-deadline/emergency-call-answered-live  rules/response-deadline.yaml:{line}" in text
    document = json.loads(reports.test_json(result))["coverage"]
    assert document == {"rules": 14, "covered": 13, "percent": pytest.approx(1300 / 14),
                        "uncovered": [{"rule": "response-deadline/emergency-call-answered-live",
                                       "file": "rules/response-deadline.yaml", "line": line}]}

    write(policies / "tests" / "most-rules.yaml", ALL_BUT_THE_LIVE_CALL + LIVE_CALL)
    full = run_folder(policy_set, policies).coverage
    assert full.uncovered == [] and full.ratio == 1
    assert not below(full, Fraction(100))


@pytest.mark.parametrize("minimum,exit_code", [("92.85", 0), ("92.86", 1), ("100", 1), (None, 0)])
def test_the_test_command_fails_below_min_coverage(policy_set, one_rule_uncovered, minimum, exit_code):
    # ``policy_set`` loads the shipped rules in this process first, as a long-lived
    # process (the server, `impact`) does: coverage must not depend on it.
    policies, rules = one_rule_uncovered
    args = ["test", "--policies", str(policies), "--rules", str(rules)]
    outcome = CliRunner().invoke(main, args + (["--min-coverage", minimum] if minimum else []))
    assert outcome.exit_code == exit_code, outcome.output
    assert ("rule coverage is below" in outcome.output) is bool(exit_code)


def test_a_suite_is_decided_by_the_rules_of_its_own_policy_set(policy_set, tmp_path):
    # The same conditions as the shipped billing rule, another outcome: after
    # hours a designated contact is billed without notice.
    policies, rules = copy_policy(tmp_path, keep_tests=False)
    billing = rules / "billing.yaml"
    text = billing.read_text(encoding="utf-8")
    assert "notice_required: {term: after_hours_notice_required}" in text
    billing.write_text(text.replace("notice_required: {term: after_hours_notice_required}",
                                    "notice_required: false"), encoding="utf-8")
    write(policies / "tests" / "no-notice.yaml", MODELINE + f"""suite: no-notice
defaults:
  request: {{customer: demo-city, requester: {{email: {DESIGNATED}}}, channel: email, category: usage_question}}
cases:
  - name: after hours a designated contact is billed without notice
    request: {{received_at: "{SATURDAY_NIGHT}"}}
    expect: {{billable: true, notice_required: false}}
""")
    changed = load_policy_set(policies, rules, label=lambda root, path: str(path))
    result = run_folder(changed, policies)
    assert result.counts == {"passed": 1, "failed": 0, "errored": 0}, reports.test_text(result)
    trace = result.suites[0].cases[0].decision.as_json()["trace"]
    assert trace[1]["rule"] == "billing/after-hours-work-is-charged"
    assert trace[1]["file"] == str(billing)
    # and the shipped set still decides with its own rules
    assert policy_set.decide(request()).as_json()["notice_required"] is True


def test_the_test_command_passes_the_shipped_suites_at_full_coverage():
    outcome = CliRunner().invoke(main, ["test", "--min-coverage", "100"])
    assert outcome.exit_code == 0, outcome.output
    assert "(100.00%)" in outcome.output


# ---- reporters ----------------------------------------------------------------------

MIXED = MODELINE + f"""suite: mixed
defaults:
  request: {{customer: demo-city, requester: {{email: {DESIGNATED}}}, channel: email, category: usage_question}}
cases:
  - name: a passing case
    request: {{received_at: "{SATURDAY_NIGHT}"}}
    expect: {{billable: true}}
  - name: a wrong expectation about <billing> & "rates"
    request: {{received_at: "{SATURDAY_NIGHT}"}}
    expect:
      billable: false
      notice_required: true
      hourly_rate: {{amount: 150.00}}
  - name: a refused request that expected a decision
    request: {{received_at: "2025-12-31T23:59:59-06:00"}}
    expect: {{billable: true}}
"""
GOOD = MODELINE + f"""suite: good
defaults:
  request: {{customer: demo-city, requester: {{email: {OTHER}}}, channel: phone, category: other}}
cases:
  - name: one
    request: {{received_at: "{IN_HOURS}"}}
    expect: {{respond_by: "{IN_HOURS}"}}
  - name: two
    request: {{received_at: "{IN_HOURS}", channel: sms}}
    expect_error: {{status: 422, pointer: /channel}}
"""


@pytest.fixture()
def mixed_run(tmp_path, policy_set):
    tests = tmp_path / "tests"
    files = {"mixed": write(tests / "mixed.yaml", MIXED), "good": write(tests / "good.yaml", GOOD),
             "duplicate": write(tests / "duplicate.yaml", DUPLICATE)}
    return run_folder(policy_set, tests), files


def test_the_text_report_shows_each_mismatch_with_the_case_place_and_the_deciding_rules(mixed_run, policy_set):
    result, files = mixed_run
    assert result.counts == {"passed": 3, "failed": 2, "errored": 1}
    text = reports.test_text(result)
    wrong = line_of(files["mixed"], "name: a wrong expectation")
    refused = line_of(files["mixed"], "name: a refused request")
    assert "FAILED   mixed (tests/mixed.yaml): 1 of 3 cases passed" in text
    assert f'  FAILED a wrong expectation about <billing> & "rates"  (tests/mixed.yaml:{wrong})' in text
    assert "      billable: expected false, got true" in text
    assert '      hourly_rate: expected {"amount": "150.00"}, got {"amount": "200.00", "currency": "USD"}' in text
    assert "notice_required" not in text  # it matched
    trace = policy_set.decide(request()).as_json()["trace"]
    assert "      decided by: " + "; ".join(f"{t['rule']} ({t['file']}:{t['line']})" for t in trace) in text
    assert f"  FAILED a refused request that expected a decision  (tests/mixed.yaml:{refused})" in text
    assert '      decision: expected "a decision", got "refused: 422 ' in text
    assert "a passing case" not in text and "PASSED one" not in text
    assert "PASSED   good (tests/good.yaml): 2 of 2 cases passed" in text
    assert "ERRORED  duplicate (tests/duplicate.yaml)" in text
    assert text.rstrip().endswith("3 passed, 2 failed, 1 errored")
    verbose = reports.test_text(result, verbose=True)
    assert f"  PASSED a passing case  (tests/mixed.yaml:{line_of(files['mixed'], 'name: a passing case')})" in verbose


def test_the_json_report_gives_mismatches_traces_and_refusals(mixed_run):
    result, _ = mixed_run
    document = json.loads(reports.test_json(result))
    assert document["counts"] == {"passed": 3, "failed": 2, "errored": 1}
    suites = {s["suite"]: s for s in document["suites"]}
    assert {name: s["status"] for name, s in suites.items()} == {
        "mixed": "failed", "good": "passed", "duplicate": "errored"}
    cases = {c["case"]: c for c in suites["mixed"]["cases"]}
    wrong = cases['a wrong expectation about <billing> & "rates"']
    assert wrong["status"] == "failed"
    assert wrong["mismatches"] == [
        {"field": "billable", "expected": False, "actual": True},
        {"field": "hourly_rate", "expected": {"amount": "150.00"}, "actual": {"amount": "200.00", "currency": "USD"}},
    ]
    assert [t["rule"] for t in wrong["trace"]] == list(ROW_TRACES["row 4"])
    refused = cases["a refused request that expected a decision"]
    assert refused["trace"] == [] and refused["refusal"].startswith("422 ")
    assert suites["duplicate"]["errors"][0]["code"] == "duplicate_case"


def test_the_junit_report_parses_and_counts_suites_cases_failures_and_errors(mixed_run):
    result, files = mixed_run
    root = ET.fromstring(reports.test_junit(result).encode("utf-8"))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "2", "1")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert {name: (s.get("tests"), s.get("failures"), s.get("errors")) for name, s in suites.items()} == {
        "mixed": ("3", "2", "0"), "good": ("2", "0", "0"), "duplicate": ("1", "0", "1")}
    assert len(root.findall("testsuite/testcase")) == 6
    assert len(root.findall(".//failure")) == 2 and len(root.findall(".//error")) == 1
    mixed = {c.get("name"): c for c in suites["mixed"].findall("testcase")}
    wrong = mixed['a wrong expectation about <billing> & "rates"']  # escaped and read back
    assert wrong.get("line") == str(line_of(files["mixed"], "name: a wrong expectation"))
    assert wrong.get("file") == "tests/mixed.yaml" and wrong.get("classname") == "mixed"
    failure = wrong.find("failure")
    assert "billable: expected false, got true" in failure.get("message")
    assert "decided by route-and-coverage/after-hours-designated-contact (rules/route-and-coverage.yaml:" in failure.text
    assert mixed["a passing case"].find("failure") is None
    refused = mixed["a refused request that expected a decision"].find("failure")
    assert 'got "refused: 422 ' in refused.get("message")
    (load,) = suites["duplicate"].findall("testcase")
    assert load.get("name") == "(load)"
    assert f"tests/duplicate.yaml:{line_of(files['duplicate'], 'name: the same name', 2)}:" in load.find("error").text
    assert all(c.find("failure") is None and c.find("error") is None for c in suites["good"].findall("testcase"))
