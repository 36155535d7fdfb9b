"""A peer for the in-process figure: GoRules Zen (zen-engine) deciding one of our rule sets as a decision table.

``jdm_of(ruleset)`` writes a first-hit rule set as a JSON Decision Model
(input node -> decision table -> output node), generated from the loaded rules
so the two engines decide the same table: one input column per fact the rules
test, one output column per field they set (``route: {team: ...}`` becomes
``route.team``), each rule a row and the default the last, catch-all row.

``agreement`` runs both over a request mix and returns the requests on which
they differ, so a timing is never reported for a table Zen decides otherwise.
"""
from __future__ import annotations

import json

import zen

from supportpolicy.engine.terms import Escalation, Route


def _literal(value) -> str:
    """A value as a Zen (ZEN expression language) literal."""
    return json.dumps(value)


def _cell(condition) -> str:
    # Unary tests: a literal compares for equality, a comma list is membership, `$` is the column's value.
    values = ", ".join(_literal(v) for v in condition.values)
    if condition.op == "eq":
        return _literal(condition.values[0])
    if condition.op == "in":
        return values
    if condition.op == "not":
        return f"$ != {_literal(condition.values[0])}"
    return f"not($ in [{values}])"


def _outputs(rule) -> dict:
    """The rule's decision fields as dotted output fields and Zen literals."""
    cells = {}
    for field, value in rule.outcome:
        if isinstance(value, (Route, Escalation)):
            for key, member in value.as_json().items():
                cells[f"{field}.{key}"] = _literal(member)
        elif value is None or isinstance(value, (bool, int, str)):
            cells[field] = _literal(value)
        else:
            raise ValueError(f"{rule.name} sets {field} to a {type(value).__name__}, which this table does not "
                             "write; pick a rule set of plain values")
    return cells


def jdm_of(ruleset) -> dict:
    """The rule set (hit policy first) as a JSON Decision Model."""
    if ruleset.hit_policy != "first":
        raise ValueError(f"{ruleset.id} has hit policy {ruleset.hit_policy}; Zen's table here is first-hit")
    rows = list(ruleset.rules) + [ruleset.default]
    facts = list(dict.fromkeys(c.fact for rule in rows for c in rule.conditions))
    fields = list(dict.fromkeys(f for rule in rows for f in _outputs(rule)))
    table_rows = []
    for n, rule in enumerate(rows):
        tests = {c.fact: _cell(c) for c in rule.conditions}
        row = {"_id": f"row-{n}", "_description": rule.name}
        row.update({f"in-{i}": tests.get(fact, "") for i, fact in enumerate(facts)})
        outputs = _outputs(rule)
        row.update({f"out-{i}": outputs.get(field, "null") for i, field in enumerate(fields)})
        table_rows.append(row)
    table = {
        "hitPolicy": "first",
        "inputs": [{"id": f"in-{i}", "name": fact, "field": fact} for i, fact in enumerate(facts)],
        "outputs": [{"id": f"out-{i}", "name": field, "field": field} for i, field in enumerate(fields)],
        "rules": table_rows,
    }
    return {
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "facts", "position": {"x": 0, "y": 0}},
            {"id": "table", "type": "decisionTableNode", "name": ruleset.id, "position": {"x": 300, "y": 0},
             "content": table},
            {"id": "decision", "type": "outputNode", "name": "decision", "position": {"x": 600, "y": 0}},
        ],
        "edges": [
            {"id": "in", "sourceId": "request", "targetId": "table", "type": "edge"},
            {"id": "out", "sourceId": "table", "targetId": "decision", "type": "edge"},
        ],
    }


def zen_decision(ruleset):
    """A compiled Zen decision for the rule set: call ``.evaluate(facts)``."""
    return zen.ZenEngine().create_decision(json.dumps(jdm_of(ruleset)))


def ruleset_named(policy_set, ruleset_id: str):
    """The newest version of a rule set of the policy set, by id."""
    found = [r for bundles in policy_set.bundles.values() for b in bundles for r in b.rulesets if r.id == ruleset_id]
    if not found:
        raise SystemExit(f"the policy set has no rule set {ruleset_id!r}")
    return max(found, key=lambda r: r.file.effective_from)


def expected(decision_json: dict, fields) -> dict:
    """What the table decided, read off our decision document, as Zen writes its result (nested objects)."""
    result = {}
    for field in fields:
        head, _, rest = field.partition(".")
        value = decision_json[head]
        if rest:
            result.setdefault(head, {})[rest] = value[rest]
        else:
            result[head] = value
    return result


def agreement(policy_set, decision, ruleset, mix) -> list:
    """The requests of the mix on which Zen's table and our decision differ (empty: they agree)."""
    fields = [o["field"] for o in jdm_of(ruleset)["nodes"][1]["content"]["outputs"]]
    differ = []
    for body in mix:
        evaluation = policy_set.evaluate(body)
        ours = expected(evaluation.decision.as_json(), fields)
        theirs = decision.evaluate(evaluation.decision.facts.for_rules())["result"]
        if theirs != ours:
            differ.append((body, ours, theirs))
    return differ
