"""Checking a rule set: conditions over known facts and values, outcomes that fit the fields they set.

Each builder returns its value with the errors it found; a rule set is built
even with errors, since the checks across the set (which rule set decides
what) still need it, and a set with any error is never compiled.
"""
from __future__ import annotations

from supportpolicy.engine.calendar import SUPPORT_SCHEDULE
from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.domains import Domains
from supportpolicy.engine.load.files import Document
from supportpolicy.engine.load.plans import target_errors
from supportpolicy.engine.load.yamlsource import Source, child_path
from supportpolicy.engine.model import Condition, Deadline, Rule, RuleSet, TermReference
from supportpolicy.engine.terms import Escalation, Money, ResponseTarget, Route
from supportpolicy.engine.vocabulary import DECISION_FIELDS, NAMED_TERMS, TERM_KIND_FOR


def build_ruleset(doc: Document, domains: Domains | None) -> tuple[RuleSet, list[PolicyError]]:
    """A rule set whose conditions name known facts and values and whose outcomes fit its fields.

    ``domains`` holds the facts and values of the plans it decides for, or is
    None when the plans could not all be read (facts and values are then not checked).
    """
    data, source = doc.source.data, doc.source
    decides = tuple(data["decides"])
    errors = _decides_errors(source, decides, domains)
    if errors:  # outcomes checked against a list with a misspelt field would only echo it
        decides = None
    first_decides = data.get("hit_policy", "first") == "first"
    rules, ids = [], {}
    for i, raw in enumerate(data["rules"]):
        path = f"$.rules[{i}]"
        if raw["id"] in ids:
            errors.append(source.error(f"{path}.id", "duplicate_id",
                                       f"rule id {raw['id']!r} is already used at line {ids[raw['id']]}"))
        ids.setdefault(raw["id"], source.position(path)[0])
        conditions, problems = _conditions(source, raw["when"], f"{path}.when", domains)
        outcome, more = _outcome(source, raw["then"], f"{path}.then", decides, first_decides, domains)
        errors += problems + more
        rules.append(Rule(data["ruleset"], raw["id"], conditions, outcome, doc.path, source.position(path)[0]))
    raw_default = data["default"]
    if raw_default["id"] in ids:
        errors.append(source.error("$.default.id", "duplicate_id",
                                   f"the default's id {raw_default['id']!r} is already a rule's id"))
    outcome, problems = _outcome(source, raw_default["then"], "$.default.then", decides, True, domains)
    errors += problems
    default = Rule(data["ruleset"], raw_default["id"], (), outcome, doc.path, source.position("$.default")[0],
                   is_default=True)
    plans = tuple(data["plans"]) if "plans" in data else None
    return RuleSet(doc.policy_file(), data.get("hit_policy", "first"), tuple(data["decides"]), tuple(rules), default,
                   plans), errors


def _decides_errors(source: Source, decides: tuple, domains: Domains | None) -> list[PolicyError]:
    if domains is None:
        return []
    known = (*DECISION_FIELDS, *domains.targets)
    return [source.error(f"$.decides[{i}]", "unknown_decision_field",
                         f"{field} is neither a field of the decision nor a target of the plans this rule set "
                         f"decides for; they are: {', '.join(known)}")
            for i, field in enumerate(decides) if field not in known]


def _conditions(source: Source, when: dict, path: str, domains: Domains | None) -> tuple[tuple, list]:
    conditions, errors = [], []
    for fact, condition in when.items():
        here = child_path(path, fact)
        if domains is not None and domains.kind(fact) is None:
            errors.append(source.error(here, "unknown_fact",
                                       f"there is no fact {fact!r}; facts are: {', '.join(domains.facts)}"))
            continue
        if isinstance(condition, dict):
            (op, values), = condition.items()
            values = tuple(values) if isinstance(values, list) else (values,)
        else:
            op, values = "eq", (condition,)
        if domains is not None:
            errors += _value_errors(source, here, fact, values, domains)
        conditions.append(Condition(fact, op, values))
    return tuple(conditions), errors


def _value_errors(source: Source, path: str, fact: str, values: tuple, domains: Domains) -> list:
    """A boolean fact is true or false; an attribute takes its values; a choice, one the plans define."""
    attribute = domains.attribute(fact)
    if attribute is not None:
        return [source.error(path, "invalid_fact_value",
                             f"{fact} can never be {value!r}: it {attribute.problem(value)}")
                for value in values if attribute.problem(value)]
    if domains.kind(fact) == "boolean":
        return [source.error(path, "invalid_fact_value", f"{fact} is true or false, never {value!r}")
                for value in values if not isinstance(value, bool)]
    allowed = domains.values(fact)
    return [source.error(path, "invalid_fact_value",
                         f"{fact} can never be {value!r}; it is one of: {', '.join(map(str, allowed))}")
            for value in values if value not in allowed]


def _outcome(source: Source, then: dict, path: str, decides: tuple | None, complete: bool,
             domains: Domains | None) -> tuple[tuple, list]:
    written = {field: (then[field], child_path(path, field)) for field in DECISION_FIELDS if field in then}
    for target, value in then.get("targets", {}).items():
        written[target] = (value, child_path(child_path(path, "targets"), target))
    outcome, errors = [], []
    if decides is None:
        return tuple((field, _value(source, field, value, here, domains)[0])
                     for field, (value, here) in written.items()), []
    for field in decides:
        if field not in written and complete:
            errors.append(source.error(path, "incomplete_outcome",
                                       f"this outcome does not set {field}, which the rule set decides; "
                                       "set it (with hit_policy first every rule sets every field)"))
    for field, (value, here) in written.items():
        if field not in decides:
            errors.append(source.error(here, "undecided_field",
                                       f"{field} is not among the fields this rule set decides "
                                       f"({', '.join(decides)}); add it to `decides` or remove it here"))
            continue
        value, problems = _value(source, field, value, here, domains)
        outcome.append((field, value))
        errors += problems
    return tuple(outcome), errors


def _value(source: Source, field: str, value, path: str, domains: Domains | None) -> tuple[object, list]:
    if isinstance(value, dict) and "term" in value:
        return _reference(source, field, value["term"], path)
    if field == "route":
        return Route(value["team"]), []
    if field == "hourly_rate" and value is not None:
        return Money.from_data(value), []
    if field == "escalation":
        return Escalation.from_data(value), []
    if (field == "respond_by" or field not in DECISION_FIELDS) and value is not None:  # a target's deadline
        return _deadline(source, value, path, domains)
    return value, []


def _deadline(source: Source, value: dict, path: str, domains: Domains | None) -> tuple[Deadline, list]:
    within, here = value["within"], child_path(path, "within")
    if "term" in within:
        target, errors = _reference(source, "respond_by.within", within["term"], here)
    else:
        schedules = {SUPPORT_SCHEDULE, *(domains.schedules if domains else ())}
        errors = target_errors(source, within, here, schedules) if domains else []
        target = ResponseTarget.from_data(within) if not errors else ResponseTarget("immediately")
    return Deadline(value["from"], target), errors


def _reference(source: Source, place: str, name: str, path: str) -> tuple[TermReference, list]:
    wanted, kind = TERM_KIND_FOR.get(place), NAMED_TERMS[name].kind
    if wanted == kind:
        return TermReference(name), []
    fitting = [t for t, spec in NAMED_TERMS.items() if spec.kind == wanted]
    return TermReference(name), [source.error(path, "term_mismatch",
                                              f"the term {name} gives a value of kind {kind} and cannot fill {place}"
                                              + (f"; use one of: {', '.join(fitting)}" if fitting else ""))]
