"""Why a request got its decision: the facts, and every rule considered.

For each rule set in order, each rule is checked against the facts and, when
it does not match, the first condition that failed is named. The decision
itself is the one durable-rules made (``PolicySet.evaluate``); this module
only explains it, with the same condition semantics (``Condition.holds``).

A deadline counted in business hours is counted in the hours in force when
the request was received, to its end, even past the day a new version of the
plan or contract takes effect: each such deadline is named
(``CountedAcrossVersions``), with the versions it counts past.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from supportpolicy.engine.decide.policyset import Evaluation
from supportpolicy.engine.errors import EngineError
from supportpolicy.engine.model import Condition, PolicyFile, Rule, RuleSet


@dataclass(frozen=True)
class RuleCheck:
    rule: Rule
    matched: bool
    failed: Condition | None  # the first condition that did not hold
    decided: bool


@dataclass(frozen=True)
class RulesetExplanation:
    ruleset: RuleSet
    checks: tuple  # RuleCheck for every rule, then the default

    @property
    def deciding(self) -> list:
        return [c.rule for c in self.checks if c.decided]


@dataclass(frozen=True)
class CountedAcrossVersions:
    """A deadline counted in the hours of the versions in force at received_at, past newer versions'
    effective dates: the versions in force at the deadline that were not when the request was received."""

    target: str
    due: datetime
    counted_in: PolicyFile  # the plan version whose hours counted
    newer: tuple  # PolicyFile: the plan or contract versions in force at ``due`` and not at received_at


@dataclass(frozen=True)
class Explanation:
    evaluation: Evaluation
    rulesets: tuple
    across_versions: tuple = ()  # CountedAcrossVersions

    @property
    def decision(self):
        return self.evaluation.decision


def explain(policy_set, body) -> Explanation:
    evaluation = policy_set.evaluate(body, decision_id="explain")
    facts = evaluation.decision.facts.for_rules()
    decided = {(r.file, r.name) for r in evaluation.decision.trace}
    rulesets = []
    for ruleset in evaluation.bundle.rulesets:
        checks = []
        for rule in ruleset.rules + (ruleset.default,):
            failed = rule.failing(facts)
            checks.append(RuleCheck(rule, failed is None, failed, (rule.file, rule.name) in decided))
        rulesets.append(RulesetExplanation(ruleset, tuple(checks)))
    return Explanation(evaluation, tuple(rulesets), tuple(_across_versions(policy_set, evaluation)))


def _across_versions(policy_set, evaluation: Evaluation):
    contract, decision = evaluation.contract, evaluation.decision
    received = (contract.customer.file, contract.plan.file)
    for target in decision.outcome.targets:
        if target.due is None or target.target is None or target.target.counts_in is None:
            continue  # immediately, or elapsed time: no hours are counted
        try:
            later = policy_set.contract(decision.customer, target.due)
        except EngineError:
            continue
        newer = tuple(f for f in (later.customer.file, later.plan.file) if f not in received)
        if newer:
            yield CountedAcrossVersions(target.name, target.due, contract.plan.file, newer)


def as_json(explanation: Explanation) -> dict:
    decision = explanation.decision
    facts = decision.facts
    return {
        "facts": {
            "received_at": facts.received_at.isoformat(),
            "local_time": facts.local_time.isoformat(),
            "time_zone": decision.time_zone,
            "holiday": facts.holiday,
            **facts.for_rules(),
        },
        "rulesets": [{
            "ruleset": r.ruleset.id,
            "file": r.ruleset.file.path,
            "version": r.ruleset.file.version,
            "hit_policy": r.ruleset.hit_policy,
            "rules": [{
                "rule": c.rule.name, "line": c.rule.line, "default": c.rule.is_default,
                "matched": c.matched, "decided": c.decided,
                "failed_condition": None if c.failed is None else {
                    "condition": str(c.failed), "fact": c.failed.fact,
                    "actual": facts.for_rules()[c.failed.fact]},
            } for c in r.checks],
        } for r in explanation.rulesets],
        "counted_across_versions": [{
            "target": a.target, "due": a.due.isoformat(), "counted_in": a.counted_in.as_json(),
            "newer_versions": [f.as_json() for f in a.newer],
        } for a in explanation.across_versions],
        "decision": decision.as_json(),
    }
