"""Checking a rule set: conditions over known facts and values, outcomes that fit the fields they set.

Each builder returns its value with the errors it found; a rule set is built
even with errors, since the checks across the set (which rule set decides
what) still need it, and a set with any error is never compiled.
"""
from __future__ import annotations

from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.domains import Domains
from supportpolicy.engine.load.files import Document
from supportpolicy.engine.load.yamlsource import Source, child_path
from supportpolicy.engine.model import (
    Condition,
    Deadline,
    Escalation,
    Money,
    ResponseTarget,
    Route,
    Rule,
    RuleSet,
    TermReference,
)
from supportpolicy.engine.vocabulary import DECISION_FIELDS, FACTS, NAMED_TERMS, TERM_KIND_FOR


def build_ruleset(doc: Document, domains: Domains | None) -> tuple[RuleSet, list[PolicyError]]:
    """A rule set whose conditions name known facts and values and whose outcomes fit its fields.

    ``domains`` holds the values the plans define, or is None when the plans
    could not all be read (choice values are then not checked).
    """
    data, source = doc.source.data, doc.source
    errors = []
    decides = tuple(data["decides"])
    first_decides = data.get("hit_policy", "first") == "first"
    rules, ids = [], {}
    for i, raw in enumerate(data["rules"]):
        path = f"$.rules[{i}]"
        if raw["id"] in ids:
            errors.append(source.error(f"{path}.id", "duplicate_id",
                                       f"rule id {raw['id']!r} is already used at line {ids[raw['id']]}"))
        ids.setdefault(raw["id"], source.position(path)[0])
        conditions, problems = _conditions(source, raw["when"], f"{path}.when", domains)
        outcome, more = _outcome(source, raw["then"], f"{path}.then", decides, first_decides)
        errors += problems + more
        rules.append(Rule(data["ruleset"], raw["id"], conditions, outcome, doc.path, source.position(path)[0]))
    raw_default = data["default"]
    if raw_default["id"] in ids:
        errors.append(source.error("$.default.id", "duplicate_id",
                                   f"the default's id {raw_default['id']!r} is already a rule's id"))
    outcome, problems = _outcome(source, raw_default["then"], "$.default.then", decides, True)
    errors += problems
    default = Rule(data["ruleset"], raw_default["id"], (), outcome, doc.path, source.position("$.default")[0],
                   is_default=True)
    return RuleSet(doc.policy_file(), data.get("hit_policy", "first"), decides, tuple(rules), default), errors


def _conditions(source: Source, when: dict, path: str, domains: Domains | None) -> tuple[tuple, list[PolicyError]]:
    conditions, errors = [], []
    for fact, condition in when.items():
        here = child_path(path, fact)
        if fact not in FACTS:
            errors.append(source.error(here, "unknown_fact",
                                       f"there is no fact {fact!r}; facts are: {', '.join(FACTS)}"))
            continue
        if isinstance(condition, dict):
            (op, values), = condition.items()
            values = tuple(values) if isinstance(values, list) else (values,)
        else:
            op, values = "eq", (condition,)
        errors += _value_errors(source, here, fact, values, domains)
        conditions.append(Condition(fact, op, values))
    return tuple(conditions), errors


def _value_errors(source: Source, path: str, fact: str, values: tuple, domains: Domains | None) -> list:
    """A boolean fact is true or false; a choice fact takes one of the values the plans define."""
    spec = FACTS[fact]
    if spec.kind == "boolean":
        return [source.error(path, "invalid_fact_value", f"{fact} is true or false, never {value!r}")
                for value in values if not isinstance(value, bool)]
    if domains is None:  # the plans defining the values could not be read
        return []
    allowed = domains.values(fact)
    return [source.error(path, "invalid_fact_value",
                         f"{fact} can never be {value!r}; it is one of: {', '.join(map(str, allowed))}")
            for value in values if value not in allowed]


def _outcome(source: Source, then: dict, path: str, decides: tuple, complete: bool) -> tuple[tuple, list]:
    outcome, errors = [], []
    for field in DECISION_FIELDS:
        if field not in then:
            if complete and field in decides:
                errors.append(source.error(path, "incomplete_outcome",
                                           f"this outcome does not set {field}, which the rule set decides; "
                                           "set it (with hit_policy first every rule sets every field)"))
            continue
        here = child_path(path, field)
        if field not in decides:
            errors.append(source.error(here, "undecided_field",
                                       f"{field} is not among the fields this rule set decides "
                                       f"({', '.join(decides)}); add it to `decides` or remove it here"))
            continue
        value, problems = _value(source, field, then[field], here)
        outcome.append((field, value))
        errors += problems
    return tuple(outcome), errors


def _value(source: Source, field: str, value, path: str) -> tuple[object, list]:
    if isinstance(value, dict) and "term" in value:
        return _reference(source, field, value["term"], path)
    if field == "route":
        return Route(value["team"]), []
    if field == "hourly_rate" and value is not None:
        return Money.from_data(value), []
    if field == "escalation":
        return Escalation.from_data(value), []
    if field == "respond_by" and value is not None:
        within = value["within"]
        if "term" in within:
            target, errors = _reference(source, "respond_by.within", within["term"], child_path(path, "within"))
        else:
            target, errors = ResponseTarget.from_data(within), []
        return Deadline(value["from"], target), errors
    return value, []


def _reference(source: Source, place: str, name: str, path: str) -> tuple[TermReference, list]:
    wanted, kind = TERM_KIND_FOR.get(place), NAMED_TERMS[name].kind
    if wanted == kind:
        return TermReference(name), []
    fitting = [t for t, spec in NAMED_TERMS.items() if spec.kind == wanted]
    return TermReference(name), [source.error(path, "term_mismatch",
                                              f"the term {name} gives a value of kind {kind} and cannot fill {place}"
                                              + (f"; use one of: {', '.join(fitting)}" if fitting else ""))]
