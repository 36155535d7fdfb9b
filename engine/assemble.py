"""Assembling a policy set from its files, and checking what only the whole set can tell.

Every file is checked on its own first (``validate``); then references between
files, versions that collide, and the decision fields each rule set decides.
A set with any error is refused whole, with every error.
"""
from __future__ import annotations

from pathlib import Path

from engine.analysis import analyse
from engine.calendar import DAYS
from engine.compiler import MAX_RULES, compile_rulesets
from engine.errors import PolicyError, PolicySetInvalid
from engine.evaluate import CompiledRules
from engine.load import Document, label_from_root_name, read_documents
from engine.model import DECISION_FIELDS
from engine.policyset import PolicySet, RuleBundle, in_effect
from engine.resources import shipped
from engine.suites import load_suites, suite_problems
from engine.validate import (build_customer, build_plan, build_ruleset, check_dates, customer_terms,
                             schema_errors)

MODELINE = b"# yaml-language-server: $schema="


def _group(items, errors: list, documents: dict) -> dict:
    """Versions by id, sorted by effective date; two versions may share neither a version nor a date."""
    groups = {}
    for item in sorted(items, key=lambda i: (i.file.id, i.file.effective_from, i.file.path)):
        versions = groups.setdefault(item.file.id, [])
        for other in versions:
            source = documents[item.file.path].source
            if other.file.version == item.file.version:
                errors.append(source.error("$.version", "duplicate_version",
                                           f"{item.file.kind} {item.file.id} version {item.file.version} "
                                           f"is also defined in {other.file.path}; give each version its own number"))
            elif other.file.effective_from == item.file.effective_from:
                errors.append(source.error("$.effective_from", "effective_date_collision",
                                           f"{other.file.path} ({item.file.kind} {item.file.id} "
                                           f"{other.file.version}) takes effect on the same day; "
                                           "change one of the dates"))
        versions.append(item)
    return groups


def default_roots() -> tuple[Path, Path]:
    """The shipped default policy and rules."""
    return shipped("policies"), shipped("rules")


def check_policy_set(roots, label=label_from_root_name, suites: bool = False) -> tuple[PolicySet | None, list]:
    """Load and check every file under ``roots``; the set when it is valid, and every error and warning.

    Policy test suites (in ``tests`` folders, or files starting ``suite:``) are
    skipped, or with ``suites`` checked too: their errors are reported, but a
    broken test never makes the policy set invalid.
    """
    documents, errors = read_documents(roots, label, tests=False)
    policy_set, errors = _build(documents, errors, roots)
    if suites:
        errors.extend(e for doc in documents if doc.kind == "suite" for e in suite_problems(doc))
        errors.extend(e for result in load_suites(roots, label, tests=True)[1] for e in result.errors)
    return policy_set, sorted(set(errors))


def _build(documents, errors, roots) -> tuple[PolicySet | None, list]:
    unreadable = bool(errors)
    documents = [d for d in documents if d.kind != "suite"]
    by_path = {d.path: d for d in documents}
    valid: list[Document] = []
    for doc in documents:
        if not doc.source.text.startswith(MODELINE):
            errors.append(doc.source.error("$", "missing_modeline",
                                           f"the file does not start with `{MODELINE.decode()}<path to "
                                           f"schemas/{doc.kind}.schema.json>`, which lets editors check it",
                                           severity="warning"))
        problems = schema_errors(doc.source, doc.kind) or check_dates(doc)
        errors.extend(problems)
        if not problems:
            valid.append(doc)

    plans = []
    for doc in (d for d in valid if d.kind == "plan"):
        plan, problems = build_plan(doc)
        errors.extend(problems)
        if plan:
            plans.append(plan)
    plans_by_id = _group(plans, errors, by_path)
    for versions in plans_by_id.values():
        zone = versions[0].terms.schedule.zone.key
        for plan in versions[1:]:
            if plan.terms.schedule.zone.key != zone:
                errors.append(by_path[plan.file.path].source.error(
                    "$.schedule.time_zone", "time_zone_changed",
                    f"plan {plan.file.id} keeps its hours in {zone} in {versions[0].file.path}; every version "
                    "of a plan keeps one time zone (effective dates are read in it); make a new plan instead"))

    # References are checked against every plan that passed its schema, even one with
    # other errors, so one mistake in a plan is not echoed by every file that uses it;
    # while a file cannot be read or a plan fails its schema they are not checked at all.
    plan_data = [d.source.data for d in valid if d.kind == "plan"]
    references_known = not unreadable and len(plan_data) == sum(d.kind == "plan" for d in documents)
    plan_versions = {}
    for data in plan_data:
        plan_versions.setdefault(data["plan"], []).append(data["version"])
    choices = {"channels": _union(d["channels"] for d in plan_data),
               "categories": _union(d["categories"] for d in plan_data), "days": DAYS} if references_known else None
    rulesets = []
    for doc in (d for d in valid if d.kind == "ruleset"):
        ruleset, problems = build_ruleset(doc, choices)
        errors.extend(problems)
        rulesets.append(ruleset)
        if references_known and not problems:  # analysing a broken rule set only echoes its errors
            errors.extend(analyse(ruleset, doc.source, plan_data))
    rulesets_by_id = _group(rulesets, errors, by_path)

    customers, terms = [], {}
    for doc in (d for d in valid if d.kind == "customer"):
        customer, problems = build_customer(doc)
        errors.extend(problems)
        if customer and _check_plan_reference(doc, customer, plan_versions, errors if references_known else []):
            customers.append(customer)
            for plan in plans_by_id.get(customer.plan_id, ()):
                if customer.plan_version in (None, plan.file.version):
                    merged, problems = customer_terms(doc, customer, plan)
                    errors.extend(problems)
                    terms[(customer.file.path, plan.file.path)] = merged
    customers_by_id = _group(customers, errors, by_path)

    if not rulesets_by_id and not any(d.kind == "ruleset" for d in documents):
        errors.append(PolicyError(str(roots[-1]) if roots else "(none)", 1, 1, "no_rules",
                                  "no rule set was found; give the folder that holds the rules"))
    # A rule set that fails its schema would otherwise be reported again as a missing decision.
    all_rulesets_read = len(rulesets) == sum(d.kind == "ruleset" for d in documents) and not unreadable
    bundles_plan = _bundles(rulesets_by_id, by_path, errors, all_rulesets_read)
    if any(e.severity == "error" for e in errors):
        return None, sorted(set(errors))
    bundles = []
    for day, members in bundles_plan:
        try:
            compiled = CompiledRules(compile_rulesets(members))
        except Exception as exc:  # durable-rules refuses a definition: report it, never crash
            first = by_path[members[0].file.path].source
            return None, sorted(set(errors + [first.error("$.rules", "compile_error",
                                                          f"the rules engine refused the rule sets in effect "
                                                          f"from {day}: {exc}")]))
        bundles.append(RuleBundle(day, members, compiled))
    files = [x.file for group in (plans_by_id, customers_by_id, rulesets_by_id) for vs in group.values() for x in vs]
    return PolicySet(plans_by_id, customers_by_id, terms, bundles, files, errors), sorted(set(errors))


def load_policy_set(*roots, label=label_from_root_name) -> PolicySet:
    """The valid policy set under ``roots`` (default: the shipped policy), or PolicySetInvalid with every error."""
    policy_set, errors = check_policy_set(roots or default_roots(), label)
    if policy_set is None:
        raise PolicySetInvalid(errors)
    return policy_set


def _union(mappings) -> tuple:
    seen = {}
    for mapping in mappings:
        seen.update(dict.fromkeys(mapping))
    return tuple(seen)


def _check_plan_reference(doc, customer, plan_versions: dict, errors) -> bool:
    versions = plan_versions.get(customer.plan_id)
    if versions is None:
        errors.append(doc.source.error("$.plan.id", "unknown_reference",
                                       f"there is no plan {customer.plan_id!r}"
                                       + (f"; plans are: {', '.join(plan_versions)}" if plan_versions else "")))
        return False
    if customer.plan_version is not None and customer.plan_version not in versions:
        errors.append(doc.source.error("$.plan.version", "unknown_reference",
                                       f"plan {customer.plan_id} has no version {customer.plan_version!r}; it has "
                                       f"{', '.join(sorted(versions))} (or use current)"))
        return False
    return True


def _bundles(rulesets_by_id: dict, by_path: dict, errors: list, complete: bool) -> list[tuple]:
    """For each date a rule set version takes effect: the rule sets in effect, checked together."""
    days = sorted({r.file.effective_from for versions in rulesets_by_id.values() for r in versions})
    result = []
    for day in days:
        members = [v for v in (in_effect(vs, day) for vs in rulesets_by_id.values()) if v is not None]
        members.sort(key=lambda r: (r.order, r.id))
        deciders = {}
        for ruleset in members:
            for field in ruleset.decides:
                if field in deciders:
                    errors.append(by_path[ruleset.file.path].source.error(
                        "$.decides", "duplicate_decision",
                        f"{field} is also decided by {deciders[field].file.path} (from {day}); "
                        "each field is decided by one rule set"))
                deciders.setdefault(field, ruleset)
        missing = [f for f in DECISION_FIELDS if f not in deciders]
        if missing and members and complete:
            errors.append(by_path[members[-1].file.path].source.error(
                "$.decides", "missing_decision",
                f"from {day} no rule set decides {', '.join(missing)}; every decision field needs one"))
        count = sum(len(r.rules) for r in members)
        if count > MAX_RULES:
            errors.append(by_path[members[0].file.path].source.error(
                "$.rules", "too_many_rules",
                f"the rule sets in effect from {day} hold {count} rules; the engine takes at most {MAX_RULES}"))
        result.append((day, tuple(members)))
    return result
