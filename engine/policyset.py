"""A policy set ready to decide: every version of every plan, customer and rule set.

A request is decided with the versions in effect when it was received:
the customer's contract, its plan, and the rule sets (compiled together for
each date a version takes effect). ``assemble`` builds and checks a set.
"""
from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timezone

from engine.calendar import NoOpening
from engine.decision import Decision, choose, new_decision_id, outcome_of
from engine.errors import EngineError, FieldError, NoPolicyInEffect, UnknownCustomer
from engine.evaluate import CompiledRules
from engine.facts import derive
from engine.request import parse_request


@dataclass(frozen=True)
class RuleBundle:
    """The rule sets in effect from one date on, compiled together."""

    effective_from: date
    rulesets: tuple
    compiled: CompiledRules


@dataclass(frozen=True)
class Evaluation:
    """A decision with what led to it: the versions in effect, the terms, the rules that fired."""

    customer: object
    plan: object
    terms: object
    bundle: RuleBundle
    fired: tuple  # names of every rule whose conditions held, in priority order
    decision: Decision


def in_effect(versions: list, day: date, key=lambda version: version.file.effective_from):
    """The latest of ``versions`` (sorted by effective date) in effect on ``day``, or None."""
    index = bisect_right(versions, day, key=key)
    return versions[index - 1] if index else None


def digest(files) -> str:
    """A content hash of these files (as sha256sum would list them, sorted by path)."""
    listing = "".join(f"{f.sha256}  {f.path}\n" for f in sorted(files, key=lambda f: f.path))
    return "sha256:" + hashlib.sha256(listing.encode()).hexdigest()


class PolicySet:
    """A valid policy set, ready to decide."""

    def __init__(self, plans, customers, terms, bundles, files, warnings=()):
        self.plans = plans
        self.customers = customers
        self.bundles = bundles
        self.files = files
        self.warnings = tuple(warnings)
        self._terms = terms
        self._references = {}
        self.digest = digest(files)
        self.loaded_at = datetime.now(timezone.utc)

    def decide(self, body, decision_id: str | None = None) -> Decision:
        """Decide one request (a decoded JSON body) with the versions in effect at its received_at."""
        return self.evaluate(body, decision_id).decision

    def evaluate(self, body, decision_id: str | None = None) -> "Evaluation":
        """Decide one request, keeping every step's result (for explanations and policy tests)."""
        request = parse_request(body)
        customer, plan = self.contract(request)
        terms = self.terms_of(customer, plan)
        facts = derive(request, customer, terms)
        bundle = in_effect(self.bundles, facts.local_time.date(), key=lambda b: b.effective_from)
        if bundle is None:
            raise self._not_in_effect("the rules", self.bundles[0].effective_from)
        fired = bundle.compiled.fired(facts.for_rules())
        chosen = choose(bundle.rulesets, fired, bundle.compiled.rules)
        try:
            outcome = outcome_of(chosen, facts, terms)
        except NoOpening as exc:
            raise EngineError(f"cannot compute the response deadline: {exc}") from None
        decision = Decision(
            decision_id=decision_id or new_decision_id(),
            ticket_id=request.ticket_id,
            customer=request.customer,
            policy=self._reference(customer, plan, bundle),
            facts=facts,
            time_zone=terms.schedule.zone.key,
            outcome=outcome,
            trace=tuple(rule for _, rules in chosen for rule in rules),
        )
        return Evaluation(customer, plan, terms, bundle, tuple(fired), decision)

    def rules(self) -> list:
        """Every rule and default of every rule set version, in rule-set and file order."""
        seen, result = set(), []
        for bundle in self.bundles:
            for ruleset in bundle.rulesets:
                if ruleset.file.path not in seen:
                    seen.add(ruleset.file.path)
                    result.extend(ruleset.rules + (ruleset.default,))
        return result

    def contract(self, request) -> tuple:
        """The customer's contract version and its plan version in effect at ``request.received_at``."""
        versions = self.customers.get(request.customer)
        if not versions:
            raise UnknownCustomer(f"no customer contract has the id {request.customer!r}",
                                  [FieldError("/customer", "is not a customer of this policy set")])
        customer = next((c for c in reversed(versions)
                         if self._local_day(c.plan_id, request.received_at) >= c.file.effective_from), None)
        if customer is None:
            raise self._not_in_effect(f"{request.customer}'s contract", versions[0].file.effective_from)
        plan_versions = self.plans[customer.plan_id]
        if customer.plan_version is not None:
            return customer, next(p for p in plan_versions if p.file.version == customer.plan_version)
        plan = in_effect(plan_versions, self._local_day(customer.plan_id, request.received_at))
        if plan is None:
            raise self._not_in_effect(f"plan {customer.plan_id}", plan_versions[0].file.effective_from)
        return customer, plan

    def terms_of(self, customer, plan):
        """The customer's terms under this plan version: the plan with the customer's overrides applied."""
        return self._terms[(customer.file.path, plan.file.path)]

    def time_zone(self, customer_id: str):
        """The zone of the customer's support schedule (every version of a plan keeps one)."""
        return self._schedule(self.customers[customer_id][0].plan_id).zone

    def _local_day(self, plan_id: str, instant: datetime) -> date:
        return self._schedule(plan_id).local(instant).date()

    def _schedule(self, plan_id: str):
        # All versions of a plan keep one time zone (checked at load), so any version's schedule tells it.
        return self.plans[plan_id][0].terms.schedule

    @staticmethod
    def _not_in_effect(what: str, first: date) -> NoPolicyInEffect:
        return NoPolicyInEffect(f"{what} takes effect on {first.isoformat()}, after received_at",
                                [FieldError("/received_at", f"is before {what} takes effect ({first.isoformat()})")])

    def _reference(self, customer, plan, bundle) -> dict:
        key = (customer.file.path, plan.file.path, bundle.effective_from)
        reference = self._references.get(key)
        if reference is None:
            files = [customer.file, plan.file] + [r.file for r in bundle.rulesets]
            reference = self._references[key] = {
                "id": plan.file.id, "version": plan.file.version, "digest": digest(files),
                "files": [f.as_json() for f in files],
            }
        return reference

    def describe(self) -> list[dict]:
        """Every file of the set: kind, id, version, effective date and content hash."""
        return [dict(f.as_json(), digest=f"sha256:{f.sha256}")
                for f in sorted(self.files, key=lambda f: (f.kind, f.id, f.effective_from))]
