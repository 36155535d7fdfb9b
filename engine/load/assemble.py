"""Assembling a policy set from its files, and checking what only the whole set can tell.

The stages run in order, each on what the ones before could vouch for:
every file against its schema; plans; the values the plans define; rule sets
(and their static analysis); customers and their terms; then, for each date a
rule set version takes effect, the rule sets in effect together. ``Known``
says what the files read so far can vouch for, so a check whose answer would
only echo an earlier error (a customer's plan "missing" because the plan
file is broken) is skipped. A set with any error is refused whole, with
every error.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import date
from types import MappingProxyType
from typing import Mapping

from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.analysis import analyse
from supportpolicy.engine.load.customers import build_customer, customer_terms, plan_reference_errors
from supportpolicy.engine.load.domains import Domains
from supportpolicy.engine.load.files import Document, no_memo
from supportpolicy.engine.load.integrations import integration_stage
from supportpolicy.engine.load.plans import build_plan
from supportpolicy.engine.load.rulesets import build_ruleset
from supportpolicy.engine.load.schemas import date_errors, schema_errors
from supportpolicy.engine.model import in_effect
from supportpolicy.engine.vocabulary import DECISION_FIELDS, FIRST_RESPONSE

MODELINE = b"# yaml-language-server: $schema="
# Measured limits of durable-rules 2.0.28 with a wide margin: about 2,000 rules in one ruleset corrupted its heap.
MAX_RULES = 1000


@dataclass(frozen=True)
class Known:
    """What the files checked so far can vouch for."""

    every_file_read: bool  # no file was unreadable or failed to parse
    every_plan_valid: bool = True  # every plan file passed its schema
    every_ruleset_valid: bool = True  # every rule set file passed its schema

    @property
    def plans(self) -> bool:
        """Every plan is known, so references to plans and the values they define can be checked."""
        return self.every_file_read and self.every_plan_valid

    @property
    def rulesets(self) -> bool:
        """Every rule set is known, so a decision field no rule set decides is really missing."""
        return self.every_file_read and self.every_ruleset_valid


@dataclass(frozen=True)
class RuleBundle:
    """The rule sets in effect from one date on; they are compiled together."""

    effective_from: date
    rulesets: tuple  # in decision-field order


@dataclass(frozen=True)
class CheckedSet:
    """Every version of every plan, customer and rule set, checked together; nothing compiled yet."""

    plans: Mapping  # plan id -> versions, by effective date
    customers: Mapping  # customer id -> versions, by effective date
    rulesets: Mapping  # rule set id -> versions, by effective date
    terms: Mapping  # (customer file, plan file) -> the customer's Terms under that plan version
    bundles: Mapping  # plan id -> its RuleBundles, by effective date
    files: tuple  # PolicyFile of every file of the set
    warnings: tuple  # PolicyError of severity warning
    # Ticketing system -> its mapping's versions, by effective date.
    integrations: Mapping = dataclass_field(default_factory=lambda: MappingProxyType({}))


def assemble(documents: list[Document], read_errors: list[PolicyError], roots,
             memo=no_memo) -> tuple[CheckedSet | None, list]:
    """The checked set, or None; and every error and warning, sorted.

    ``memo`` (see ``files.no_memo``) may give back what a file's own checks found the last time its
    content was checked: its schema check, and what a plan or customer file is, under each plan
    version. Whatever needs the whole set is checked every time.
    """
    documents = [d for d in documents if d.kind != "suite"]
    by_path = {d.path: d for d in documents}
    valid, errors = _schema_stage(documents, memo)
    known = Known(every_file_read=not read_errors,
                  every_plan_valid=len(valid["plan"]) == _count(documents, "plan"),
                  every_ruleset_valid=len(valid["ruleset"]) == _count(documents, "ruleset"))
    plans, problems = _plan_stage(valid["plan"], by_path, memo)
    errors += problems
    plans_data = {}
    for doc in valid["plan"]:
        plans_data.setdefault(doc.source.data["plan"], []).append(doc.source.data)
    rulesets, problems = _ruleset_stage(valid["ruleset"], plans_data if known.plans else None, by_path)
    errors += problems
    if any(e.code in ("unknown_reference", "unknown_decision_field") for e in problems):
        # Which plans a rule set decides for, or what, is not known: "no rule set decides X" would echo it.
        known = replace(known, every_ruleset_valid=False)
    plan_versions = {}
    for doc in valid["plan"]:
        plan_versions.setdefault(doc.source.data["plan"], []).append(doc.source.data["version"])
    customers, terms, problems = _customer_stage(valid["customer"], plans, plan_versions, known, by_path, memo)
    errors += problems
    # Customer ids from every schema-valid file, even one with other errors, so that error is not echoed.
    every_customer = known.every_file_read and len(valid["customer"]) == _count(documents, "customer")
    customer_ids = {doc.source.data["customer"] for doc in valid["customer"]} if every_customer else None
    integrations, problems = integration_stage(valid["integration"], plans_data if known.plans else None,
                                               customer_ids, by_path, _versions)
    errors += problems
    if not rulesets and not _count(documents, "ruleset"):
        errors.append(PolicyError(str(roots[-1]) if roots else "(none)", 1, 1, "no_rules",
                                  "no rule set was found; give the folder that holds the rules"))
    bundles, problems = _bundle_stage(rulesets, plans, by_path, known)
    errors = sorted(set(errors + problems + read_errors))
    if any(e.severity == "error" for e in errors):
        return None, errors
    files = tuple(x.file for group in (plans, customers, rulesets, integrations)
                  for versions in group.values() for x in versions)
    return CheckedSet(_frozen(plans), _frozen(customers), _frozen(rulesets), MappingProxyType(terms), bundles,
                      files, tuple(errors), _frozen(integrations)), errors


def _count(documents, kind: str) -> int:
    return sum(d.kind == kind for d in documents)


def _frozen(groups: dict) -> Mapping:
    return MappingProxyType({key: tuple(versions) for key, versions in groups.items()})


def _schema_stage(documents, memo) -> tuple[dict, list]:
    """Each file against its kind's schema (and the calendar); the files that passed, by kind."""
    valid, errors = {"plan": [], "customer": [], "ruleset": [], "integration": []}, []
    for doc in documents:
        problems, passed = memo(("schema", doc.path, doc.sha256), lambda: _file_problems(doc))
        errors += problems
        if passed:
            valid[doc.kind].append(doc)
    return valid, errors


def _file_problems(doc: Document) -> tuple[tuple, bool]:
    """The file's own problems (warnings included), and whether it passed its schema and the calendar."""
    warnings = ()
    if not doc.source.text.startswith(MODELINE):
        warnings = (doc.source.error("$", "missing_modeline",
                                     f"the file does not start with `{MODELINE.decode()}<path to "
                                     f"schemas/{doc.kind}.schema.json>`, which lets editors check it",
                                     severity="warning"),)
    problems = schema_errors(doc.source, doc.kind) or date_errors(doc.source)
    return warnings + tuple(problems), not problems


def _plan_stage(documents, by_path, memo) -> tuple[dict, list]:
    plans, errors = [], []
    for doc in documents:
        plan, problems = memo(("plan", doc.path, doc.sha256), lambda: build_plan(doc))
        errors += problems
        if plan:
            plans.append(plan)
    by_id, problems = _versions(plans, by_path)
    errors += problems
    for versions in by_id.values():
        zone = versions[0].data["schedule"]["time_zone"]
        errors += [by_path[plan.file.path].source.error(
            "$.schedule.time_zone", "time_zone_changed",
            f"plan {plan.file.id} keeps its hours in {zone} in {versions[0].file.path}; every version of a plan "
            "keeps one time zone (effective dates are read in it); make a new plan instead")
            for plan in versions[1:] if plan.data["schedule"]["time_zone"] != zone]
    return by_id, errors


def _ruleset_stage(documents, plans_data: dict | None, by_path) -> tuple[dict, list]:
    """Rule sets, each checked against the facts and values of the plans it decides for (``plans_data``:
    plan id -> its versions' documents; None when the plans could not all be read)."""
    rulesets, errors = [], []
    for doc in documents:
        domains, problems = _domains_for(doc, plans_data)
        ruleset, more = build_ruleset(doc, domains)
        errors += problems + more
        rulesets.append(ruleset)
        if domains is not None and not problems + more:  # analysing a broken rule set only echoes its errors
            errors += analyse(ruleset, doc.source, domains)
    by_id, problems = _versions(rulesets, by_path)
    return by_id, errors + problems


def _domains_for(doc, plans_data: dict | None) -> tuple[Domains | None, list]:
    if plans_data is None:
        return None, []
    named = doc.source.data.get("plans")
    unknown = [(i, plan) for i, plan in enumerate(named or ()) if plan not in plans_data]
    if unknown:
        return None, [doc.source.error(f"$.plans[{i}]", "unknown_reference", f"there is no plan {plan!r}; plans "
                                       f"are: {', '.join(plans_data)}") for i, plan in unknown]
    chosen = [data for plan_id, versions in plans_data.items() if named is None or plan_id in named
              for data in versions]
    return (Domains.of(chosen) if chosen else None), []


def _customer_stage(documents, plans: dict, plan_versions: dict, known: Known, by_path,
                    memo) -> tuple[dict, dict, list]:
    """Customers whose plan exists, and their terms under each plan version they may use.

    References are checked against every plan that passed its schema, even one
    with other errors, so one mistake in a plan is not echoed by every customer
    that uses it; while a file cannot be read or a plan fails its schema, they
    are not reported at all.
    """
    customers, terms, errors = [], {}, []
    for doc in documents:
        customer, problems = memo(("customer", doc.path, doc.sha256), lambda: build_customer(doc))
        errors += problems
        if customer is None:
            continue
        missing = plan_reference_errors(doc, customer, plan_versions)
        if missing:
            errors += missing if known.plans else []
            continue
        customers.append(customer)
        for plan in plans.get(customer.plan_id, ()):
            if customer.plan_version in (None, plan.file.version):
                merged, problems = memo(("terms", doc.path, doc.sha256, plan.file.path, plan.file.sha256),
                                        lambda: customer_terms(doc, customer, plan))
                errors += problems
                terms[(customer.file.path, plan.file.path)] = merged
    by_id, problems = _versions(customers, by_path)
    return by_id, terms, errors + problems


def _versions(items, by_path) -> tuple[dict, list]:
    """Versions by id, sorted by effective date; two versions may share neither a version nor a date."""
    groups, errors = {}, []
    for item in sorted(items, key=lambda i: (i.file.id, i.file.effective_from, i.file.path)):
        versions = groups.setdefault(item.file.id, [])
        source = by_path[item.file.path].source
        for other in versions:
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
    return groups, errors


def _bundle_stage(rulesets: dict, plans: dict, by_path, known: Known) -> tuple[Mapping, list]:
    """For each plan, and each date a rule set version deciding for it takes effect: the rule sets in effect,
    checked together."""
    bundles, errors = {}, []
    for plan_id, versions in sorted(plans.items()):
        mine = {rid: [r for r in vs if r.decides_for(plan_id)] for rid, vs in rulesets.items()}
        mine = {rid: vs for rid, vs in mine.items() if vs}
        fields = (*DECISION_FIELDS, *dict.fromkeys(t for plan in versions for t in plan.terms.targets
                                                   if t != FIRST_RESPONSE))
        bundles[plan_id] = []
        for day in sorted({r.file.effective_from for vs in mine.values() for r in vs}):
            members = [v for v in (in_effect(vs, day) for vs in mine.values()) if v is not None]
            members.sort(key=lambda r: (r.order, r.id))
            errors += _decider_errors(day, members, fields, by_path, known, plan_id if len(plans) > 1 else None)
            count = sum(len(r.rules) for r in members)
            if count > MAX_RULES:
                errors.append(by_path[members[0].file.path].source.error(
                    "$.rules", "too_many_rules",
                    f"the rule sets in effect from {day} hold {count} rules; the engine takes at most {MAX_RULES}"))
            bundles[plan_id].append(RuleBundle(day, tuple(members)))
    return MappingProxyType({plan_id: tuple(b) for plan_id, b in bundles.items()}), errors


def _decider_errors(day: date, members: list, fields: tuple, by_path, known: Known, plan_id: str | None) -> list:
    """Each decision field (and each of the plan's targets) is decided by exactly one of the rule sets in effect."""
    deciders, errors = {}, []
    for_plan = f" for plan {plan_id}" if plan_id else ""
    for ruleset in members:
        for field in ruleset.decides:
            if field in deciders:
                errors.append(by_path[ruleset.file.path].source.error(
                    "$.decides", "duplicate_decision",
                    f"{field} is also decided by {deciders[field].file.path} (from {day}{for_plan}); "
                    "each field is decided by one rule set"))
            deciders.setdefault(field, ruleset)
    missing = [f for f in fields if f not in deciders]
    # A rule set that fails its schema would otherwise be reported again as a missing decision.
    if missing and members and known.rulesets:
        errors.append(by_path[members[-1].file.path].source.error(
            "$.decides", "missing_decision",
            f"from {day}{for_plan} no rule set decides {', '.join(missing)}; every decision field needs one"))
    return errors
