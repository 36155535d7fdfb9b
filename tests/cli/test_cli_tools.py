"""Acceptance tests of the policy tools of the ``supportpolicy`` command line, run as a separate process:
``validate`` (warnings, --strict, --format github/json), ``test``, ``explain`` and ``impact``.

Conventions are those of test_cli.py: the command is the ``supportpolicy`` script installed beside the
Python running the tests. Fixture
folders under ``tests/fixtures/policies/`` hold the files of one deliberate mistake, on a line marked
``# MISTAKE``, laid over ``good/`` when the tests run (``support.policy_cases``); expected lines and columns are computed from the fixture files, never written here as
numbers. Tests that need a policy to change work on a copy of the shipped ``policies/`` and ``rules/`` in a
temporary folder; nothing here writes to the checkout.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from support import DESIGNATED, ERROR_LINE, OTHER, REPO, error_lines, placed_lines, policy_cases, run_cli

CASES = policy_cases()
GOOD = CASES / "good"
MARK = "# MISTAKE"
GITHUB = re.compile(r"^::(?P<severity>warning|error) file=(?P<file>[^,]*),line=(?P<line>\d+),col=(?P<column>\d+),"
                    r"title=(?P<code>[^:,]*)::(?P<message>.*)$")

BILLING = "rules/billing.yaml"
ROUTE = "rules/route-and-coverage.yaml"
DEADLINE = "rules/response-deadline.yaml"
ESCALATION = "rules/escalation.yaml"
PLAN = "policies/plans/central-standard/2026.1.yaml"

SATURDAY_NIGHT = "2026-11-28T23:00:00-06:00"
FRIDAY_IN_HOURS = "2026-11-27T10:00:00-06:00"  # the day after Thanksgiving, a working day
THANKSGIVING_MORNING = "2026-11-26T10:00:00-06:00"


def request(received_at: str, channel: str = "email", category: str = "usage_question",
            email: str = DESIGNATED, **extra) -> dict:
    return dict({"customer": "demo-city", "received_at": received_at, "channel": channel,
                 "requester": {"email": email}, "category": category}, **extra)


# ---- running the command ------------------------------------------------------

def run(*args, cwd=CASES, timeout: float = 120, **options) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=cwd, timeout=timeout, **options)


def output(result) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout_text}--- stderr\n{result.stderr_text}"


def shipped_copy(where: Path) -> Path:
    """A copy of the shipped policies/ and rules/ (policy tests included) under ``where``."""
    where.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "policies", where / "policies")
    shutil.copytree(REPO / "rules", where / "rules")
    return where


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: expected {old!r} once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def rules_of(rules_dir: Path, file: str) -> list[tuple[str, int, bool]]:
    """(rule id, line, is default) for each rule of a rule set file, in order, as the file says.

    A rule's line is the line of its list item (``- id: ...``); the default's is the ``default:`` line.
    """
    lines = (rules_dir / file).read_text(encoding="utf-8").splitlines()
    found = []
    for n, line in enumerate(lines, 1):
        match = re.match(r"^\s*- id: ([\w-]+)", line)
        if match:
            found.append((match.group(1), n, False))
        elif line.startswith("default:"):
            match = re.match(r"^\s+id: ([\w-]+)", lines[n])
            assert match, f"{file}:{n + 1}: expected the default's id"
            found.append((match.group(1), n, True))
    return found


def rule_line(rules_dir: Path, file: str, rule_id: str) -> int:
    lines = [n for r, n, _ in rules_of(rules_dir, file) if r == rule_id]
    assert len(lines) == 1, f"{file}: rule {rule_id} found {len(lines)} times"
    return lines[0]


def line_of(path: Path, text: str) -> int:
    found = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line]
    assert len(found) == 1, f"{path}: expected one line with {text!r}, found {found}"
    return found[0]


def marked_place(case: str, file: str, anchor: str) -> tuple[int, int]:
    """The line marked ``# MISTAKE`` in ``case/file`` and the column where ``anchor`` starts on it."""
    text = (CASES / case / file).read_text(encoding="utf-8")
    found = [(n, line.index(anchor) + 1) for n, line in enumerate(text.splitlines(), 1)
             if MARK in line and anchor in line]
    assert len(found) == 1, f"fixture {case}/{file}: expected one marked line with {anchor!r}"
    return found[0]


# ---- validate: warnings and the no_default error -----------------------------------

# case -> (file, code, anchor on the marked line, json path, the rule named in the message)
WARNINGS = {
    "shadowed-rule": (ROUTE, "shadowed_rule", "id:", "$.rules[3]", "business-hours-phone-call"),
    "never-matches": (BILLING, "never_matches", "id:", "$.rules[2]", "holiday-work-in-business-hours"),
}
NEW_ERRORS = {
    "no-default": (BILLING, "no_default", "ruleset:", "$"),
}


@pytest.mark.parametrize("case", sorted(WARNINGS))
def test_validate_prints_a_warning_at_the_marked_line_and_exits_0(case):
    file, code, anchor, _, rule = WARNINGS[case]
    result = run("validate", case)
    assert result.returncode == 0, output(result)
    errors = error_lines(result.stdout_text)
    line, column = marked_place(case, file, anchor)
    assert [(e["file"], e["line"], e["column"], e["code"]) for e in errors] == [(f"{case}/{file}", line, column, code)], \
        f"expected {case}/{file}:{line}:{column}: {code}: ...\n{output(result)}"
    assert errors[0]["message"].startswith("warning: "), "a warning must read as one, not as an error"
    assert rule in errors[0]["message"]
    assert "0 errors, 1 warning" in result.stderr_text


def test_shadowed_rule_names_the_rule_that_takes_its_cases():
    result = run("validate", "shadowed-rule")
    message = error_lines(result.stdout_text)[0]["message"]
    assert re.search(r"\bbusiness-hours\b", message), message


def test_never_matches_names_the_conditions_that_cannot_hold_together():
    result = run("validate", "never-matches")
    message = error_lines(result.stdout_text)[0]["message"]
    assert "in_business_hours" in message and "on_holiday" in message, message


@pytest.mark.parametrize("case", sorted(WARNINGS))
def test_validate_strict_fails_on_a_warning(case):
    file, code, anchor, _, _ = WARNINGS[case]
    result = run("validate", "--strict", case)
    assert result.returncode == 1, output(result)
    line, column = marked_place(case, file, anchor)
    assert result.stdout_text.startswith(f"{case}/{file}:{line}:{column}: {code}: "), output(result)


def test_validate_strict_passes_a_policy_without_warnings():
    result = run("validate", "--strict", "good")
    assert result.returncode == 0, output(result)
    assert result.stdout_text == ""


@pytest.mark.parametrize("case", sorted(WARNINGS))
def test_validate_json_gives_the_warning_its_severity(case):
    file, code, anchor, json_path, _ = WARNINGS[case]
    result = run("validate", "--format", "json", case)
    assert result.returncode == 0, output(result)
    document = json.loads(result.stdout_text)
    line, column = marked_place(case, file, anchor)
    assert document["valid"] is True
    assert len(document["errors"]) == 1, document
    warning = document["errors"][0]
    assert {k: warning[k] for k in ("file", "line", "column", "code", "json_path", "severity")} == \
        {"file": f"{case}/{file}", "line": line, "column": column, "code": code, "json_path": json_path,
         "severity": "warning"}


@pytest.mark.parametrize("case", sorted(WARNINGS))
def test_validate_json_strict_fails_on_a_warning(case):
    result = run("validate", "--format", "json", "--strict", case)
    assert result.returncode == 1, output(result)
    assert json.loads(result.stdout_text)["errors"][0]["severity"] == "warning"


def test_validate_reports_a_rule_set_without_default_at_its_place():
    case = "no-default"
    file, code, anchor, json_path = NEW_ERRORS[case]
    result = run("validate", case)
    assert result.returncode == 1, output(result)
    errors = error_lines(result.stdout_text)
    line, column = marked_place(case, file, anchor)
    assert [(e["file"], e["line"], e["column"], e["code"]) for e in errors] == [(f"{case}/{file}", line, column, code)], \
        output(result)
    assert "default" in errors[0]["message"]
    assert not errors[0]["message"].startswith("warning")
    assert "1 error" in result.stderr_text
    document = json.loads(run("validate", "--format", "json", case).stdout_text)
    assert document["valid"] is False
    assert [(e["file"], e["line"], e["column"], e["code"], e["json_path"], e["severity"]) for e in document["errors"]] \
        == [(f"{case}/{file}", line, column, code, json_path, "error")]


def test_a_policy_set_without_default_is_refused_by_decide(tmp_path):
    result = run("decide", "--policies", CASES / "no-default" / "policies", "--rules", CASES / "no-default" / "rules",
                 "-", cwd=tmp_path, stdin=json.dumps(request(SATURDAY_NIGHT)).encode())
    assert result.returncode == 3, output(result)
    assert ": no_default: " in result.stderr_text


def github_lines(text: str) -> list[dict]:
    return placed_lines(text, GITHUB, "GitHub workflow command")


@pytest.mark.parametrize("case", sorted(WARNINGS) + sorted(NEW_ERRORS))
def test_validate_github_annotations(case):
    file, code, anchor = (WARNINGS.get(case) or NEW_ERRORS[case])[:3]
    severity = "warning" if case in WARNINGS else "error"
    text, github = run("validate", case), run("validate", "--format", "github", case)
    assert github.returncode == text.returncode == (0 if severity == "warning" else 1), output(github)
    line, column = marked_place(case, file, anchor)
    message = error_lines(text.stdout_text)[0]["message"]
    if severity == "warning":  # the annotation carries the severity; the text says it in the message
        assert message.startswith("warning: ")
        message = message.removeprefix("warning: ")
    # A normal path is written as it is: no escaping of '/', '-', '.'.
    assert github.stdout_text == \
        f"::{severity} file={case}/{file},line={line},col={column},title={code}::{message}\n", output(github)
    assert github_lines(github.stdout_text)[0]["severity"] == severity


def test_validate_github_annotations_for_absolute_paths():
    folder = CASES / "never-matches"
    result = run("validate", "--format", "github", folder)
    assert result.returncode == 0
    (entry,) = github_lines(result.stdout_text)
    assert entry["file"] == str(folder / BILLING)


def test_validate_github_escapes_commas_and_colons_in_file_names(tmp_path):
    odd = tmp_path / "a,b:c"
    odd.mkdir()
    shutil.copytree(CASES / "never-matches", odd / "never-matches")
    result = run("validate", "--format", "github", "a,b:c/never-matches", cwd=tmp_path)
    assert result.returncode == 0, output(result)
    (entry,) = github_lines(result.stdout_text)
    assert entry["file"] == f"a%2Cb%3Ac/never-matches/{BILLING}"
    line, column = marked_place("never-matches", BILLING, "id:")
    assert (entry["line"], entry["column"], entry["code"]) == (line, column, "never_matches")


def test_validate_github_prints_errors_and_warnings_together(tmp_path):
    # A shadowed rule and a rule set without default in one policy set.
    copy = tmp_path / "both"
    shutil.copytree(CASES / "no-default", copy)
    shutil.copy(CASES / "shadowed-rule" / ROUTE, copy / ROUTE)
    result = run("validate", "--format", "github", "both", cwd=tmp_path)
    assert result.returncode == 1, output(result)
    entries = github_lines(result.stdout_text)
    assert sorted((e["severity"], e["code"], e["file"]) for e in entries) == [
        ("error", "no_default", f"both/{BILLING}"), ("warning", "shadowed_rule", f"both/{ROUTE}")]


# ---- test ---------------------------------------------------------------------------

WRONG_SUITE = """\
# yaml-language-server: $schema=../../schemas/suite.schema.json
suite: wrong-expectations
defaults:
  request:
    customer: demo-city
    requester: {email: it.director@demo-city.gov}
cases:
  - name: 'Saturday night is billed at <999> & "more"'
    request: {received_at: "2026-11-28T23:00:00-06:00", channel: email, category: usage_question}
    expect:
      billable: true
      hourly_rate: {amount: "999.00", currency: USD}
  - name: Friday in hours is free
    request: {received_at: "2026-11-27T10:00:00-06:00", channel: email, category: usage_question}
    expect:
      billable: false
"""
WRONG_CASE = 'Saturday night is billed at <999> & "more"'

BROKEN_SUITE = """\
# yaml-language-server: $schema=../../schemas/suite.schema.json
suite: broken-suite
cases:
  - name: a case without a request
    expect: {billable: false}
"""

SYNTAX_BROKEN_SUITE = """\
# yaml-language-server: $schema=../../schemas/suite.schema.json
suite: syntax-broken
cases:
  - name: an unclosed flow mapping
    request: {received_at: "2026-11-28T23:00:00-06:00", channel: email
    expect: {billable: true}
"""

# One case for each row of the decision table; together they make every shipped rule decide.
CASE_ROWS = {
    "emergency call in hours": (FRIDAY_IN_HOURS, "phone", "website_down", DESIGNATED),
    "emergency e-mail on Saturday night": (SATURDAY_NIGHT, "email", "website_down", DESIGNATED),
    "question by e-mail in hours": (FRIDAY_IN_HOURS, "email", "usage_question", DESIGNATED),
    "question on Saturday night from a designated contact": (SATURDAY_NIGHT, "email", "usage_question", DESIGNATED),
    "question on Saturday night from a resident": (SATURDAY_NIGHT, "email", "usage_question", OTHER),
}
# The rules each of those cases is decided by: (file, rule id).
DECIDED_BY = {
    "emergency call in hours": [(ROUTE, "emergency-in-business-hours"), (BILLING, "emergency-support-is-free"),
                                (DEADLINE, "emergency-call-answered-live"), (ESCALATION, "by-category")],
    "emergency e-mail on Saturday night": [(ROUTE, "emergency-after-hours"), (BILLING, "emergency-support-is-free"),
                                           (DEADLINE, "emergency-answered-within-the-hour"),
                                           (ESCALATION, "by-category")],
    "question by e-mail in hours": [(ROUTE, "business-hours"), (BILLING, "business-hours-are-included"),
                                    (DEADLINE, "business-hours-channel-target"), (ESCALATION, "by-category")],
    "question on Saturday night from a designated contact": [
        (ROUTE, "after-hours-designated-contact"), (BILLING, "after-hours-work-is-charged"),
        (DEADLINE, "after-hours-message"), (ESCALATION, "by-category")],
    "question on Saturday night from a resident": [
        (ROUTE, "after-hours-waits-for-support"), (BILLING, "after-hours-waits-unbilled"),
        (DEADLINE, "after-hours-message"), (ESCALATION, "by-category")],
}


def suite_text(name: str, cases) -> str:
    lines = ["# yaml-language-server: $schema=../../schemas/suite.schema.json", f"suite: {name}", "cases:"]
    for case in cases:
        received_at, channel, category, email = CASE_ROWS[case]
        rules = [f"{file.split('/')[1][:-5]}/{rule}" for file, rule in DECIDED_BY[case]]
        lines += [f"  - name: {case}",
                  f"    request: {{customer: demo-city, received_at: \"{received_at}\", channel: {channel}, "
                  f"category: {category}, requester: {{email: {email}}}}}",
                  f"    expect: {{trace: [{', '.join(rules)}]}}"]
    return "\n".join(lines) + "\n"


def all_rules(rules_dir: Path) -> list[tuple[str, str, int]]:
    """(file, rule id, line) for every rule of every rule set."""
    return [(file, rule, line) for file in (ROUTE, BILLING, DEADLINE, ESCALATION)
            for rule, line, _ in rules_of(rules_dir, file)]


def test_test_runs_the_shipped_suites_from_any_folder(tmp_path):
    result = run("test", cwd=tmp_path)
    assert result.returncode == 0, output(result)
    assert re.search(r"^PASSED +decision-table \(policies/tests/decision-table\.yaml\)", result.stdout_text, re.M), \
        output(result)
    assert re.search(r"^\d+ passed, 0 failed$", result.stdout_text, re.M), output(result)
    counts = json.loads(run("test", "--format", "json", cwd=tmp_path).stdout_text)["counts"]
    assert counts["passed"] > 0 and counts["failed"] == 0 and counts["errored"] == 0


@pytest.fixture()
def wrong_copy(tmp_path) -> Path:
    copy = shipped_copy(tmp_path / "copy")
    (copy / "policies" / "tests" / "wrong.yaml").write_text(WRONG_SUITE, encoding="utf-8")
    return copy


def test_test_fails_a_case_showing_expected_actual_and_the_deciding_rules(wrong_copy):
    result = run("test", "--policies", "policies", "--rules", "rules", cwd=wrong_copy)
    assert result.returncode == 1, output(result)
    text = result.stdout_text
    suite = "policies/tests/wrong.yaml"
    case_line = line_of(wrong_copy / suite, "- name: 'Saturday night")
    assert re.search(rf"^FAILED +wrong-expectations \({re.escape(suite)}\): 1 of 2 cases passed$", text, re.M), text
    lines = text.splitlines()
    at = [i for i, line in enumerate(lines) if WRONG_CASE in line]
    assert len(at) == 1 and lines[at[0]].strip().startswith("FAILED"), text
    assert f"({suite}:{case_line})" in lines[at[0]], text
    detail = lines[at[0] + 1:at[0] + 3]
    mismatch = next((line for line in detail if "hourly_rate" in line), "")
    assert re.search(r"expected .*999\.00.*, got .*200\.00", mismatch), text
    decided = next((line for line in detail if "decided by" in line), "")
    for file, rule in DECIDED_BY["question on Saturday night from a designated contact"]:
        ruleset = file.split("/")[1][:-5]
        assert f"{ruleset}/{rule} ({file}:{rule_line(wrong_copy, file, rule)})" in decided, text
    # The passing case is not listed without --verbose; the totals count both.
    assert "Friday in hours is free" not in text
    assert re.search(r"^\d+ passed, 1 failed$", text, re.M), text


def test_test_verbose_lists_passing_cases(wrong_copy):
    result = run("test", "--verbose", "--policies", "policies", "--rules", "rules", cwd=wrong_copy)
    assert result.returncode == 1
    assert re.search(r"^ +PASSED +Friday in hours is free +\(policies/tests/wrong\.yaml:\d+\)$",
                     result.stdout_text, re.M), output(result)


def test_test_json_has_counts_and_the_mismatch(wrong_copy):
    result = run("test", "--format", "json", "--policies", "policies", "--rules", "rules", cwd=wrong_copy)
    assert result.returncode == 1, output(result)
    document = json.loads(result.stdout_text)
    assert document["counts"]["failed"] == 1 and document["counts"]["errored"] == 0
    assert document["counts"]["passed"] == sum(c["status"] == "passed" for s in document["suites"] for c in s["cases"])
    (suite,) = [s for s in document["suites"] if s["suite"] == "wrong-expectations"]
    assert suite["status"] == "failed" and suite["file"] == "policies/tests/wrong.yaml"
    (failed,) = [c for c in suite["cases"] if c["status"] == "failed"]
    assert failed["case"] == WRONG_CASE
    assert failed["line"] == line_of(wrong_copy / "policies/tests/wrong.yaml", "- name: 'Saturday night")
    assert failed["mismatches"] == [{"field": "hourly_rate", "expected": {"amount": "999.00", "currency": "USD"},
                                     "actual": {"amount": "200.00", "currency": "USD"}}]
    assert {"rule": "billing/after-hours-work-is-charged", "file": BILLING,
            "line": rule_line(wrong_copy, BILLING, "after-hours-work-is-charged")} in failed["trace"]


def test_test_junit_is_well_formed_xml(wrong_copy):
    result = run("test", "--format", "junit", "--policies", "policies", "--rules", "rules", cwd=wrong_copy)
    assert result.returncode == 1, output(result)
    root = ET.fromstring(result.stdout)
    assert root.tag == "testsuites"
    assert root.get("failures") == "1" and root.get("errors") == "0"
    cases = root.findall("testsuite/testcase")
    assert int(root.get("tests")) == len(cases)
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == [WRONG_CASE]
    failure = failed[0].find("failure")
    assert "999.00" in failure.get("message") and "200.00" in failure.get("message")
    assert f"({BILLING}:{rule_line(wrong_copy, BILLING, 'after-hours-work-is-charged')})" in failure.text
    (suite,) = [s for s in root.findall("testsuite") if s.get("name") == "wrong-expectations"]
    assert suite.get("failures") == "1" and suite.get("tests") == "2"


@pytest.mark.parametrize("broken,code", [(BROKEN_SUITE, "missing_field"), (SYNTAX_BROKEN_SUITE, "yaml_syntax")],
                         ids=["schema", "yaml-syntax"])
def test_test_reports_a_broken_suite_and_still_runs_the_others(tmp_path, broken, code):
    copy = shipped_copy(tmp_path / "copy")
    (copy / "policies" / "tests" / "broken.yaml").write_text(broken, encoding="utf-8")
    (copy / "policies" / "tests" / "rows.yaml").write_text(suite_text("rows", CASE_ROWS), encoding="utf-8")
    result = run("test", "--policies", "policies", "--rules", "rules", cwd=copy)
    assert result.returncode == 1, output(result)
    text = result.stdout_text
    lines = text.splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith("ERRORED") and "policies/tests/broken.yaml" in line]
    assert len(at) == 1, output(result)
    error = lines[at[0] + 1].strip()
    match = ERROR_LINE.match(error)
    assert match and match["file"] == "policies/tests/broken.yaml" and match["code"] == code, text
    if code == "missing_field":  # the case that lacks its request
        assert (int(match["line"]), int(match["column"])) == \
            (line_of(copy / "policies/tests/broken.yaml", "- name: a case without"), 5), text
    else:  # the syntax error is found at or after the unclosed mapping
        assert int(match["line"]) >= line_of(copy / "policies/tests/broken.yaml", "request: {"), text
    # The other suites ran and are reported.
    assert re.search(r"^PASSED +rows \(policies/tests/rows\.yaml\): 5 of 5 cases passed$", text, re.M), text
    assert re.search(r"^PASSED +decision-table ", text, re.M), text
    assert re.search(r"^\d+ passed, 0 failed, 1 errored$", text, re.M), text

    document = json.loads(run("test", "--format", "json", "--policies", "policies", "--rules", "rules",
                              cwd=copy).stdout_text)
    assert document["counts"]["errored"] == 1 and document["counts"]["failed"] == 0
    (errored,) = [s for s in document["suites"] if s["status"] == "errored"]
    assert errored["file"] == "policies/tests/broken.yaml" and errored["errors"][0]["code"] == code

    junit = run("test", "--format", "junit", "--policies", "policies", "--rules", "rules", cwd=copy)
    root = ET.fromstring(junit.stdout)
    assert root.get("errors") == "1"
    errors = root.findall("testsuite/testcase/error")
    assert len(errors) == 1 and "policies/tests/broken.yaml" in errors[0].text


@pytest.mark.parametrize("case,code", [("no-default", "no_default"), ("unknown-fact", "unknown_fact")])
def test_test_with_invalid_policies_exits_3(tmp_path, case, code):
    result = run("test", "--policies", CASES / case / "policies", "--rules", CASES / case / "rules", cwd=tmp_path)
    assert result.returncode == 3, output(result)
    assert result.stdout_text == ""
    assert f": {code}: " in result.stderr_text


@pytest.mark.parametrize("args", [
    ["test", "--format", "xml"],
    ["test", "--min-coverage", "101"],
    ["test", "--min-coverage", "-1"],
    ["test", "--min-coverage", "lots"],
    ["test", "--min-coverage", "nan"],
    ["test", "no-such-suite.yaml"],
    ["test", "--policies", "no-such-folder"],
], ids=lambda args: " ".join(args))
def test_test_usage_errors_exit_2(tmp_path, args):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2, output(result)
    assert result.stdout_text == ""
    assert "Error" in result.stderr_text


@pytest.fixture()
def rows_suite(tmp_path) -> Path:
    """A suite of the five rows, beside the good copy of the policy, run from a folder holding both."""
    shutil.copytree(GOOD, tmp_path / "good")
    (tmp_path / "rows.yaml").write_text(suite_text("rows", CASE_ROWS), encoding="utf-8")
    return tmp_path


def run_rows(folder: Path, *args, cases=None, output_format="json"):
    if cases is not None:
        (folder / "some-rows.yaml").write_text(suite_text("some-rows", cases), encoding="utf-8")
    suite = "rows.yaml" if cases is None else "some-rows.yaml"
    return run("test", suite, "--policies", "good/policies", "--rules", "good/rules", "--format", output_format,
               *args, cwd=folder)


def case_names(result) -> list[str]:
    return sorted(c["case"] for s in json.loads(result.stdout_text)["suites"] for c in s["cases"])


@pytest.mark.parametrize("patterns,expected", [
    (["in hours"], ["emergency call in hours", "question by e-mail in hours"]),
    (["IN HOURS"], ["emergency call in hours", "question by e-mail in hours"]),
    (["rows/question on*"], ["question on Saturday night from a designated contact",
                             "question on Saturday night from a resident"]),
    (["*resident"], ["question on Saturday night from a resident"]),
    (["rows/emergency"], ["emergency call in hours", "emergency e-mail on Saturday night"]),
    (["call in", "*resident"], ["emergency call in hours", "question on Saturday night from a resident"]),
    (["rows"], sorted(CASE_ROWS)),
], ids=lambda v: "|".join(v) if isinstance(v, list) and len(v) < 3 else None)
def test_test_filter_selects_cases_by_substring_or_glob(rows_suite, patterns, expected):
    args = [a for p in patterns for a in ("--filter", p)]
    result = run_rows(rows_suite, *args)
    assert result.returncode == 0, output(result)
    assert case_names(result) == sorted(expected)
    assert json.loads(result.stdout_text)["counts"]["passed"] == len(expected)


def test_test_filter_matching_nothing_exits_1(rows_suite):
    result = run_rows(rows_suite, "--filter", "no case is called this", output_format="text")
    assert result.returncode == 1, output(result)
    assert "no test case was run" in result.stderr_text
    assert "--filter" in result.stderr_text


def test_min_coverage_100_fails_and_lists_the_uncovered_rules(rows_suite):
    two = ["emergency call in hours", "question by e-mail in hours"]
    result = run_rows(rows_suite, "--min-coverage", "100", cases=two, output_format="text")
    assert result.returncode == 1, output(result)
    assert "coverage" in result.stderr_text and "100" in result.stderr_text
    rules_dir = rows_suite / "good"
    covered = {(file, rule) for case in two for file, rule in DECIDED_BY[case]}
    uncovered = [(file, rule, line) for file, rule, line in all_rules(rules_dir) if (file, rule) not in covered]
    assert len(uncovered) == 7
    listed = re.findall(r"^ +not covered: (\S+) +(\S+):(\d+)$", result.stdout_text, re.M)
    assert sorted(listed) == sorted((f"{file.split('/')[1][:-5]}/{rule}", f"good/{file}", str(line))
                                    for file, rule, line in uncovered), output(result)
    assert re.search(r"^rule coverage: 7 of 14 rules decided a case \(50\.00%\)$", result.stdout_text, re.M), \
        output(result)
    document = json.loads(run_rows(rows_suite, "--min-coverage", "100", cases=two).stdout_text)
    assert document["coverage"]["rules"] == 14 and document["coverage"]["covered"] == 7
    assert document["coverage"]["percent"] == 50
    assert sorted((u["rule"], u["file"], u["line"]) for u in document["coverage"]["uncovered"]) == \
        sorted((f"{file.split('/')[1][:-5]}/{rule}", f"good/{file}", line) for file, rule, line in uncovered)


@pytest.mark.parametrize("minimum,exit_code", [("50", 0), ("50.0", 0), ("49.99", 0), ("50.01", 1),
                                               ("50.000001", 1), ("0", 0)])
def test_min_coverage_exactly_at_the_coverage_passes(rows_suite, minimum, exit_code):
    two = ["emergency call in hours", "question by e-mail in hours"]  # 7 of 14 rules: exactly 50%
    result = run_rows(rows_suite, "--min-coverage", minimum, cases=two, output_format="text")
    assert result.returncode == exit_code, output(result)
    assert ("below" in result.stderr_text) == bool(exit_code), output(result)


@pytest.mark.parametrize("minimum,exit_code", [
    ("85.71", 0),            # shown as 85.71%, and above it
    ("85.7142857", 0),
    ("85.714285714285", 0),
    ("85.72", 1),
    ("85.7142858", 1),        # above 600/7 = 85.714285714...: not rounded to what is shown
    ("85.714285714286", 1),
])
def test_min_coverage_is_compared_exactly_not_as_shown(rows_suite, minimum, exit_code):
    four = [c for c in CASE_ROWS if c != "question on Saturday night from a resident"]  # 12 of 14 rules
    result = run_rows(rows_suite, "--min-coverage", minimum, cases=four, output_format="text")
    assert "12 of 14 rules decided a case (85.71%)" in result.stdout_text, output(result)
    assert result.returncode == exit_code, output(result)


@pytest.mark.parametrize("minimum", ["100", "99.99", "100.0"])
def test_min_coverage_100_passes_when_every_rule_decides(rows_suite, minimum):
    result = run_rows(rows_suite, "--min-coverage", minimum, output_format="text")
    assert result.returncode == 0, output(result)
    assert "14 of 14 rules decided a case (100.00%)" in result.stdout_text
    assert "not covered" not in result.stdout_text


def test_min_coverage_99_99_and_100_fail_when_rules_are_left(rows_suite):
    # Two rules of 14 left (the defaults that only a resident's after-hours request reaches; they always
    # decide together, so 13 of 14 cannot happen): 85.71%, below 99.99 and 100 alike.
    four = [c for c in CASE_ROWS if c != "question on Saturday night from a resident"]
    for minimum in ("99.99", "100"):
        result = run_rows(rows_suite, "--min-coverage", minimum, cases=four, output_format="text")
        assert result.returncode == 1, output(result)


# ---- explain ------------------------------------------------------------------------

def explain(body: dict, *args, folder: Path = CASES):
    return run("explain", "--policies", "good/policies", "--rules", "good/rules", *args, "-", cwd=folder,
               stdin=json.dumps(body).encode())


def explain_lines_by_rule(text: str) -> dict:
    """rule id -> the explanation line for it (``default`` prefix removed)."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^  (->|  ) (?:default )?([\w-]+) +line (\d+) +(.*)$", line)
        if match:
            found[match.group(2)] = {"decides": match.group(1) == "->", "line": int(match.group(3)),
                                     "verdict": match.group(4)}
    return found


def test_explain_names_the_facts_every_rule_and_the_deciding_ones():
    result = explain(request(SATURDAY_NIGHT))
    assert result.returncode == 0, output(result)
    text = result.stdout_text
    assert re.search(r"^ +local time +Saturday 2026-11-28 23:00:00 America/Chicago", text, re.M), text
    assert re.search(r"^ +in business hours +no$", text, re.M), text
    assert re.search(r"^ +holiday +none$", text, re.M), text
    assert re.search(r"^ +designated contact +yes$", text, re.M), text

    lines = explain_lines_by_rule(text)
    deciding = {rule for _, rule in DECIDED_BY["question on Saturday night from a designated contact"]}
    for file in (ROUTE, BILLING, DEADLINE, ESCALATION):
        assert re.search(rf"^{file.split('/')[1][:-5]} +\(good/{re.escape(file)}, version ", text, re.M), text
        for rule, line, _ in rules_of(GOOD, file):
            assert rule in lines, f"{file}: rule {rule} is not explained:\n{text}"
            assert lines[rule]["line"] == line, f"{rule}: line {lines[rule]['line']}, the file says {line}"
            assert lines[rule]["decides"] == (rule in deciding), f"{rule}: {lines[rule]}"
    for rule in deciding:
        assert lines[rule]["verdict"].startswith("DECIDES"), lines[rule]
    # Rules that do not match name the condition that failed, with the fact's value.
    assert lines["emergency-in-business-hours"]["verdict"] == \
        "no: emergency is false, the rule needs emergency is true", lines["emergency-in-business-hours"]
    assert lines["business-hours-are-included"]["verdict"] == \
        "no: in_business_hours is false, the rule needs in_business_hours is true"
    # A default that was not needed says so.
    assert "not needed" in lines["after-hours-waits-unbilled"]["verdict"]
    assert re.search(r"^ +hourly_rate +\{\"amount\": \"200\.00\", \"currency\": \"USD\"\}$", text, re.M), text


def test_explain_on_a_holiday_names_it():
    result = explain(request(THANKSGIVING_MORNING, "phone", "website_down", OTHER))
    assert result.returncode == 0, output(result)
    text = result.stdout_text
    assert re.search(r"^ +holiday +Thanksgiving", text, re.M), text
    assert re.search(r"^ +in business hours +no$", text, re.M), text
    assert re.search(r"^ +designated contact +no$", text, re.M), text
    lines = explain_lines_by_rule(text)
    # An emergency from someone who may not use emergency support: the failed condition is that one.
    assert lines["emergency-after-hours"]["verdict"] == \
        "no: may_use_emergency_support is false, the rule needs may_use_emergency_support is true"
    assert lines["after-hours-waits-for-support"]["decides"]


def test_explain_shows_a_rule_that_matches_but_an_earlier_one_decided(tmp_path):
    shutil.copytree(CASES / "shadowed-rule", tmp_path / "good")
    result = explain(request(FRIDAY_IN_HOURS, "phone", "usage_question"), folder=tmp_path)
    assert result.returncode == 0, output(result)
    lines = explain_lines_by_rule(result.stdout_text)
    assert lines["business-hours"]["decides"]
    assert not lines["business-hours-phone-call"]["decides"]
    assert "earlier rule decided" in lines["business-hours-phone-call"]["verdict"]


def test_explain_json_has_facts_rules_and_the_decision():
    body = request(SATURDAY_NIGHT)
    result = explain(body, "--format", "json")
    assert result.returncode == 0, output(result)
    document = json.loads(result.stdout_text)
    facts = document["facts"]
    assert facts["in_business_hours"] is False and facts["on_holiday"] is False and facts["holiday"] is None
    assert facts["designated_contact"] is True and facts["emergency"] is False
    assert facts["local_time"].startswith("2026-11-28T23:00:00") and facts["time_zone"] == "America/Chicago"

    deciding = {f"{file.split('/')[1][:-5]}/{rule}"
                for file, rule in DECIDED_BY["question on Saturday night from a designated contact"]}
    assert [r["ruleset"] for r in document["rulesets"]] == ["route-and-coverage", "billing", "response-deadline",
                                                            "escalation"]
    for ruleset in document["rulesets"]:
        file = ruleset["file"].removeprefix("good/")
        expected = [(f"{ruleset['ruleset']}/{rule}", line, default) for rule, line, default in rules_of(GOOD, file)]
        assert [(r["rule"], r["line"], r["default"]) for r in ruleset["rules"]] == expected
        assert sum(r["decided"] for r in ruleset["rules"]) == 1
        for rule in ruleset["rules"]:
            assert set(rule) >= {"matched", "decided", "failed_condition"}
            assert rule["decided"] == (rule["rule"] in deciding), rule
            if rule["decided"]:
                assert rule["matched"] is True
            if rule["matched"]:
                assert rule["failed_condition"] is None, rule
            else:
                failed = rule["failed_condition"]
                assert failed["actual"] == facts[failed["fact"]], rule
                assert failed["fact"] in failed["condition"]
    decision = document["decision"]
    assert decision["billable"] is True and decision["hourly_rate"] == {"amount": "200.00", "currency": "USD"}
    # The trace names the deciding rules, rule set by rule set, as the explanation marks them.
    assert [t["rule"] for t in decision["trace"]] == \
        [r["rule"] for ruleset in document["rulesets"] for r in ruleset["rules"] if r["decided"]]
    assert {t["rule"] for t in decision["trace"]} == deciding
    # The same decision as `decide` gives.
    decided = run("decide", "--policies", "good/policies", "--rules", "good/rules", "-",
                  stdin=json.dumps(body).encode())
    assert decided.returncode == 0
    ignored = ("decision_id",)
    assert {k: v for k, v in json.loads(decided.stdout_text).items() if k not in ignored} == \
        {k: v for k, v in decision.items() if k not in ignored}


@pytest.mark.parametrize("change,pointer", [
    ({"channel": "fax"}, "/channel"),
    ({"received_at": "2026-11-28T23:00:00"}, "/received_at"),
    ({"customer": "nobody"}, "/customer"),
    ({"requester": {}}, "/requester/email"),
], ids=["unknown-channel", "no-offset", "unknown-customer", "no-email"])
@pytest.mark.parametrize("output_format", ["text", "json"])
def test_explain_an_invalid_request_exits_1_naming_the_field(change, pointer, output_format):
    result = explain(dict(request(SATURDAY_NIGHT), **change), "--format", output_format)
    assert result.returncode == 1, output(result)
    assert result.stdout_text == ""
    assert pointer in result.stderr_text


def test_explain_a_request_that_is_not_json_exits_1():
    result = run("explain", "-", stdin=b"{not json")
    assert result.returncode == 1, output(result)
    assert result.stdout_text == "" and "JSON" in result.stderr_text


# ---- impact -------------------------------------------------------------------------

# (request or raw line, billable under the shipped policy); a None request is written as the raw text.
CORPUS = [
    (request(SATURDAY_NIGHT), True),                                             # line 1: changes
    (request(FRIDAY_IN_HOURS), False),                                           # line 2
    ("{not json", None),                                                         # line 3: unreadable
    (request("2026-11-28T22:00:00-06:00", "phone", "suggestion", "webmaster@demo-city.gov"), True),  # line 4
    ("", None),                                                                  # line 5: blank, skipped
    (request(SATURDAY_NIGHT, email=OTHER), False),                               # line 6
    (request(SATURDAY_NIGHT, category="website_down"), False),                   # line 7: emergency, free
]
CHANGED_LINES = [1, 4]
READABLE = 5


def write_corpus(path: Path) -> Path:
    path.write_text("".join((json.dumps(item) if isinstance(item, dict) else item) + "\n" for item, _ in CORPUS),
                    encoding="utf-8")
    return path


@pytest.fixture()
def impact_folders(tmp_path) -> Path:
    """base/ (the shipped policy) and current/ (the after-hours rate raised to 250.00), and requests.jsonl."""
    shipped_copy(tmp_path / "base")
    current = shipped_copy(tmp_path / "current")
    replace_once(current / PLAN, 'rate: {amount: "200.00", currency: USD}', 'rate: {amount: "250.00", currency: USD}')
    write_corpus(tmp_path / "requests.jsonl")
    return tmp_path


def impact(folder: Path, *args, current: str = "current"):
    return run("impact", "--base", "base", "--requests", "requests.jsonl", "--policies", f"{current}/policies",
               "--rules", f"{current}/rules", *args, cwd=folder)


def test_impact_reports_changed_decisions_by_field(impact_folders):
    result = impact(impact_folders)
    assert result.returncode == 0, output(result)
    text = result.stdout_text
    assert text.startswith(f"{len(CHANGED_LINES)} of {READABLE} requests would be decided differently\n"), text
    assert re.search(r"^ +line 3: .*not JSON", text, re.M), text
    field = [line for line in text.splitlines() if line.strip().startswith("hourly_rate:")]
    assert len(field) == 1, text
    assert re.search(r"hourly_rate: .*200\.00.* -> .*250\.00.*\(2 requests\)$", field[0]), field[0]
    examples = [int(n) for n in re.findall(r"^ +e\.g\. line (\d+): ", text, re.M)]
    assert examples == CHANGED_LINES, text
    # Only the rate changed: no other field, and the same rules decided.
    assert len([line for line in text.splitlines() if " -> " in line]) == 1, text
    assert "By deciding rule" not in text
    # Only the folders in force: a small corpus shows no progress bar.
    assert result.stderr_text == "supportpolicy: policies current/policies (--policies), rules current/rules (--rules)\n"


def test_impact_fail_on_change_exits_1(impact_folders):
    result = impact(impact_folders, "--fail-on-change")
    assert result.returncode == 1, output(result)
    assert result.stdout_text.startswith(f"{len(CHANGED_LINES)} of {READABLE} requests")


def test_impact_without_change_exits_0_even_with_fail_on_change(impact_folders):
    result = impact(impact_folders, "--fail-on-change", current="base")
    assert result.returncode == 0, output(result)
    assert result.stdout_text.startswith(f"0 of {READABLE} requests would be decided differently"), result.stdout_text
    assert "By field" not in result.stdout_text and "By deciding rule" not in result.stdout_text
    document = json.loads(impact(impact_folders, "--fail-on-change", "--format", "json", current="base").stdout_text)
    assert (document["changed"], document["fields"], document["rules"]) == (0, [], [])


def test_impact_json(impact_folders):
    result = impact(impact_folders, "--format", "json")
    assert result.returncode == 0, output(result)
    document = json.loads(result.stdout_text)
    assert set(document) >= {"requests", "changed", "unreadable", "fields", "rules"}
    assert document["requests"] == READABLE and document["changed"] == len(CHANGED_LINES)
    assert [u["line"] for u in document["unreadable"]] == [3]
    (field,) = document["fields"]
    assert field["field"] == "hourly_rate" and field["count"] == 2
    assert "200.00" in json.dumps(field["before"]) and "250.00" in json.dumps(field["after"])
    assert [e["line"] for e in field["examples"]] == CHANGED_LINES
    assert field["examples"][0]["request"] == CORPUS[0][0]
    assert document["rules"] == []


def test_impact_examples_option_limits_the_examples(impact_folders):
    document = json.loads(impact(impact_folders, "--format", "json", "--examples", "1").stdout_text)
    assert [e["line"] for e in document["fields"][0]["examples"]] == CHANGED_LINES[:1]
    assert document["fields"][0]["count"] == 2
    text = impact(impact_folders, "--examples", "0").stdout_text
    assert "e.g." not in text and "(2 requests)" in text


def test_impact_reports_a_change_of_deciding_rule(impact_folders):
    # Renaming a rule changes no decision field, but which rule decides.
    current = impact_folders / "current"
    replace_once(current / PLAN, 'rate: {amount: "250.00", currency: USD}', 'rate: {amount: "200.00", currency: USD}')
    replace_once(current / BILLING, "- id: after-hours-work-is-charged", "- id: after-hours-work-is-billed")
    result = impact(impact_folders, "--format", "json", "--fail-on-change")
    assert result.returncode == 1, output(result)
    document = json.loads(result.stdout_text)
    assert document["fields"] == []
    assert document["changed"] == len(CHANGED_LINES)
    (rule,) = document["rules"]
    assert (rule["ruleset"], rule["before"], rule["after"], rule["count"]) == \
        ("billing", "billing/after-hours-work-is-charged", "billing/after-hours-work-is-billed", 2)
    assert [e["line"] for e in rule["examples"]] == CHANGED_LINES
    text = impact(impact_folders).stdout_text
    assert re.search(r"^ +billing: billing/after-hours-work-is-charged -> billing/after-hours-work-is-billed "
                     r" ?\(2 requests\)$", text, re.M), text


def test_impact_reports_a_reordered_rule_set(impact_folders):
    # business-hours moved above the emergency rules: emergencies in hours lose emergency support.
    path = impact_folders / "current" / ROUTE
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: business-hours\n")
    end = text.index("  - id: after-hours-designated-contact\n")
    moved = text[start:end]
    first = text.index("  - id: emergency-in-business-hours\n")
    path.write_text(text[:first] + moved + text[first:start] + text[end:], encoding="utf-8")
    replace_once(impact_folders / "current" / PLAN, '"250.00"', '"200.00"')
    (impact_folders / "requests.jsonl").write_text(
        json.dumps(request(FRIDAY_IN_HOURS, "phone", "website_down")) + "\n"
        + json.dumps(request(SATURDAY_NIGHT)) + "\n", encoding="utf-8")
    document = json.loads(impact(impact_folders, "--format", "json").stdout_text)
    assert document["requests"] == 2 and document["changed"] == 1
    assert {(f["field"], f["count"]) for f in document["fields"]} == {("emergency_support", 1)}
    assert [(r["ruleset"], r["before"], r["after"]) for r in document["rules"]] == \
        [("route-and-coverage", "route-and-coverage/emergency-in-business-hours", "route-and-coverage/business-hours")]


def test_impact_skips_json_that_is_not_a_request_object(impact_folders):
    # A line of JSON that is not an object cannot be a request: it is reported like a line that is not JSON,
    # not silently counted as a request decided the same way by both policies.
    (impact_folders / "requests.jsonl").write_text(
        json.dumps(request(SATURDAY_NIGHT)) + "\n5\n[1, 2]\n", encoding="utf-8")
    result = impact(impact_folders)
    assert result.returncode == 0, output(result)
    assert result.stdout_text.startswith("1 of 1 request would be decided differently"), output(result)
    assert re.search(r"^ +line 2: ", result.stdout_text, re.M) and \
        re.search(r"^ +line 3: ", result.stdout_text, re.M), output(result)


def suite_cases_billable_under(folder: Path) -> tuple[int, int]:
    """(how many policy test cases ``folder`` holds, how many of them the shipped central-standard plan bills:
    the plan whose rate the impact tests change)."""
    from supportpolicy.engine import EngineError, load_policy_set
    from supportpolicy.engine.tools.suites import load_suites
    suites, errored = load_suites([folder / "policies"], tests=True)
    assert not errored
    shipped = load_policy_set(REPO / "policies", REPO / "rules")
    cases = [case for suite in suites for case in suite.cases]
    billed = 0
    for case in cases:
        try:
            decision = shipped.decide(case.request).as_json()
            billed += decision["billable"] and decision["policy"]["id"] == "central-standard"
        except EngineError:  # a case that expects a refusal
            pass
    return len(cases), billed


def test_impact_without_requests_replays_the_policy_test_cases(impact_folders):
    # A contract manager without a decision log still sees what a change changes: the suites' own requests.
    cases, billed = suite_cases_billable_under(impact_folders / "current")
    assert cases > 100 and billed > 0
    result = run("impact", "--base", "base", "--policies", "current/policies", "--rules", "current/rules",
                 cwd=impact_folders)
    assert result.returncode == 0, output(result)
    assert f"replaying the {cases} requests of the policy test suites in current/policies" in result.stderr_text
    assert result.stdout_text.startswith(f"{billed} of {cases} requests would be decided differently"), output(result)
    assert re.search(r"^ +e\.g\. current/policies/tests/[a-z-]+\.yaml:\d+ \([a-z-]+/.+\): \{", result.stdout_text, re.M), \
        output(result)
    document = json.loads(run("impact", "--base", "base", "--policies", "current/policies", "--rules",
                              "current/rules", "--format", "json", cwd=impact_folders).stdout_text)
    (field,) = document["fields"]
    assert field["field"] == "hourly_rate" and field["count"] == billed
    example = field["examples"][0]
    assert set(example) == {"case", "file", "line", "request"}
    case_line = (impact_folders / example["file"]).read_text(encoding="utf-8").splitlines()[example["line"] - 1]
    assert example["case"].split("/", 1)[1] in case_line, (example, case_line)


def test_impact_without_requests_or_suites_is_a_usage_error(impact_folders):
    shutil.rmtree(impact_folders / "current" / "policies" / "tests")
    result = run("impact", "--base", "base", "--policies", "current/policies", "--rules", "current/rules",
                 cwd=impact_folders)
    assert result.returncode == 2, output(result)
    assert "--requests" in result.stderr_text and "no policy test case" in result.stderr_text


def test_impact_base_folder_without_rules_is_a_usage_error(impact_folders):
    shutil.rmtree(impact_folders / "base" / "rules")
    result = impact(impact_folders)
    assert result.returncode == 2, output(result)
    assert result.stdout_text == ""
    assert "--base" in result.stderr_text and "rules" in result.stderr_text


def test_impact_with_an_invalid_base_names_the_base_file(impact_folders):
    base = CASES / "no-default"
    result = run("impact", "--base", base, "--requests", "requests.jsonl", "--policies", "current/policies",
                 "--rules", "current/rules", cwd=impact_folders)
    assert result.returncode == 3, output(result)
    assert result.stdout_text == ""
    line, column = marked_place("no-default", BILLING, "ruleset:")
    # The broken file is the base's, not the current rules/billing.yaml (which is valid): name it so.
    assert f"{base / BILLING}:{line}:{column}: no_default:" in result.stderr_text, output(result)


# ---- impact against a git ref -------------------------------------------------------

def git(repo: Path, *args) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def tree_state(repo: Path) -> dict:
    """Every file of the working tree (outside .git) with its content."""
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(repo).parts}


@pytest.fixture()
def repo(tmp_path) -> Path:
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    repo = shipped_copy(tmp_path / "repo")
    git(repo, "init", "-q")
    git(repo, "config", "user.name", "Policy Tests")
    git(repo, "config", "user.email", "policy-tests@example.org")
    git(repo, "config", "commit.gpgsign", "false")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the shipped policy")
    replace_once(repo / PLAN, 'rate: {amount: "200.00", currency: USD}', 'rate: {amount: "250.00", currency: USD}')
    git(repo, "commit", "-q", "-a", "-m", "raise the after-hours rate")
    write_corpus(tmp_path / "requests.jsonl")
    return repo


def impact_git(repo: Path, base: str, *args):
    scratch = repo.parent / "tmp"
    scratch.mkdir(exist_ok=True)
    result = run("impact", "--base", base, "--requests", "requests.jsonl", "--policies", "repo/policies",
                 "--rules", "repo/rules", *args, cwd=repo.parent, env_extra={"TMPDIR": str(scratch)})
    assert list(scratch.iterdir()) == [], "impact left files in its temporary folder"
    return result


def test_impact_against_a_git_ref(repo):
    head = git(repo, "rev-parse", "HEAD")
    status, tree = git(repo, "status", "--porcelain", "--ignored"), tree_state(repo)
    result = impact_git(repo, "HEAD~1")
    assert result.returncode == 0, output(result)
    assert result.stdout_text.startswith(f"{len(CHANGED_LINES)} of {READABLE} requests would be decided differently")
    assert re.search(r"hourly_rate: .*200\.00.* -> .*250\.00.*\(2 requests\)$", result.stdout_text, re.M), \
        result.stdout_text
    # The working tree, the index and HEAD are as they were.
    assert git(repo, "status", "--porcelain", "--ignored") == status == ""
    assert tree_state(repo) == tree
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "stash", "list") == ""


def test_impact_against_head_compares_uncommitted_changes(repo):
    replace_once(repo / PLAN, 'rate: {amount: "250.00", currency: USD}', 'rate: {amount: "300.00", currency: USD}')
    (repo / "policies" / "notes.txt").write_text("untracked\n")
    status, tree = git(repo, "status", "--porcelain"), tree_state(repo)
    result = impact_git(repo, "HEAD", "--format", "json", "--fail-on-change")
    assert result.returncode == 1, output(result)
    (field,) = json.loads(result.stdout_text)["fields"]
    assert "250.00" in json.dumps(field["before"]) and "300.00" in json.dumps(field["after"])
    assert git(repo, "status", "--porcelain") == status
    assert status.strip() and tree_state(repo) == tree


def test_impact_with_the_same_ref_as_the_tree_finds_no_change(repo):
    result = impact_git(repo, "HEAD", "--fail-on-change")
    assert result.returncode == 0, output(result)
    assert result.stdout_text.startswith(f"0 of {READABLE} requests")


@pytest.mark.parametrize("ref", ["no-such-ref", "HEAD~5"])
def test_impact_with_a_bad_git_ref_exits_2(repo, ref):
    status = git(repo, "status", "--porcelain", "--ignored")
    result = impact_git(repo, ref)
    assert result.returncode == 2, output(result)
    assert result.stdout_text == ""
    assert ref in result.stderr_text and "git" in result.stderr_text, result.stderr_text
    assert git(repo, "status", "--porcelain", "--ignored") == status


def test_impact_with_a_git_ref_outside_a_repository_exits_2(impact_folders):
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    result = run("impact", "--base", "HEAD~1", "--requests", "requests.jsonl", "--policies", "current/policies",
                 "--rules", "current/rules", cwd=impact_folders)
    assert result.returncode == 2, output(result)
    assert "HEAD~1" in result.stderr_text and "git" in result.stderr_text


# ---- impact: the progress bar ---------------------------------------------------------
# Run in process, with a clock that moves a tenth of a second each time the bar reads it, so a corpus of a
# few hundred requests draws the bar as a long run would.

BIG = 400


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("big")
    shipped_copy(folder / "base")
    current = shipped_copy(folder / "current")
    replace_once(current / PLAN, 'rate: {amount: "200.00", currency: USD}', 'rate: {amount: "250.00", currency: USD}')
    channels, emails = ("email", "phone", "portal", "voicemail"), (DESIGNATED, OTHER)
    with open(folder / "requests.jsonl", "w", encoding="utf-8") as out:
        for i in range(BIG):
            out.write(json.dumps(request(f"2026-11-{2 + i % 27:02d}T{i % 24:02d}:{i % 60:02d}:00-06:00",
                                         channels[i % 4], "usage_question", emails[i // 4 % 2])) + "\n")
    return folder


def in_process(folder: Path, *args, stdin: bytes | None = None):
    """``supportpolicy ARGS`` run in this process from ``folder``, its progress bar on a ticking clock."""
    from click.testing import CliRunner

    from supportpolicy.server.cli import main
    from supportpolicy.server.cli.progress import Progress

    ticks = itertools.count()
    previous, clock = os.getcwd(), Progress.clock
    Progress.clock = staticmethod(lambda: next(ticks) / 10)
    os.chdir(folder)
    try:
        return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    finally:
        os.chdir(previous)
        Progress.clock = clock


@pytest.fixture(scope="module")
def big_run(big_corpus):
    return in_process(big_corpus, "impact", "--base", "base", "--requests", "requests.jsonl",
                      "--policies", "current/policies", "--rules", "current/rules")


def test_impact_shows_a_progress_bar_for_a_big_corpus(big_run):
    assert big_run.exit_code == 0, big_run.output
    assert big_run.stdout.split(" of ")[1].startswith(f"{BIG} requests")
    progress = big_run.stderr
    assert "[" in progress and "requests/s" in progress, progress
    assert re.search(rf"\[[#-]+\] \d+/{BIG} [\d,]+ requests/s", progress), progress
    assert progress.endswith("\n")
    # Nothing of the bar on stdout, where the report goes.
    assert "requests/s" not in big_run.stdout


def test_impact_progress_bar_ends_complete(big_run):
    last = big_run.stderr.rstrip("\n").split("\r")[-1]
    assert re.match(rf"^\[#+\] {BIG}/{BIG} ", last), f"the last state of the bar: {last!r}"


def test_impact_shows_progress_for_a_big_corpus_on_standard_input(big_corpus):
    result = in_process(big_corpus, "impact", "--base", "base", "--requests", "-", "--policies", "current/policies",
                        "--rules", "current/rules", stdin=(big_corpus / "requests.jsonl").read_bytes())
    assert result.exit_code == 0, result.output
    assert "requests/s" in result.stderr, result.stderr
    assert result.stdout.split(" of ")[1].startswith(f"{BIG} requests")
