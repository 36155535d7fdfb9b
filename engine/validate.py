"""Checking each policy file: its schema first, then its meaning.

Every check reports PolicyError values located through the file's position
map; nothing stops at the first error. A document that fails its schema is not
checked further (its shape cannot be trusted), but every other file still is.
"""
from __future__ import annotations

import copy
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_calendars
from jsonschema.exceptions import best_match

from engine.calendar import DAYS, minutes
from engine.errors import PolicyError
from engine.facts import FACTS
from engine.load import Document
from engine.model import (DECISION_FIELDS, Condition, Customer, Deadline, Escalation, Money, Plan,
                          PolicyFile, ResponseTarget, Route, Rule, RuleSet, Term, Terms)
from engine.schemas import validator_for
from engine.terms import TERM_KIND_FOR, TERMS
from engine.yamlsource import Source, child_path

_CODES = {"required": "missing_field", "additionalProperties": "unknown_field", "enum": "invalid_value",
          "const": "invalid_value", "type": "wrong_type", "pattern": "invalid_format",
          "propertyNames": "invalid_name", "maxItems": "too_many_items", "minItems": "too_few_items",
          "maxProperties": "too_many_items", "minProperties": "too_few_items", "maxLength": "too_long",
          "minLength": "too_short", "minimum": "out_of_range", "maximum": "out_of_range",
          "exclusiveMinimum": "out_of_range", "exclusiveMaximum": "out_of_range", "uniqueItems": "duplicate_item"}


def schema_errors(source: Source, kind: str, data=None, at: str = "$") -> list[PolicyError]:
    """Errors of ``data`` (the whole document by default) against the kind's schema."""
    errors = []
    for error in validator_for(kind).iter_errors(source.data if data is None else data):
        if error.validator in ("oneOf", "anyOf") and error.context:
            error = best_match(error.context)
        path = at + error.json_path[1:]
        message = error.message
        if error.validator == "additionalProperties":
            known = error.schema.get("properties", {})
            for extra in sorted(k for k in error.instance if k not in known):
                errors.append(source.error(child_path(path, extra), "unknown_field",
                                           f"{extra!r} is not a known field here; check its spelling"
                                           + (f" (known: {', '.join(known)})" if known else "")))
            continue
        if error.validator == "required" and kind == "ruleset" and not error.path and "default" not in error.instance:
            errors.append(source.error(path, "no_default",
                                       "the rule set has no default, so a request no rule matches would get no "
                                       "decision (a gap); add `default: {id: ..., then: ...}` after the rules"))
            continue
        if error.validator == "required":
            message = f"{message}; add it"
        elif error.validator == "pattern" and error.schema.get("description"):
            # The pattern is a regular expression; the field's description says the form in words.
            message = f"{error.instance!r} is not in the form this field takes: {error.schema['description']}"
        elif error.validator == "propertyNames":
            message = f"{error.instance!r} is not an allowed name here"
        elif len(message) > 300:
            message = message[:300] + "..."
        errors.append(source.error(path, _CODES.get(error.validator, "schema_violation"), message))
    return errors


def policy_file(doc: Document) -> PolicyFile:
    data = doc.source.data
    return PolicyFile(doc.path, doc.kind, data[doc.kind], data["version"],
                      date.fromisoformat(data["effective_from"]), doc.sha256)


def check_dates(doc: Document) -> list[PolicyError]:
    """Dates the schema's patterns let through but the calendar does not have (2026-02-30)."""
    errors = []
    def walk(value, path):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, child_path(path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, child_path(path, i))
        elif isinstance(value, str) and len(value) == 10 and value[4:5] == "-" and value[7:8] == "-":
            try:
                date.fromisoformat(value)
            except ValueError:
                if value[:4].isdigit():
                    errors.append(doc.source.error(path, "invalid_date", f"{value} is not a date in the calendar"))
    walk(doc.source.data, "$")
    return errors


# ---- plans -----------------------------------------------------------------

def check_terms(source: Source, data: dict, at: str = "$") -> list[PolicyError]:
    """Meaning checks on plan terms (a plan file, or a customer's merged terms)."""
    errors = []
    schedule = data["schedule"]
    where = f"{at}.schedule"
    try:
        ZoneInfo(schedule["time_zone"])
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(source.error(f"{where}.time_zone", "unknown_time_zone",
                                   f"{schedule['time_zone']!r} is not an IANA time zone; use e.g. America/Chicago"))
    any_opening = False
    for day in DAYS:
        openings = schedule["hours"].get(day, [])
        spans = []
        for i, opening in enumerate(openings):
            start, end = minutes(opening["from"]), minutes(opening["to"])
            path = f"{where}.hours.{day}[{i}]"
            if start >= end:
                errors.append(source.error(path, "invalid_hours",
                                           f"opening {opening['from']}-{opening['to']} closes before it opens; "
                                           "'from' must be earlier than 'to' (use 24:00 for midnight)"))
                continue
            spans.append((start, end, path))
            any_opening = True
        spans.sort()
        for (s1, e1, _), (s2, e2, path) in zip(spans, spans[1:]):
            if s2 < e1:
                errors.append(source.error(path, "overlapping_hours",
                                           f"this opening overlaps another one on {day}; merge them"))
    if not any_opening:
        errors.append(source.error(f"{where}.hours", "no_support_hours",
                                   "the schedule has no opening on any day; deadlines could never be met"))
    errors.extend(_check_holidays(source, schedule["holidays"], f"{where}.holidays"))
    return errors


def _check_holidays(source: Source, spec: dict, where: str) -> list[PolicyError]:
    errors = []
    country, subdivision = spec.get("country"), spec.get("subdivision")
    supported = holiday_calendars.list_supported_countries()
    if country is not None and country not in supported:
        errors.append(source.error(f"{where}.country", "unknown_holiday_calendar",
                                   f"the holidays package has no calendar for {country!r}"))
    elif country is not None and subdivision is not None and subdivision not in supported[country]:
        errors.append(source.error(f"{where}.subdivision", "unknown_holiday_calendar",
                                   f"{country} has no subdivision {subdivision!r} in the holidays package"))
    elif country is None and subdivision is not None:
        errors.append(source.error(f"{where}.subdivision", "unknown_holiday_calendar",
                                   "a subdivision needs a country"))
    seen = {}
    for i, added in enumerate(spec.get("add", [])):
        if added["date"] in seen:
            errors.append(source.error(f"{where}.add[{i}].date", "duplicate_holiday",
                                       f"{added['date']} is already added above; keep one"))
        seen[added["date"]] = i
    return errors


def build_plan(doc: Document) -> tuple[Plan | None, list[PolicyError]]:
    errors = check_terms(doc.source, doc.source.data)
    if errors:
        return None, errors
    return Plan(policy_file(doc), doc.source.data, Terms.from_data(doc.source.data), doc.source.positions), []


# ---- customers --------------------------------------------------------------

# Terms replaced whole by an override rather than merged key by key.
_REPLACED = ("schedule.hours", "schedule.holidays.add", "schedule.holidays.remove", "response_targets.*",
             "channels.*.response_target", "categories.*.escalation", "after_hours.rate",
             "emergency_support.response_target", "included_services.*")


def replaced_whole(path: tuple) -> bool:
    """Whether an override of the term at ``path`` replaces it whole (a value object) or merges into it."""
    for pattern in _REPLACED:
        parts = pattern.split(".")
        if len(parts) == len(path) and all(p in ("*", k) for p, k in zip(parts, path)):
            return True
    return False


def merge_overrides(source: Source, plan_data: dict, overrides: dict) -> tuple[dict, list[PolicyError]]:
    """The plan's terms with the customer's overrides applied; an override may only name a term the plan defines."""
    merged = copy.deepcopy(plan_data)
    errors = []

    def merge(target: dict, changes: dict, path: tuple, json_path: str):
        for key, value in changes.items():
            here = child_path(json_path, key)
            if key not in target:
                errors.append(source.error(here, "unknown_term",
                                           f"the plan defines no term {'.'.join(path + (key,))!r} to override; "
                                           f"it defines: {', '.join(map(str, target))}"))
            elif isinstance(value, dict) and isinstance(target[key], dict) and not replaced_whole(path + (key,)):
                merge(target[key], value, path + (key,), here)
            else:
                target[key] = copy.deepcopy(value)

    merge(merged, overrides, (), "$.overrides")
    return merged, errors


def build_customer(doc: Document) -> tuple[Customer | None, list[PolicyError]]:
    data = doc.source.data
    errors, contacts = [], set()
    for i, contact in enumerate(data["designated_contacts"]):
        email = contact["email"].lower()
        if email in contacts:
            errors.append(doc.source.error(f"$.designated_contacts[{i}].email", "duplicate_contact",
                                           f"{contact['email']} is listed twice; keep one"))
        contacts.add(email)
    version = data["plan"].get("version", "current")
    customer = Customer(policy_file(doc), data.get("name"), data["plan"]["id"],
                        None if version == "current" else version, frozenset(contacts), data.get("overrides", {}),
                        doc.source.positions)
    return (None if errors else customer), errors


def customer_terms(doc: Document, customer: Customer, plan: Plan) -> tuple[Terms | None, list[PolicyError]]:
    """The customer's terms under one plan version, checked like a plan."""
    if not customer.overrides:
        return plan.terms, []
    merged, errors = merge_overrides(doc.source, plan.data, customer.overrides)
    if not errors:
        for error in schema_errors(doc.source, "plan", merged, "$.overrides"):
            errors.append(PolicyError(error.file, error.line, error.column, error.code,
                                      f"with plan {plan.file.id} {plan.file.version}: {error.message}",
                                      error.json_path))
    if not errors:
        errors = check_terms(doc.source, merged, "$.overrides")
    return (None if errors else Terms.from_data(merged)), errors


# ---- rule sets --------------------------------------------------------------

def build_ruleset(doc: Document, choices: dict) -> tuple[RuleSet, list[PolicyError]]:
    """A rule set whose conditions name known facts and values and whose outcomes fit its fields.

    ``choices`` maps each choice fact's source ("channels", ...) to the values the plans define,
    or is None when the plans could not all be read (values are then not checked).
    """
    data, source = doc.source.data, doc.source
    errors = []
    decides = tuple(data["decides"])
    hit_policy = data.get("hit_policy", "first")
    ruleset_id = data["ruleset"]
    rules, ids = [], {}
    for i, raw in enumerate(data["rules"]):
        path = f"$.rules[{i}]"
        if raw["id"] in ids:
            errors.append(source.error(f"{path}.id", "duplicate_id",
                                       f"rule id {raw['id']!r} is already used at line {ids[raw['id']]}"))
        ids.setdefault(raw["id"], source.position(path)[0])
        conditions = _conditions(source, raw["when"], f"{path}.when", choices, errors)
        outcome = _outcome(source, raw["then"], f"{path}.then", decides, hit_policy == "first", errors)
        rules.append(Rule(ruleset_id, raw["id"], conditions, outcome, doc.path, source.position(path)[0]))
    raw_default = data["default"]
    if raw_default["id"] in ids:
        errors.append(source.error("$.default.id", "duplicate_id",
                                   f"the default's id {raw_default['id']!r} is already a rule's id"))
    default = Rule(ruleset_id, raw_default["id"], (),
                   _outcome(source, raw_default["then"], "$.default.then", decides, True, errors),
                   doc.path, source.position("$.default")[0], is_default=True)
    # Returned even with errors: the set-wide checks (which rule set decides what)
    # still need it, and a set with any error is never compiled.
    return RuleSet(policy_file(doc), hit_policy, decides, tuple(rules), default), errors


def _conditions(source, when: dict, path: str, choices: dict, errors: list) -> tuple:
    conditions = []
    for fact, condition in when.items():
        here = child_path(path, fact)
        spec = FACTS.get(fact)
        if spec is None:
            errors.append(source.error(here, "unknown_fact",
                                       f"there is no fact {fact!r}; facts are: {', '.join(FACTS)}"))
            continue
        if isinstance(condition, dict):
            (op, values), = condition.items()
            values = tuple(values) if isinstance(values, list) else (values,)
        else:
            op, values = "eq", (condition,)
        if spec.kind == "choice" and choices is None:  # the plans defining the values could not be read
            conditions.append(Condition(fact, op, values))
            continue
        allowed = (True, False) if spec.kind == "boolean" else tuple(choices.get(spec.choices, ()))
        for value in values:
            if spec.kind == "boolean" and not isinstance(value, bool):
                errors.append(source.error(here, "invalid_fact_value",
                                           f"{fact} is true or false, never {value!r}"))
            elif spec.kind == "choice" and value not in allowed:
                errors.append(source.error(here, "invalid_fact_value",
                                           f"{fact} can never be {value!r}; it is one of: {', '.join(allowed)}"))
        conditions.append(Condition(fact, op, values))
    return tuple(conditions)


def _outcome(source, then: dict, path: str, decides: tuple, complete: bool, errors: list) -> tuple:
    outcome = []
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
        outcome.append((field, _value(source, field, then[field], here, errors)))
    return tuple(outcome)


def _value(source, field: str, value, path: str, errors: list):
    if isinstance(value, dict) and "term" in value:
        return _term(source, field, value["term"], path, errors)
    if field == "route":
        return Route(value["team"])
    if field == "hourly_rate" and value is not None:
        return Money.from_data(value)
    if field == "escalation":
        return Escalation.from_data(value)
    if field == "respond_by" and value is not None:
        within = value["within"]
        if "term" in within:
            target = _term(source, "respond_by.within", within["term"], child_path(path, "within"), errors)
        else:
            target = ResponseTarget.from_data(within)
        return Deadline(value["from"], target)
    return value


def _term(source, place: str, name: str, path: str, errors: list) -> Term:
    wanted, kind = TERM_KIND_FOR.get(place), TERMS[name].kind
    if wanted != kind:
        fitting = [t for t, spec in TERMS.items() if spec.kind == wanted]
        errors.append(source.error(path, "term_mismatch",
                                   f"the term {name} gives a value of kind {kind} and cannot fill {place}"
                                   + (f"; use one of: {', '.join(fitting)}" if fitting else "")))
    return Term(name)
