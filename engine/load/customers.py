"""Checking a customer: its designated contacts, and its terms under each plan version it may use.

A customer's overrides are written as in the plan, and may only name a term
the plan defines; the plan's terms with the overrides applied are checked
against the plan schema and as a plan's are (plans.py).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.clocks import with_clocks
from supportpolicy.engine.load.files import Document
from supportpolicy.engine.load.plans import check_terms
from supportpolicy.engine.load.schemas import schema_errors
from supportpolicy.engine.load.yamlsource import Source, child_path
from supportpolicy.engine.model import Customer, Plan, comparable_email
from supportpolicy.engine.terms import Terms
from supportpolicy.engine.vocabulary import replaced_whole


def build_customer(doc: Document) -> tuple[Customer | None, list[PolicyError]]:
    data = doc.source.data
    errors, contacts = [], set()
    for i, contact in enumerate(data["designated_contacts"]):
        email = comparable_email(contact["email"])
        if email in contacts:
            errors.append(doc.source.error(f"$.designated_contacts[{i}].email", "duplicate_contact",
                                           f"{contact['email']} is listed twice; keep one"))
        contacts.add(email)
    zone = None
    if "time_zone" in data:
        try:
            zone = ZoneInfo(data["time_zone"])
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(doc.source.error("$.time_zone", "unknown_time_zone",
                                           f"{data['time_zone']!r} is not an IANA time zone; use e.g. "
                                           "America/Los_Angeles"))
    version = data["plan"].get("version", "current")
    customer = Customer(doc.policy_file(), data.get("name"), data["plan"]["id"],
                        None if version == "current" else version, frozenset(contacts), data.get("overrides", {}),
                        doc.source.positions, zone)
    return (None if errors else customer), errors


def keeps_customer_time(data: dict) -> bool:
    """Whether any of the plan's schedules is kept in each customer's own time zone."""
    return any(s["time_zone"] == "customer" for s in (data["schedule"], *data.get("schedules", {}).values()))


def plan_reference_errors(doc: Document, customer: Customer, plan_versions: dict) -> list[PolicyError]:
    """The customer's plan must exist, in the version it names (``plan_versions``: plan id -> versions)."""
    versions = plan_versions.get(customer.plan_id)
    if versions is None:
        return [doc.source.error("$.plan.id", "unknown_reference", f"there is no plan {customer.plan_id!r}"
                                 + (f"; plans are: {', '.join(plan_versions)}" if plan_versions else ""))]
    if customer.plan_version is not None and customer.plan_version not in versions:
        return [doc.source.error("$.plan.version", "unknown_reference",
                                 f"plan {customer.plan_id} has no version {customer.plan_version!r}; it has "
                                 f"{', '.join(sorted(versions))} (or use current)")]
    return []


def merge_overrides(source: Source, plan_data: dict, overrides: dict) -> tuple[dict, list[PolicyError]]:
    """The plan's terms with the customer's overrides applied; an override may only name a term the plan defines.

    What no override touches is the plan's own data, shared, not copied: data the loader built is never
    changed, by anything (a mapping an override changes is copied first). An override that gives the plan's own
    value is a warning (``redundant_override``): it changes nothing, and would keep the customer on the old term
    when the plan changes it."""
    errors = []

    def merge(target: dict, changes: dict, path: tuple, json_path: str) -> dict:
        merged = dict(target)
        for key, value in changes.items():
            here = child_path(json_path, key)
            if key not in target:
                errors.append(source.error(here, "unknown_term",
                                           f"the plan defines no term {'.'.join(path + (key,))!r} to override; "
                                           f"it defines: {', '.join(map(str, target))}"))
            elif isinstance(value, dict) and isinstance(target[key], dict) and not replaced_whole(path + (key,)):
                merged[key] = merge(target[key], value, path + (key,), here)
            else:
                if value == target[key] and type(value) is type(target[key]):
                    errors.append(source.error(here, "redundant_override", f"{'.'.join(path + (key,))} is the "
                                               "plan's own term already; leave it out, so that the customer "
                                               "follows the plan when a new version changes it",
                                               severity="warning"))
                merged[key] = value
        return merged

    return merge(plan_data, overrides, (), "$.overrides"), errors


def customer_terms(doc: Document, customer: Customer, plan: Plan) -> tuple[Terms | None, list[PolicyError]]:
    """The customer's terms under one plan version, checked like a plan."""
    customer_time = keeps_customer_time(plan.data)
    if customer_time and customer.time_zone is None:
        return None, [doc.source.error("$.plan.id", "missing_time_zone",
                                       f"plan {plan.file.id} {plan.file.version} keeps hours in each customer's "
                                       "time zone; give this customer's, e.g. `time_zone: America/Los_Angeles`")]
    if not customer.overrides:
        return (with_clocks(Terms.from_data(plan.data, customer.time_zone), plan.data) if customer_time
                else plan.terms), []
    merged, found = merge_overrides(doc.source, plan.data, customer.overrides)
    warnings = [e for e in found if e.severity == "warning"]
    errors = [e for e in found if e.severity != "warning"]
    if not errors:
        errors = [PolicyError(e.file, e.line, e.column, e.code,
                              f"with plan {plan.file.id} {plan.file.version}: {e.message}", e.json_path)
                  for e in schema_errors(doc.source, "plan", merged, "$.overrides", changed=customer.overrides)]
    if not errors:
        errors = check_terms(doc.source, merged, "$.overrides")
    if errors:
        return None, errors + warnings
    return with_clocks(Terms.from_data(merged, customer.time_zone), merged), warnings
