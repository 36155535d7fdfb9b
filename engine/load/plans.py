"""Checking a plan's terms: its schedules, response targets, request attributes and rates.

The same checks run on a customer's terms, the plan with the customer's
overrides applied (customers.py), so an override cannot make them invalid.
"""
from __future__ import annotations

from supportpolicy.engine.calendar import SUPPORT_SCHEDULE
from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.clocks import clock_errors, with_clocks
from supportpolicy.engine.load.files import Document
from supportpolicy.engine.load.schedules import schedule_errors
from supportpolicy.engine.load.yamlsource import Source
from supportpolicy.engine.model import Plan
from supportpolicy.engine.terms import Attribute, Terms
from supportpolicy.engine.vocabulary import BUSINESS_UNITS, FACTS, UNITS


def check_terms(source: Source, data: dict, at: str = "$") -> list[PolicyError]:
    """Meaning checks on plan terms (a plan file, or a customer's merged terms)."""
    errors = schedule_errors(source, data["schedule"], f"{at}.schedule")
    for name, schedule in data.get("schedules", {}).items():
        errors += schedule_errors(source, schedule, f"{at}.schedules.{name}")
    schedules = {SUPPORT_SCHEDULE, *data.get("schedules", {})}
    for path, target in _response_targets(data, at):
        errors += target_errors(source, target, path, schedules)
    errors += _attribute_errors(source, data, at)
    errors += _rate_errors(source, data["after_hours"], f"{at}.after_hours")
    return errors + clock_errors(source, data, at)


def _response_targets(data: dict, at: str):
    for name, channel in data["channels"].items():
        yield f"{at}.channels.{name}.response_target", channel["response_target"]
    yield f"{at}.response_targets.message", data["response_targets"]["message"]
    yield f"{at}.emergency_support.response_target", data["emergency_support"]["response_target"]
    for i, level in enumerate(data.get("clocks", {}).get("escalation", {}).get("levels", ())):
        if "after" in level:
            yield f"{at}.clocks.escalation.levels[{i}].after", level["after"]


def target_errors(source: Source, target: dict, path: str, schedules) -> list[PolicyError]:
    """A response target names exactly one unit, and a schedule only for a business unit, one the plans have."""
    units = [key for key in target if key in UNITS]
    if len(units) != 1:
        return [source.error(path, "invalid_target", f"a target is written in exactly one unit, not "
                                                     f"{' and '.join(units) or 'none'}; units are: {', '.join(UNITS)}")]
    if "schedule" not in target:
        return []
    if units[0] not in BUSINESS_UNITS:
        return [source.error(f"{path}.schedule", "invalid_target",
                             f"{units[0]} is elapsed time, counted in no schedule; remove `schedule`, or use a "
                             f"business unit ({', '.join(BUSINESS_UNITS)})")]
    if target["schedule"] not in schedules:
        return [source.error(f"{path}.schedule", "unknown_schedule",
                             f"there is no schedule {target['schedule']!r}; the plan's schedules are: "
                             f"{', '.join(sorted(schedules))}")]
    return []



def _attribute_errors(source: Source, data: dict, at: str) -> list[PolicyError]:
    errors, reserved = [], set(FACTS) | {f"open_{name}" for name in data.get("schedules", {})}
    for name, spec in data.get("attributes", {}).items():
        path = f"{at}.attributes.{name}"
        if name in reserved:
            errors.append(source.error(path, "reserved_name", f"{name} is already a fact of every request; "
                                                              "name the attribute otherwise"))
        problem = _attribute_shape(spec)
        if problem:
            errors.append(source.error(path, "invalid_attribute", problem))
            continue
        attribute = Attribute.from_data(name, spec)
        if "default" in spec and attribute.problem(spec["default"]):
            errors.append(source.error(f"{path}.default", "invalid_attribute",
                                       f"the default {spec['default']!r} {attribute.problem(spec['default'])}"))
    return errors


def _attribute_shape(spec: dict) -> str | None:
    if ("values" in spec) == ("type" in spec):
        return "give the values it takes, or its type (boolean, integer or text), not both"
    if spec.get("required") and "default" in spec:
        return "an attribute is required, or has a default, not both"
    if not spec.get("required") and "default" not in spec:
        return "say `required: true`, or give a `default` for requests that do not send it"
    values = spec.get("values", [])
    if values and len({type(v) for v in values}) > 1:
        return "the values are all numbers, or all words"
    if spec.get("type") == "integer" and spec.get("minimum", 0) > spec.get("maximum", 2**31 - 1):
        return "the minimum is above the maximum"
    if any(key in spec for key in ("minimum", "maximum")) and spec.get("type") != "integer":
        return "minimum and maximum are for integers"
    return None


def _rate_errors(source: Source, after_hours: dict, where: str) -> list[PolicyError]:
    currency = after_hours["rate"]["currency"]
    return [source.error(f"{where}.rates.{period}.currency", "currency_mismatch",
                         f"the {period} rate is in {rate['currency']}, the after-hours rate in {currency}; "
                         "give every rate in one currency")
            for period, rate in after_hours.get("rates", {}).items()
            if "currency" in rate and rate["currency"] != currency]


def build_plan(doc: Document) -> tuple[Plan | None, list[PolicyError]]:
    errors = check_terms(doc.source, doc.source.data)
    if errors:
        return None, errors
    data = doc.source.data
    terms = with_clocks(Terms.from_data(data), data)
    return Plan(doc.policy_file(), data, terms, doc.source.positions, terms.clocks), []
