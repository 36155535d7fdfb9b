"""Static analysis of rule sets: rules that never match, and rules that never decide.

Every fact has a finite domain (booleans, days, the plans' channels and
categories), so each rule set is checked against every combination of the
facts its rules mention, less the combinations that cannot happen (support is
never open on a holiday; a designated contact may always use emergency
support; a category is an emergency exactly when some plan says so). Findings
are warnings: the rule set still works, but does not say what it seems to.
"""
from __future__ import annotations

import itertools

from supportpolicy.engine.load.domains import OTHER, Domains
from supportpolicy.engine.load.yamlsource import Source
from supportpolicy.engine.model import RuleSet
from supportpolicy.engine.vocabulary import WEEKEND

# Past this many combinations, or this many rule-against-combination checks, a
# rule set is not analysed: validate must stay quick (a check costs one or two
# microseconds), and no real rule set comes near either.
MAX_CASES = 200_000
MAX_CHECKS = 1_000_000


def analyse(ruleset: RuleSet, source: Source, domains: Domains) -> list:
    """Warnings for one rule set: ``never_matches`` and ``shadowed_rule``, at each rule's place."""
    cases = possible_cases(ruleset, domains)
    if cases is None:
        return []
    warnings, taken = [], [None] * len(cases)  # the index of the first rule matching each case
    for index, rule in enumerate(ruleset.rules):
        matched = [i for i, case in enumerate(cases) if rule.failing(case) is None]
        warning = _never_matches(rule, matched) or _shadowed(ruleset, rule, matched, taken)
        if warning:
            warnings.append(source.error(f"$.rules[{index}]", *warning, severity="warning"))
        for i in matched:
            if taken[i] is None:
                taken[i] = index
    return warnings


def possible_cases(ruleset: RuleSet, domains: Domains) -> list[dict] | None:
    """Every combination of the facts the rules mention that can happen; None when the rules mention no fact,
    or there are too many combinations to check."""
    mentioned = sorted({c.fact for rule in ruleset.rules for c in rule.conditions})
    values = {fact: _values(ruleset, domains, fact) for fact in mentioned}
    size = 1
    for fact in mentioned:
        size *= len(values[fact])
    if not mentioned or size > MAX_CASES or size * len(ruleset.rules) > MAX_CHECKS:
        return None
    combinations = itertools.product(*(values[fact] for fact in mentioned))
    cases = (dict(zip(mentioned, combination)) for combination in combinations)
    return [case for case in cases if _possible(case, domains)]


def _values(ruleset: RuleSet, domains: Domains, fact: str) -> tuple:
    """The fact's values; for one whose values cannot be listed (text), those the rules name and one other."""
    listed = domains.values(fact)
    if listed is not None:
        return listed
    named = [v for rule in ruleset.rules for c in rule.conditions if c.fact == fact for v in c.values]
    return (*dict.fromkeys(named), OTHER)


def _possible(facts: dict, domains: Domains) -> bool:
    if facts.get("in_business_hours") and facts.get("on_holiday"):
        return False
    if "period" in facts and not _period_possible(facts):
        return False
    if facts.get("designated_contact") and facts.get("may_use_emergency_support") is False:
        return False
    if "emergency" in facts and "category" in facts:
        return facts["emergency"] in domains.emergency.get(facts["category"], ())
    return True


def _never_matches(rule, matched: list) -> tuple | None:
    if matched:
        return None
    return ("never_matches", f"rule {rule.id} can never match: no request meets all of its conditions "
                             f"({'; '.join(map(str, rule.conditions))})")


def _shadowed(ruleset: RuleSet, rule, matched: list, taken: list) -> tuple | None:
    if ruleset.hit_policy != "first" or any(taken[i] is None for i in matched):
        return None
    earlier = [ruleset.rules[t].id for t in sorted({taken[i] for i in matched})]
    return ("shadowed_rule", f"rule {rule.id} never decides: every request it matches is taken first by "
                             f"{', '.join(earlier)}; move it up or remove it")


def _period_possible(facts: dict) -> bool:
    """The period agrees with the other facts of when the request came (see facts.derive)."""
    period, open_, holiday, day = (facts["period"], facts.get("in_business_hours"), facts.get("on_holiday"),
                                   facts.get("day_of_week"))
    if open_ is not None and open_ != (period == "business_hours"):
        return False
    if holiday is not None and period != "business_hours" and holiday != (period == "holiday"):
        return False
    return day is None or period not in ("weekend", "weeknight") or (day in WEEKEND) == (period == "weekend")
