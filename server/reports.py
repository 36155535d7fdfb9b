"""How the command line prints results: text for people, JSON and JUnit XML for tools,
GitHub workflow annotations for CI. Each reporter takes a result and returns text."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from decimal import Decimal

from supportpolicy.engine.model import Rule
from supportpolicy.engine.tools.impact import moved_text, outcome_change
from supportpolicy.engine.vocabulary import DECISION_FIELDS


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# ---- validate -----------------------------------------------------------------

def errors_text(errors) -> str:
    return "".join(f"{e}\n" for e in errors)


def errors_json(errors) -> str:
    failed = any(e.severity == "error" for e in errors)
    return json.dumps({"valid": not failed, "errors": [e.as_dict() for e in errors]}, indent=2) + "\n"


def _escape(text: str, properties: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if properties else text


def errors_github(errors) -> str:
    """GitHub workflow commands, so each problem is shown on its line in the pull request."""
    return "".join(f"::{e.severity} file={_escape(e.file, True)},line={e.line},col={e.column},"
                   f"title={_escape(e.code, True)}::{_escape(e.message)}\n" for e in errors)


def validation_summary(errors) -> str:
    n_errors = sum(e.severity == "error" for e in errors)
    n_warnings = len(errors) - n_errors
    if not errors:
        return "supportpolicy: the policy set is valid"
    return f"supportpolicy: {_count(n_errors, 'error')}, {_count(n_warnings, 'warning')}"


VALIDATE_REPORTERS = {"text": errors_text, "json": errors_json, "github": errors_github}


# ---- test -------------------------------------------------------------------------

def _value(value) -> str:
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, default=str)


def _percent(coverage) -> str:
    return f"{float(coverage.ratio * 100):.2f}%"


def _trace(result) -> tuple:
    """The rules that decided a case (none when it was refused)."""
    return result.decision.trace if result.decision else ()


def test_text(run, verbose: bool = False) -> str:
    lines = []
    for suite in run.suites:
        if suite.status == "errored":
            where = "" if suite.name == suite.file else f" ({suite.file})"
            lines.append(f"ERRORED  {suite.name}{where}: the suite could not be loaded")
            lines.extend(f"    {e}" for e in suite.errors)
            continue
        passed = sum(c.status == "passed" for c in suite.cases)
        lines.append(f"{suite.status.upper():8} {suite.name} ({suite.file}): "
                     f"{passed} of {_count(len(suite.cases), 'case')} passed")
        for result in suite.cases:
            if result.status == "passed" and not verbose:
                continue
            case = result.case
            lines.append(f"  {result.status.upper():6} {case.name}  ({case.file}:{case.line})")
            for m in result.mismatches:
                lines.append(f"      {m.field}: expected {_value(m.expected)}, got {_value(m.actual)}")
            if result.status == "failed" and result.decision:
                lines.append("      decided by: " + "; ".join(f"{r.name} ({r.file}:{r.line})"
                                                           for r in result.decision.trace))
    coverage = run.coverage
    lines.append(f"rule coverage: {len(coverage.rules) - len(coverage.uncovered)} of "
                 f"{_count(len(coverage.rules), 'rule')} decided a case ({_percent(coverage)})")
    lines.extend(f"  not covered: {r.name}  {r.file}:{r.line}" for r in coverage.uncovered)
    c = run.counts
    lines.append(f"{c['passed']} passed, {c['failed']} failed" + (f", {c['errored']} errored" if c["errored"] else ""))
    return "\n".join(lines) + "\n"


def test_json(run, verbose: bool = False) -> str:
    return json.dumps({
        "counts": run.counts,
        "suites": [{
            "suite": s.name, "file": s.file, "status": s.status,
            "errors": [e.as_dict() for e in s.errors],
            "cases": [{
                "case": r.case.name, "file": r.case.file, "line": r.case.line, "status": r.status,
                "mismatches": [{"field": m.field, "expected": m.expected, "actual": m.actual} for m in r.mismatches],
                "trace": [rule.as_trace() for rule in _trace(r)], "refusal": r.refusal,
            } for r in s.cases],
        } for s in run.suites],
        "coverage": {"rules": len(run.coverage.rules), "covered": len(run.coverage.rules) - len(run.coverage.uncovered),
                     "percent": float(run.coverage.ratio * 100),
                     "uncovered": [{"rule": r.name, "file": r.file, "line": r.line} for r in run.coverage.uncovered]},
    }, indent=2, default=str) + "\n"


def test_junit(run, verbose: bool = False) -> str:
    """JUnit XML, as CI systems show test reports."""
    root = ET.Element("testsuites", name="supportpolicy", tests=str(sum(run.counts.values())),
                      failures=str(run.counts["failed"]), errors=str(run.counts["errored"]))
    for suite in run.suites:
        element = ET.SubElement(root, "testsuite", name=suite.name, file=suite.file, tests=str(len(suite.cases) or 1),
                                failures=str(sum(c.status == "failed" for c in suite.cases)),
                                errors=str(1 if suite.errors else 0))
        if suite.errors:
            case = ET.SubElement(element, "testcase", classname=suite.name, name="(load)", file=suite.file)
            ET.SubElement(case, "error", message="the suite could not be loaded").text = \
                "\n".join(str(e) for e in suite.errors)
        for result in suite.cases:
            case = ET.SubElement(element, "testcase", classname=suite.name, name=result.case.name,
                                 file=result.case.file, line=str(result.case.line))
            if result.status == "failed":
                detail = [f"{m.field}: expected {_value(m.expected)}, got {_value(m.actual)}"
                          for m in result.mismatches]
                ET.SubElement(case, "failure", message="; ".join(detail)).text = "\n".join(
                    detail + [f"decided by {t['rule']} ({t['file']}:{t['line']})"
                              for t in map(Rule.as_trace, _trace(result))])
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


TEST_REPORTERS = {"text": test_text, "json": test_json, "junit": test_junit}


# ---- explain ------------------------------------------------------------------

def _yes(value: bool) -> str:
    return "yes" if value else "no"


def explain_text(explanation) -> str:
    decision, facts = explanation.decision, explanation.decision.facts
    local = facts.local_time
    lines = [
        "Facts",
        f"  received at          {facts.received_at.isoformat()}",
        f"  local time           {local.strftime('%A %Y-%m-%d %H:%M:%S')} {decision.time_zone} "
        f"(UTC{local.strftime('%z')[:3]}:{local.strftime('%z')[3:]})",
        f"  in business hours    {_yes(facts.in_business_hours)}",
        f"  holiday              {facts.holiday or 'none'}",
        f"  channel              {facts.channel}",
        f"  category             {facts.category} ({'an emergency' if facts.emergency else 'not an emergency'})",
        f"  designated contact   {_yes(facts.designated_contact)}",
        f"  may use emergency support  {_yes(facts.may_use_emergency_support)}",
        f"  period               {facts.period.replace('_', ' ')}",
        *(f"  {name:20} {_value(value)}  (a request attribute)" for name, value in facts.attributes.items()),
        *(f"  {'open_' + name:20} {_yes(value)}  (whether the {name} schedule is open)"
          for name, value in facts.open.items()),
        "",
    ]
    values = facts.for_rules()
    outcome = explanation.decision.outcome.as_json()
    outcome.update((t.name, t.due.isoformat() if t.due else None) for t in explanation.decision.outcome.targets
                   if t.name != "first_response")
    for part in explanation.rulesets:
        ruleset = part.ruleset
        lines.append(f"{ruleset.id}  ({ruleset.file.path}, version {ruleset.file.version}, "
                     f"{'first match decides' if ruleset.hit_policy == 'first' else 'every match applies'})")
        for check in part.checks:
            rule = check.rule
            name = f"default {rule.id}" if rule.is_default else rule.id
            if check.decided:
                verdict = "DECIDES: " + ", ".join(f"{f} = {_value(outcome[f])}" for f, _ in rule.outcome)
            elif check.matched and rule.is_default:
                verdict = "not needed: a rule decided"
            elif check.matched:
                verdict = "matches, but an earlier rule decided"
            else:
                failed = check.failed
                verdict = f"no: {failed.fact} is {_value(values[failed.fact])}, the rule needs {failed}"
            lines.append(f"  {'->' if check.decided else '  '} {name:40} line {rule.line:<4} {verdict}")
        lines.append("")
    lines.append("Decision")
    for name in DECISION_FIELDS:
        lines.append(f"  {name:20} {_value(outcome[name])}")
    for target in decision.outcome.targets:
        where = f"counted in {target.target.counts_in}" if target.target and target.target.counts_in else "elapsed time"
        due = target.due.isoformat() if target.due else "none"
        lines.append(f"  target {target.name:13} due {due} ({where}; set by {target.rule.name})")
        lines.extend(_across_versions(explanation, target.name))
    policy = decision.policy
    lines.append(f"  {'policy':20} {policy.id} {policy.version} ({policy.digest})")
    return "\n".join(lines) + "\n"


def _across_versions(explanation, target: str) -> list[str]:
    """Why a deadline past a newer version's effective date is still counted in the older hours."""
    lines = []
    for across in (a for a in explanation.across_versions if a.target == target):
        newer = ", ".join(f"{f.kind} {f.id} {f.version} (from {f.effective_from})" for f in across.newer)
        plan = across.counted_in
        lines.append(f"    counted in the hours of plan {plan.id} {plan.version}, in force when the request was "
                     f"received, to the end: {newer} takes effect before it is due and does not move it")
    return lines


# ---- impact -------------------------------------------------------------------

def _place(where: dict) -> str:
    """Where a replayed request came from: a line of the requests file, or a policy test case."""
    place = f"{where['file']}:{where['line']} ({where['case']})" if "case" in where else f"line {where['line']}"
    return place + (f", received at {where['shifted_from']}, replayed later" if "shifted_from" in where else "")


def impact_text(impact, examples: int = 3) -> str:
    lines = [f"{impact.changed} of {_count(impact.total, 'request')} would be decided differently"]
    lines += _versions_text(impact)
    if impact.masked:
        lines.append(f"  ({impact.masked} from log records whose e-mail is masked: decided with the "
                     "designated-contact status the log recorded)")
    for where, message in impact.unreadable:
        lines.append(f"  {_place(where)}: skipped, {message}")
    sections = (
        ("Refused or decided:", impact.outcomes, lambda key: f"{outcome_change(*key)}: {key[0]} -> {key[1]}"),
        ("Deadlines moved:", impact.deadlines, lambda key: f"{key[0]}: {moved_text(key[1])}"),
        ("By field:", impact.fields, lambda key: f"{key[0]}: {key[1]} -> {key[2]}"),
    )
    for heading, table, describe in sections:
        if table:
            lines += ["", heading]
            for key, group in sorted(table.items(), key=lambda kv: (-kv[1].count, kv[0])):
                lines.append(f"  {describe(key)}  ({_count(group.count, 'request')})")
                lines.extend(f"      e.g. {_place(e)}: {json.dumps(e['request'])}" for e in group.examples[:examples])
    if impact.rules:
        lines.append("")
        lines.append("By deciding rule:")
        for (ruleset, before, after), group in sorted(impact.rules.items(), key=lambda kv: (-kv[1].count, kv[0])):
            lines.append(f"  {ruleset}: {before or 'none'} -> {after or 'none'}  ({_count(group.count, 'request')})")
    return "\n".join(lines) + "\n"


def _versions_text(impact) -> list:
    """When the versions that differ take effect, and how many of the requests they reach."""
    if not impact.changes:
        return ["The two policy sets hold the same versions."]
    lines = ["Versions that differ, and when each takes effect:"]
    lines += [f"  {c.effective_from}  {c.kind} {c.id} {c.version} ({c.change}, {c.path})" for c in impact.changes]
    first, last = impact.received
    span = "" if first is None else f"; the requests were received from {first.date()} to {last.date()}"
    lines.append(f"{impact.reached} of {_count(impact.total, 'request')} decided under them{span}")
    if impact.shifted:
        lines.append(f"{_count(impact.shifted, 'request')} replayed on or after {impact.takes_effect}, "
                     "at the same weekday and local time (--shift)")
    return lines


def impact_warning(impact, shifted: bool = False) -> str | None:
    """What to say when the versions that differ reach none of the requests replayed."""
    if not impact.changes or impact.reached or not impact.total:
        return None
    first, last = impact.changes[0].effective_from, impact.takes_effect
    when = f"{first}" if first == last else f"{first} to {last}"
    said = f"none of the {_count(impact.total, 'request')} replayed is decided under the versions that differ " \
           f"(they take effect on {when})"
    if shifted:
        return said + ", even replayed on or after that"
    return said + f": give --shift to replay them at the same weekday and local time on or after {last}"
