"""Policy tests: suites of requests with the decisions expected for them.

A suite is a YAML file beside the policies (``suite:`` first). Each case is a
request (over the suite's default request) and either the decision fields
expected (only those listed are compared) or the refusal expected. A suite
that cannot be loaded is reported as errored and the others still run. Rule
coverage counts the rules (defaults included) that decided at least one case.
"""
from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from supportpolicy.engine.clock.evaluate import evaluate_ticket
from supportpolicy.engine.decide.decision import Decision
from supportpolicy.engine.errors import EngineError
from supportpolicy.engine.instants import parse_instant
from supportpolicy.engine.load.files import read_documents
from supportpolicy.engine.load.schemas import schema_errors


@dataclass(frozen=True)
class Case:
    suite: str
    name: str
    request: dict
    expect: dict | None
    expect_error: dict | None
    file: str
    line: int
    ticket: dict | None = None  # {events, at}: the ticket's life after the request, for expect.clocks

    @property
    def id(self) -> str:
        return f"{self.suite}/{self.name}"


@dataclass(frozen=True)
class Suite:
    name: str
    file: str
    cases: tuple


@dataclass(frozen=True)
class Mismatch:
    field: str
    expected: object
    actual: object


@dataclass(frozen=True)
class CaseResult:
    case: Case
    status: str  # "passed" or "failed"
    mismatches: tuple = ()
    decision: Decision | None = None
    refusal: str | None = None  # why the request was refused, when it was


@dataclass(frozen=True)
class SuiteResult:
    name: str
    file: str
    cases: tuple = ()
    errors: tuple = ()  # PolicyError: why the suite could not be loaded

    @property
    def status(self) -> str:
        if self.errors:
            return "errored"
        return "failed" if any(c.status == "failed" for c in self.cases) else "passed"


@dataclass(frozen=True)
class RuleCoverage:
    rules: tuple  # every Rule of the policy set
    covered: frozenset  # (file, rule name) of the rules that decided a case

    @property
    def uncovered(self) -> list:
        return [r for r in self.rules if (r.file, r.name) not in self.covered]

    @property
    def ratio(self) -> Fraction:
        return Fraction(len(self.rules) - len(self.uncovered), len(self.rules)) if self.rules else Fraction(1)


@dataclass(frozen=True)
class TestRun:
    suites: tuple
    coverage: RuleCoverage
    counts: dict  # "passed", "failed", "errored" -> number of cases (errored: of suites)


def load_suites(paths, label=None, tests: bool | None = None) -> tuple[list[Suite], list[SuiteResult]]:
    """Every suite under ``paths``; suites that cannot be loaded come back as errored results.

    ``label`` names files and ``tests=True`` reads only ``tests`` folders, as in ``load.read_documents``.
    """
    documents, errors = read_documents(paths, label, tests)
    suites, errored = [], []
    for error in errors:
        errored.append(SuiteResult(error.file, error.file, errors=(error,)))
    for doc in documents:
        if doc.kind != "suite":
            continue
        problems = suite_problems(doc)
        if problems:
            errored.append(SuiteResult(doc.source.data.get("suite", doc.path) if isinstance(doc.source.data, dict)
                                       else doc.path, doc.path, errors=tuple(sorted(problems))))
            continue
        suites.append(_suite(doc))
    return suites, errored


def suite_problems(doc) -> list:
    """What keeps a suite file from running: its schema errors and case names used twice."""
    problems = schema_errors(doc.source, "suite")
    names = {}
    for i, case in enumerate(doc.source.data.get("cases", []) if not problems else []):
        if case["name"] in names:
            problems.append(doc.source.error(f"$.cases[{i}].name", "duplicate_case",
                                             f"case {case['name']!r} is already at line {names[case['name']]}"))
        names.setdefault(case["name"], doc.source.position(f"$.cases[{i}]")[0])
    return problems


def _suite(doc) -> Suite:
    data = doc.source.data
    base = data.get("defaults", {}).get("request", {})
    cases = []
    for i, raw in enumerate(data["cases"]):
        request = copy.deepcopy(base)
        for key, value in raw["request"].items():
            request[key] = dict(request.get(key, {}), **value) if isinstance(value, dict) else value
        cases.append(Case(data["suite"], raw["name"], request, raw.get("expect"), raw.get("expect_error"),
                          doc.path, doc.source.position(f"$.cases[{i}]")[0], raw.get("ticket")))
    return Suite(data["suite"], doc.path, tuple(cases))


def selected(case: Case, patterns) -> bool:
    """``--filter``: a case runs when any pattern matches ``suite/case`` (a glob, or a part of it)."""
    if not patterns:
        return True
    name = case.id.lower()
    return any(p.lower() in name or fnmatch.fnmatchcase(name, p.lower()) for p in patterns)


def run(policy_set, suites, errored=(), patterns=()) -> TestRun:
    results, covered = [], set()
    for suite in suites:
        cases = []
        for case in (c for c in suite.cases if selected(c, patterns)):
            result = run_case(policy_set, case)
            cases.append(result)
            covered.update((rule.file, rule.name) for rule in (result.decision.trace if result.decision else ()))
        if cases:
            results.append(SuiteResult(suite.name, suite.file, tuple(cases)))
    results.extend(errored)
    results.sort(key=lambda r: (r.file, r.name))
    counts = {"passed": 0, "failed": 0, "errored": len(errored)}
    for result in results:
        for case in result.cases:
            counts[case.status] += 1
    return TestRun(tuple(results), RuleCoverage(tuple(policy_set.rules()), frozenset(covered)), counts)


def run_case(policy_set, case: Case) -> CaseResult:
    try:
        decision = policy_set.decide(copy.deepcopy(case.request), decision_id="policy-test")
    except EngineError as error:
        return _refused(case, error)
    if case.expect_error is not None:
        return CaseResult(case, "failed", (Mismatch("status", case.expect_error["status"], "a decision"),),
                          decision)
    document = decision.as_json()  # expectations are written as the decision document reads
    if "clocks" in case.expect:
        document["clocks"] = _clocks(policy_set, case)
    mismatches = tuple(Mismatch(name, expected, document.get(name))
                       for name, expected in case.expect.items() if not matches(name, expected, document.get(name)))
    return CaseResult(case, "failed" if mismatches else "passed", mismatches, decision)


def _clocks(policy_set, case: Case):
    """The ticket's clocks as POST /v1/tickets/evaluate answers, or why there are none (a string)."""
    if case.ticket is None:
        return "no clocks: the case gives no ticket (ticket: {events: [...], at: ...})"
    body = {"request": copy.deepcopy(case.request), "events": copy.deepcopy(case.ticket["events"]),
            "at": case.ticket["at"]}
    try:
        return evaluate_ticket(policy_set, body, datetime.now(timezone.utc)).as_json()
    except EngineError as error:
        return f"refused: {error.status} {error.detail}: " + "; ".join(f"{e.pointer} {e.message}" for e in error.errors)


def _refused(case: Case, error: EngineError) -> CaseResult:
    refusal = f"{error.status} {error.detail}"
    if case.expect_error is None:
        return CaseResult(case, "failed", (Mismatch("decision", "a decision", f"refused: {refusal}"),),
                          refusal=refusal)
    pointers = [e.pointer for e in error.errors]
    mismatches = []
    if case.expect_error["status"] != error.status:
        mismatches.append(Mismatch("status", case.expect_error["status"], error.status))
    if "pointer" in case.expect_error and case.expect_error["pointer"] not in pointers:
        mismatches.append(Mismatch("pointer", case.expect_error["pointer"], pointers))
    return CaseResult(case, "failed" if mismatches else "passed", tuple(mismatches), refusal=refusal)


def matches(name: str, expected, actual) -> bool:
    """Whether an actual decision value meets an expected one (see the suite schema)."""
    if name == "trace" and all(isinstance(e, str) for e in expected):
        return [entry["rule"] for entry in actual] == list(expected)
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(matches(k, v, actual.get(k)) for k, v in expected.items())
    if isinstance(expected, (Decimal, int, float)) and not isinstance(expected, bool) and isinstance(actual, str):
        return _same_amount(expected, actual)
    if _number(expected) and _number(actual):  # seconds of a clock: 3600 is 3600.0
        return expected == actual
    if isinstance(expected, str) and isinstance(actual, str) and expected != actual:
        instants = parse_instant(expected), parse_instant(actual)  # a time may be written in any offset
        return None not in instants and instants[0] == instants[1]
    return expected == actual and type(expected) is type(actual)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same_amount(expected, actual: str) -> bool:
    """An amount written as a number in a suite, against the decimal string the decision gives."""
    try:
        return Decimal(actual) == Decimal(str(expected))
    except InvalidOperation:
        return False


def below(coverage: RuleCoverage, minimum: Fraction) -> bool:
    """Exactly: 99.99 is below 100."""
    return coverage.ratio * 100 < minimum

