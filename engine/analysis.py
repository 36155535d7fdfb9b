"""Static analysis of rule sets: rules that can never match, or never decide.

The facts take few values (booleans, days, the plans' channels and
categories), so each rule set is checked against every combination of the
facts its rules mention, less the combinations that cannot happen (support is
never open on a holiday; a designated contact may always use emergency
support; a category is an emergency exactly when some plan says so). Findings
are warnings: the rule set still works, but does not say what it seems to.
"""
from __future__ import annotations

import itertools

from engine.calendar import DAYS
from engine.facts import FACTS

# Past this many combinations, or this many rule-against-combination checks, a
# rule set is not analysed: validate must stay quick (a check costs one or two
# microseconds), and no real rule set comes near either.
MAX_CASES = 200_000
MAX_CHECKS = 1_000_000


def domains(plans_data) -> dict:
    """The values each fact can take under these plans."""
    channels, categories = {}, {}
    for plan in plans_data:
        channels.update(dict.fromkeys(plan["channels"]))
        categories.update(dict.fromkeys(plan["categories"]))
    values = {"channels": tuple(channels), "categories": tuple(categories), "days": DAYS}
    return {name: (True, False) if spec.kind == "boolean" else values[spec.choices]
            for name, spec in FACTS.items()}


def _possible(facts: dict, emergency_categories: dict) -> bool:
    if facts.get("in_business_hours") and facts.get("on_holiday"):
        return False
    if facts.get("designated_contact") and facts.get("may_use_emergency_support") is False:
        return False
    if "emergency" in facts and "category" in facts:
        return facts["emergency"] in emergency_categories.get(facts["category"], ())
    return True


def analyse(ruleset, source, plans_data) -> list:
    """Warnings for one rule set: ``never_matches`` and ``shadowed_rule``, at each rule's place."""
    mentioned = sorted({c.fact for rule in ruleset.rules for c in rule.conditions})
    values = domains(plans_data)
    size = 1
    for fact in mentioned:
        size *= len(values[fact])
    if not mentioned or size > MAX_CASES or size * len(ruleset.rules) > MAX_CHECKS:
        return []
    emergency = {}
    for plan in plans_data:
        for name, category in plan["categories"].items():
            emergency.setdefault(name, set()).add(category["emergency"])
    cases = [dict(zip(mentioned, combination)) for combination in itertools.product(*(values[f] for f in mentioned))]
    cases = [c for c in cases if _possible(c, emergency)]

    warnings, taken = [], [None] * len(cases)  # the index of the first rule matching each case
    for index, rule in enumerate(ruleset.rules):
        path = f"$.rules[{index}]"
        matched = [i for i, case in enumerate(cases) if rule.failing(case) is None]
        if not matched:
            warnings.append(source.error(path, "never_matches",
                                         f"rule {rule.id} can never match: no request meets all of its conditions "
                                         f"({'; '.join(map(str, rule.conditions))})", severity="warning"))
            continue
        if ruleset.hit_policy == "first" and all(taken[i] is not None for i in matched):
            takers = sorted({taken[i] for i in matched})
            earlier = [ruleset.rules[t].id for t in takers]
            warnings.append(source.error(path, "shadowed_rule",
                                         f"rule {rule.id} never decides: every request it matches is taken first by "
                                         f"{', '.join(earlier)}; move it up or remove it", severity="warning"))
        for i in matched:
            if taken[i] is None:
                taken[i] = index
    return warnings
