"""Rule sets compiled into one durable-rules ruleset.

Every rule of every rule set in effect becomes one durable-rules rule, named
``<ruleset>/<rule-id>`` and prioritised by (rule set order, file order), so a
single assertion of a request's facts fires every matching rule in the order
the hit policies need. Defaults are not compiled: they apply when none of
their set's rules fired.

The compiled ruleset is named by a hash of its content: versions coexist, and
the same content is never registered twice (durable-rules cannot).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from supportpolicy.engine.model import Condition, Rule

# Only facts carry this property; the session state durable-rules asserts
# by itself never matches a rule.
MARKER = "supportpolicy_request"


@dataclass(frozen=True)
class CompiledDefinition:
    name: str
    definition: dict
    rules: dict  # durable-rules rule name -> Rule


def _condition(condition: Condition) -> dict:
    fact, values = condition.fact, condition.values
    if condition.op == "eq":
        return {fact: values[0]}
    if condition.op == "not":
        return {"$neq": {fact: values[0]}}
    if condition.op == "in":
        return {"$or": [{fact: v} for v in values]} if len(values) > 1 else {fact: values[0]}
    return {"$and": [{"$neq": {fact: v}} for v in values]} if len(values) > 1 else {"$neq": {fact: values[0]}}


def _match(rule: Rule) -> dict:
    terms = [{"$ex": {MARKER: 1}}] + [_condition(c) for c in rule.conditions]
    return {"$and": terms}


def compile_rulesets(rulesets) -> CompiledDefinition:
    """One durable-rules definition for these rule sets, taken in the given order."""
    definition, rules = {}, {}
    priority = 0
    for ruleset in rulesets:
        for rule in ruleset.rules:
            definition[rule.name] = {"all": [{"m": _match(rule)}], "pri": priority}
            rules[rule.name] = rule
            priority += 1
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    return CompiledDefinition(f"supportpolicy-{digest[:32]}", definition, rules)
