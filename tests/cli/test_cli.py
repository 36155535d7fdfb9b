"""Acceptance tests of the ``supportpolicy`` command line, run as a separate process.

The command is the ``supportpolicy`` script installed beside the Python running
the tests (``support.command``).

``tests/fixtures/policies/good/`` is a copy of the shipped ``policies/`` and
``rules/``; every other folder there holds only the files of one deliberate
mistake (``several-mistakes`` has several), laid over ``good/`` when the tests
run (``support.policy_cases``). The line holding a mistake carries the
comment ``# MISTAKE``; the expected line and column are computed from the
fixture file (the line with that marker, the column of a piece of text on it),
never written as numbers here. A value's error is expected where its
``key: value`` entry starts (the key), an item's where the item starts.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache

import pytest

from support import DESIGNATED, command, error_lines, free_port, http, policy_cases, run_cli

CASES = policy_cases()
MARK = "# MISTAKE"

SATURDAY_NIGHT = "2026-11-28T23:00:00-06:00"
MONDAY_OPENING_PLUS_4 = "2026-11-30T11:00:00-06:00"
REQUEST = {
    "customer": "demo-city",
    "received_at": SATURDAY_NIGHT,
    "channel": "email",
    "requester": {"email": DESIGNATED},
    "category": "usage_question",
    "ticket_id": "T-1001",
}

PLAN = "policies/plans/central-standard/2026.1.yaml"
PLAN_2 = "policies/plans/central-standard/2026.2.yaml"
CUSTOMER = "policies/customers/demo-city.yaml"
BILLING = "rules/billing.yaml"
ROUTE = "rules/route-and-coverage.yaml"
DEADLINE = "rules/response-deadline.yaml"


# ---- running the command ------------------------------------------------------

def run(*args, cwd=CASES, timeout: float = 60, **options) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=cwd, timeout=timeout, **options)


@lru_cache(maxsize=None)
def validated(case: str, output: str = "text") -> subprocess.CompletedProcess:
    """``supportpolicy validate [--format json] <case>``, run from the fixtures folder (once per case)."""
    return run("validate", "--format", output, case)


def json_errors(result) -> dict:
    return json.loads(result.stdout_text)


# ---- what each broken case must report -----------------------------------------

def marked_lines(case: str, file: str) -> list[tuple[int, str]]:
    text = (CASES / case / file).read_text(encoding="utf-8")
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if MARK in line]


@dataclass(frozen=True)
class At:
    """The mistake is on the marked line of ``file`` holding ``anchor``, at the column where ``anchor`` starts."""

    file: str
    code: str
    anchor: str
    json_path: str | None = None

    def place(self, case: str) -> tuple[int, int]:
        found = [(n, line.index(self.anchor) + 1) for n, line in marked_lines(case, self.file)
                 if self.anchor in line]
        assert len(found) == 1, f"fixture {case}/{self.file}: expected one marked line with {self.anchor!r}"
        return found[0]

    def prefix(self, case: str) -> str:
        line, column = self.place(case)
        return f"{case}/{self.file}:{line}:{column}: {self.code}:"

    def matches(self, case: str, error: dict) -> bool:
        line, column = self.place(case)
        return (error["file"], error["line"], error["column"], error["code"]) == \
            (f"{case}/{self.file}", line, column, self.code) and \
            (self.json_path is None or error.get("json_path", self.json_path) == self.json_path)


@dataclass(frozen=True)
class Within:
    """The mistake spans several lines or columns (``# MISTAKE (start)`` ... ``# MISTAKE (end)``, or a run of
    ``char`` on one marked line): the error must point inside it."""

    file: str
    code: str
    char: str | None = None  # the column must be inside the run of this character on the marked line

    def span(self, case: str) -> tuple[int, int, int, int]:
        marks = marked_lines(case, self.file)
        assert marks, f"fixture {case}/{self.file} has no {MARK} line"
        first, last = marks[0][0], marks[-1][0]
        if self.char is None:
            return first, last, 1, 10**9
        line = marks[0][1]
        start = line.index(self.char)
        end = start
        while end < len(line) and line[end] == self.char:
            end += 1
        return first, last, start + 1, end

    def prefix(self, case: str) -> str:
        first, last, c1, c2 = self.span(case)
        return f"{case}/{self.file}:{first}..{last}:{c1}..{c2}: {self.code}:"

    def matches(self, case: str, error: dict) -> bool:
        first, last, c1, c2 = self.span(case)
        return (error["file"] == f"{case}/{self.file}" and error["code"] == self.code
                and first <= error["line"] <= last and c1 <= error["column"] <= c2)


@dataclass(frozen=True)
class AtDecides:
    """A field no rule set decides: reported on the `decides:` line of one of the remaining rule sets."""

    code: str
    names: str

    def prefix(self, case: str) -> str:
        return f"{case}/rules/<a rule set>.yaml:<its decides line>:1: {self.code}: ... {self.names}"

    def matches(self, case: str, error: dict) -> bool:
        if not (error["file"].startswith(f"{case}/rules/") and error["code"] == self.code
                and self.names in error["message"]):
            return False
        lines = (CASES / error["file"]).read_text(encoding="utf-8").splitlines()
        return lines[error["line"] - 1].startswith("decides:") and error["column"] == 1


BROKEN = {
    "yaml-syntax": [At(PLAN, "yaml_syntax", "tuesday")],
    "duplicate-key": [At(PLAN, "duplicate_key", "notice_required", "$.after_hours.notice_required")],
    "missing-field": [At(PLAN, "missing_field", "plan:", "$")],
    "unknown-field": [At(PLAN, "unknown_field", "observd", "$.schedule.holidays.observd")],
    "wrong-type": [At(PLAN, "wrong_type", "notice_required", "$.after_hours.notice_required")],
    "invalid-hours": [At(PLAN, "invalid_hours", '{from: "19:00"', "$.schedule.hours.tuesday[0]")],
    "invalid-time-format": [At(PLAN, "invalid_format", "from:", "$.schedule.hours.monday[0].from")],
    "overlapping-hours": [At(PLAN, "overlapping_hours", '{from: "11:00"', "$.schedule.hours.wednesday[1]")],
    "unknown-time-zone": [At(PLAN, "unknown_time_zone", "time_zone", "$.schedule.time_zone")],
    "unknown-holiday-calendar": [At(PLAN, "unknown_holiday_calendar", "country", "$.schedule.holidays.country")],
    "invalid-date": [At(PLAN, "invalid_date", "date:", "$.schedule.holidays.add[0].date")],
    "unknown-plan": [At(CUSTOMER, "unknown_reference", "id:", "$.plan.id")],
    "unknown-plan-version": [At(CUSTOMER, "unknown_reference", "version", "$.plan.version")],
    "unknown-fact": [At(BILLING, "unknown_fact", "is_vip", "$.rules[2].when.is_vip")],
    "invalid-fact-value-channel": [At(DEADLINE, "invalid_fact_value", "channel: fax", "$.rules[0].when.channel")],
    "invalid-fact-value-boolean": [At(ROUTE, "invalid_fact_value", "emergency", "$.rules[1].when.emergency")],
    "term-mismatch": [At(BILLING, "term_mismatch", "hourly_rate", "$.rules[2].then.hourly_rate")],
    "undecided-field": [At(BILLING, "undecided_field", "route", "$.rules[2].then.route")],
    "incomplete-outcome": [At(BILLING, "incomplete_outcome", "then", "$.rules[1].then")],
    "duplicate-rule-id": [At(ROUTE, "duplicate_id", "id:", "$.rules[2].id")],
    "duplicate-decision": [At("rules/weekend-billing.yaml", "duplicate_decision", "decides", "$.decides")],
    "missing-decision": [AtDecides("missing_decision", "escalation")],
    "duplicate-version": [At(PLAN_2, "duplicate_version", "version", "$.version")],
    "effective-date-collision": [At(PLAN_2, "effective_date_collision", "effective_from", "$.effective_from")],
    "time-zone-changed": [At(PLAN_2, "time_zone_changed", "time_zone", "$.schedule.time_zone")],
    "unknown-override": [At(CUSTOMER, "unknown_term", "discount", "$.overrides.after_hours.discount")],
    "clock-override-unknown-status": [At(CUSTOMER, "unknown_status", "waiting_for_city",
                                         "$.overrides.clocks.targets.first_response.pause[0]")],
    "duplicate-contact": [At(CUSTOMER, "duplicate_contact", "email", "$.designated_contacts[2].email")],
    "unknown-document": [At("policies/plans/central-standard/notes.yaml", "unknown_document", "notes", "$")],
    "alias-bomb": [Within("policies/customers/lol.yaml", "too_large")],
    "deep-nesting": [Within(PLAN, "too_deep", char="[")],
    "deep-nesting-extreme": [Within(PLAN, "too_deep", char="[")],
    "no-default": [At(BILLING, "no_default", "ruleset:", "$")],
    "integration-unknown-channel": [At("policies/integrations/zendesk.yaml", "unknown_value", "Fax",
                                       "$.request.channel.map.Fax")],
    "several-mistakes": [
        At(CUSTOMER, "duplicate_contact", "email", "$.designated_contacts[2].email"),
        At(BILLING, "invalid_fact_value", "channel: fax", "$.rules[0].when.channel"),
        At(BILLING, "unknown_fact", "is_vip", "$.rules[2].when.is_vip"),
        At(BILLING, "duplicate_id", "id:", "$.default.id"),
    ],
}


# Folders whose mistake is only a warning (static analysis); tests/test_cli_tools.py checks them.
WARNINGS = {"shadowed-rule", "never-matches"}


def test_every_fixture_folder_is_a_case():
    folders = {p.name for p in CASES.iterdir() if p.is_dir()}
    assert folders == set(BROKEN) | WARNINGS | {"good"}


# ---- validate: the good copy and the shipped policy -----------------------------

def test_validate_good_copy_exits_0_and_prints_no_error():
    result = validated("good")
    assert result.returncode == 0, result.stdout_text + result.stderr_text
    assert result.stdout_text == ""
    assert "valid" in result.stderr_text


def test_validate_good_copy_as_json():
    result = validated("good", "json")
    assert result.returncode == 0
    assert json_errors(result) == {"valid": True, "errors": []}


def test_validate_without_a_path_checks_the_shipped_policy(tmp_path):
    # From an empty folder: the shipped policy is found from the package, not the working directory.
    result = run("validate", cwd=tmp_path)
    assert result.returncode == 0, result.stdout_text + result.stderr_text
    assert result.stdout_text == ""
    result = run("validate", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0
    assert json_errors(result) == {"valid": True, "errors": []}


def test_validate_and_test_use_the_policy_folders_of_the_folder_they_run_in_and_say_so(tmp_path):
    # In a policy repository, `supportpolicy validate` without its folders checks that repository's
    # policies/ and rules/, never the shipped policy (which a contract manager could take for their own).
    shutil.copytree(CASES / "invalid-time-format", tmp_path, dirs_exist_ok=True)
    result = run("validate", cwd=tmp_path)
    assert result.returncode == 1, result.stdout_text + result.stderr_text
    assert result.stdout_text.startswith("policies/plans/central-standard/2026.1.yaml:"), result.stdout_text
    assert "supportpolicy: policies ./policies (found here), rules ./rules (found here)\n" in result.stderr_text
    result = run("test", cwd=tmp_path)
    assert result.returncode == 3, result.stderr_text  # the policy set the tests need is invalid
    assert "supportpolicy: policies ./policies (found here), rules ./rules (found here)\n" in result.stderr_text
    result = run("validate", "--policies", "policies", "--rules", "rules", cwd=tmp_path)
    assert result.returncode == 1
    assert "supportpolicy: policies policies (--policies), rules rules (--rules)\n" in result.stderr_text


# ---- validate: each broken case ---------------------------------------------------

@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validate_reports_the_mistake_at_its_place(case):
    result = validated(case)
    assert result.returncode == 1, result.stdout_text + result.stderr_text
    errors = error_lines(result.stdout_text)
    for expected in BROKEN[case]:
        assert any(expected.matches(case, e) for e in errors), \
            f"expected {expected.prefix(case)} in:\n{result.stdout_text}"


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validate_reports_only_the_mistake(case):
    """One mistake is one error: nothing echoed by the files that depend on the broken one."""
    result = validated(case, "json")
    errors = [e for e in json_errors(result)["errors"] if e["severity"] == "error"]
    unexpected = [e for e in errors if not any(x.matches(case, e) for x in BROKEN[case])]
    assert not unexpected and len(errors) == len(BROKEN[case]), \
        "errors besides the deliberate mistake(s):\n" + "\n".join(
            f"{e['file']}:{e['line']}:{e['column']}: {e['code']}: {e['message']}" for e in unexpected)


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validate_json_gives_the_same_errors_as_text(case):
    text, as_json = validated(case), validated(case, "json")
    assert as_json.returncode == 1
    document = json_errors(as_json)
    assert document["valid"] is False
    for error in document["errors"]:
        assert set(error) >= {"file", "line", "column", "code", "message", "json_path"}
        assert isinstance(error["line"], int) and isinstance(error["column"], int)
        assert error["line"] >= 1 and error["column"] >= 1
        assert error["json_path"].startswith("$")
    assert [{k: e[k] for k in ("file", "line", "column", "code", "message")} for e in document["errors"]] \
        == error_lines(text.stdout_text)
    for expected in BROKEN[case]:
        assert any(expected.matches(case, e) for e in document["errors"]), \
            f"expected {expected.prefix(case)} with json_path {getattr(expected, 'json_path', None)} in:\n" \
            + json.dumps(document["errors"], indent=1)


@pytest.mark.parametrize("case", sorted(c for c, expected in BROKEN.items() if len(expected) > 1))
def test_validate_errors_are_sorted(case):
    errors = error_lines(validated(case).stdout_text)
    places = [(e["file"], e["line"], e["column"]) for e in errors]
    assert len({p[0] for p in places}) > 1 and len(places) > 2  # several files, several errors: an order to check
    assert places == sorted(places)


def test_several_mistakes_are_all_reported_in_order():
    case = "several-mistakes"
    errors = error_lines(validated(case).stdout_text)
    expected = BROKEN[case]
    # The customer's mistake is found last but sorts first; the rule set's in file order.
    assert len(errors) == len(expected), validated(case).stdout_text
    for error, wanted in zip(errors, expected):
        assert wanted.matches(case, error), f"expected {wanted.prefix(case)}, got {error}"
    assert "4 errors" in validated(case).stderr_text


def test_a_value_in_the_wrong_form_is_explained_in_words_not_as_a_regular_expression():
    (error,) = error_lines(validated("invalid-time-format").stdout_text)
    assert error["message"] == "'7:00' is not in the form this field takes: Opening time, HH:MM (00:00 to 23:59)."


def test_hostile_yaml_is_refused_not_hung_on():
    # The timeout only catches a hang; how fast each is refused is benchmarks/bench_hostile.py's job.
    for case in ("alias-bomb", "deep-nesting-extreme"):
        result = run("validate", case, timeout=30)
        assert result.returncode == 1
        assert result.stdout_text and "Traceback" not in result.stderr_text


def test_paths_are_reported_as_given(tmp_path):
    absolute = CASES / "unknown-fact"
    result = run("validate", absolute, cwd=tmp_path)
    assert result.returncode == 1
    line, column = BROKEN["unknown-fact"][0].place("unknown-fact")
    assert result.stdout_text.startswith(f"{absolute / BILLING}:{line}:{column}: unknown_fact:")
    # Two folders given separately are checked together, each file named under its own folder.
    result = run("validate", "unknown-fact/policies", "unknown-fact/rules")
    assert result.returncode == 1
    assert result.stdout_text.startswith(f"unknown-fact/{BILLING}:{line}:{column}: unknown_fact:")
    assert len(result.stdout_text.splitlines()) == 1


def test_validate_policies_and_rules_options():
    result = run("validate", "--policies", "unknown-time-zone/policies", "--rules", "unknown-time-zone/rules")
    assert result.returncode == 1
    assert result.stdout_text.startswith(BROKEN["unknown-time-zone"][0].prefix("unknown-time-zone"))
    result = run("validate", "--policies", "good/policies", "--rules", "good/rules")
    assert result.returncode == 0 and result.stdout_text == ""


# ---- usage errors -----------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["validate", "no-such-folder"],
    ["validate", "good", "no-such-folder"],
    ["validate", "--no-such-option", "good"],
    ["validate", "--format", "xml", "good"],
    ["validate", "--policies", "no-such-folder"],
    ["decide", "no-such-request.json"],
    ["decide"],
    ["serve", "--port", "not-a-port"],
    ["serve", "--workers", "0"],
    ["no-such-command"],
], ids=lambda args: " ".join(args))
def test_usage_errors_exit_2(args):
    result = run(*args)
    assert result.returncode == 2, result.stdout_text + result.stderr_text
    assert result.stdout_text == ""
    assert "Error" in result.stderr_text


def test_missing_path_is_named():
    result = run("validate", "no-such-folder")
    assert "no-such-folder" in result.stderr_text


# ---- decide -------------------------------------------------------------------------

def check_saturday_night_decision(decision: dict):
    assert decision["customer"] == "demo-city" and decision["ticket_id"] == "T-1001"
    assert decision["in_business_hours"] is False and decision["designated_contact"] is True
    assert decision["emergency"] is False and decision["emergency_support"] is False
    assert decision["billable"] is True
    assert decision["hourly_rate"] == {"amount": "200.00", "currency": "USD"}
    assert decision["notice_required"] is True
    assert decision["route"] == {"team": "emergency_on_call"}
    assert decision["respond_by"] == MONDAY_OPENING_PLUS_4
    assert decision["escalation"] == {"team": "liaison", "via": None}
    assert decision["trace"] and all({"rule", "file", "line"} <= set(t) for t in decision["trace"])


def test_decide_a_request_file(tmp_path):
    request = tmp_path / "request.json"
    request.write_text(json.dumps(REQUEST))
    result = run("decide", request, cwd=tmp_path)
    assert result.returncode == 0, result.stderr_text
    check_saturday_night_decision(json.loads(result.stdout_text))


def test_decide_standard_input(tmp_path):
    result = run("decide", "-", cwd=tmp_path, stdin=json.dumps(REQUEST).encode())
    assert result.returncode == 0, result.stderr_text
    check_saturday_night_decision(json.loads(result.stdout_text))


@pytest.mark.parametrize("change,pointer", [
    ({"received_at": "2026-11-28T23:00:00"}, "/received_at"),
    ({"channel": "fax"}, "/channel"),
    ({"category": None}, "/category"),
    ({"requester": {}}, "/requester/email"),
    ({"customer": "nobody"}, "/customer"),
], ids=["received_at-without-offset", "unknown-channel", "category-null", "no-email", "unknown-customer"])
def test_decide_an_invalid_request_exits_1_naming_the_field(tmp_path, change, pointer):
    body = dict(REQUEST, **change)
    result = run("decide", "-", cwd=tmp_path, stdin=json.dumps(body).encode())
    assert result.returncode == 1, result.stdout_text + result.stderr_text
    assert result.stdout_text == ""
    assert pointer in result.stderr_text


def test_decide_a_request_missing_a_field_names_it(tmp_path):
    body = {k: v for k, v in REQUEST.items() if k != "channel"}
    result = run("decide", "-", cwd=tmp_path, stdin=json.dumps(body).encode())
    assert result.returncode == 1
    assert "/channel" in result.stderr_text


def test_decide_a_request_that_is_not_json_exits_1(tmp_path):
    result = run("decide", "-", cwd=tmp_path, stdin=b"{not json")
    assert result.returncode == 1
    assert result.stdout_text == ""
    assert "JSON" in result.stderr_text


def test_decide_a_request_naming_a_key_twice_exits_1_naming_it(tmp_path):
    text = json.dumps(REQUEST)[:-1] + ', "requester": {"email": "someone@example.org"}}'
    result = run("decide", "-", cwd=tmp_path, stdin=text.encode())
    assert result.returncode == 1
    assert result.stdout_text == ""
    assert '"requester"' in result.stderr_text and "more than once" in result.stderr_text


@pytest.mark.parametrize("case", ["unknown-time-zone", "unknown-fact", "missing-decision"])
def test_decide_with_a_broken_policy_set_exits_3(tmp_path, case):
    result = run("decide", "--policies", CASES / case / "policies", "--rules", CASES / case / "rules", "-",
                 cwd=tmp_path, stdin=json.dumps(REQUEST).encode())
    assert result.returncode == 3, result.stdout_text + result.stderr_text
    assert result.stdout_text == ""
    code = BROKEN[case][0].code
    assert f": {code}: " in result.stderr_text


def test_decide_with_only_broken_policies_exits_3(tmp_path):
    # --policies alone: the shipped rules with a broken plan.
    result = run("decide", "--policies", CASES / "invalid-hours" / "policies", "-",
                 cwd=tmp_path, stdin=json.dumps(REQUEST).encode())
    assert result.returncode == 3
    assert ": invalid_hours: " in result.stderr_text


def test_decide_reads_the_policy_folders_from_the_environment(tmp_path):
    result = run("decide", "-", cwd=tmp_path, stdin=json.dumps(REQUEST).encode(),
                 env_extra={"SUPPORTPOLICY_POLICIES": str(CASES / "unknown-plan" / "policies"),
                            "SUPPORTPOLICY_RULES": str(CASES / "unknown-plan" / "rules")})
    assert result.returncode == 3
    assert ": unknown_reference: " in result.stderr_text


def test_decide_with_the_good_copy_decides_like_the_shipped_policy(tmp_path):
    result = run("decide", "--policies", CASES / "good" / "policies", "--rules", CASES / "good" / "rules", "-",
                 cwd=tmp_path, stdin=json.dumps(REQUEST).encode())
    assert result.returncode == 0, result.stderr_text
    check_saturday_night_decision(json.loads(result.stdout_text))


# ---- serve --------------------------------------------------------------------------

def test_serve_answers_and_stops_on_sigterm(tmp_path):
    port = free_port()
    argv, env = command()
    env["HOME"] = str(tmp_path)  # anything gunicorn keeps in the home folder stays in this test's folder
    out, err = open(tmp_path / "stdout", "wb"), open(tmp_path / "stderr", "wb")
    process = subprocess.Popen(argv + ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                               cwd=tmp_path, env=env, stdout=out, stderr=err, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        health = None
        while time.monotonic() < deadline:
            assert process.poll() is None, \
                f"serve exited with {process.returncode}:\n{(tmp_path / 'stderr').read_text()}"
            try:
                health = http("GET", f"{base}/healthz", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        assert health is not None, "GET /healthz did not answer within 20 s"
        status, document = health
        assert status == 200 and document["status"] == "ok"

        status, decision = http("POST", f"{base}/v1/decisions", REQUEST)
        assert status == 200, decision
        check_saturday_night_decision(decision)
        assert decision["policy"]["digest"].startswith("sha256:")

        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("serve did not exit within 10 s of SIGTERM")
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        out.close()
        err.close()
    assert "Traceback" not in (tmp_path / "stderr").read_text()


def test_serve_refuses_a_broken_policy_set_with_exit_3(tmp_path):
    case = CASES / "overlapping-hours"
    result = run("serve", "--host", "127.0.0.1", "--port", free_port(), "--workers", "1",
                 "--policies", case / "policies", "--rules", case / "rules", cwd=tmp_path, timeout=30)
    assert result.returncode == 3, result.stderr_text
    assert ": overlapping_hours: " in result.stderr_text
