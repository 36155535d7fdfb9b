"""A policy set ready to decide: every version of every plan, customer and rule set.

A request is decided with the versions in effect when it was received: the
customer's contract, its plan, and the rule sets (compiled together for each
date a version takes effect). ``build`` makes one from a checked set.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from supportpolicy.engine.calendar import NoOpening
from supportpolicy.engine.decide.decision import Choice, Decision, choose, new_decision_id, outcome_of
from supportpolicy.engine.decide.durable import CompiledRules
from supportpolicy.engine.decide.facts import Facts, derive
from supportpolicy.engine.decide.request import parse_request
from supportpolicy.engine.errors import EngineError, NoPolicyInEffect, UnknownCustomer
from supportpolicy.engine.load.assemble import CheckedSet, RuleBundle
from supportpolicy.engine.model import Contract, PolicyReference, in_effect


@dataclass(frozen=True)
class CompiledBundle:
    """The rule sets in effect from one date on, compiled together."""

    effective_from: date
    rulesets: tuple
    compiled: CompiledRules
    _choices: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, bundle: RuleBundle, compiled: CompiledRules) -> "CompiledBundle":
        return cls(bundle.effective_from, bundle.rulesets, compiled)

    def choice(self, fired) -> Choice:
        """The hit policies applied to the rules that fired: one answer per distinct set of them, kept."""
        key = tuple(fired)
        found = self._choices.get(key)
        if found is None:
            if len(self._choices) >= CompiledRules.MEMO_SIZE:
                self._choices.clear()
            found = self._choices[key] = choose(self.rulesets, key, self.compiled.rules)
        return found


@dataclass(frozen=True)
class Evaluation:
    """A decision with what led to it: the contract in effect, the rules that fired."""

    contract: Contract
    bundle: CompiledBundle
    fired: tuple  # names of every rule whose conditions held, in priority order
    decision: Decision


def digest(files) -> str:
    """A content hash of these files (as sha256sum would list them, sorted by path)."""
    listing = "".join(f"{f.sha256}  {f.path}\n" for f in sorted(files, key=lambda f: f.path))
    return "sha256:" + hashlib.sha256(listing.encode()).hexdigest()


class PolicySet:
    """A valid policy set, ready to decide."""

    def __init__(self, checked: CheckedSet, bundles: dict):
        self.plans = checked.plans
        self.customers = checked.customers
        self.bundles = bundles
        self.files = checked.files
        self.warnings = checked.warnings
        self.integrations = checked.integrations  # ticketing system -> its mapping's versions
        self._terms = checked.terms
        self._references = {}
        self.digest = digest(checked.files)
        self.loaded_at = datetime.now(timezone.utc)

    def decide(self, body, decision_id: str | None = None, designated_contact: bool | None = None) -> Decision:
        """Decide one request (a decoded JSON body) with the versions in effect at its received_at.

        ``designated_contact`` is for replaying a logged request whose e-mail the log masked: the status it
        recorded, in place of the e-mail's (never anything a caller of the API can give)."""
        return self.evaluate(body, decision_id, designated_contact).decision

    def evaluate(self, body, decision_id: str | None = None, designated_contact: bool | None = None) -> Evaluation:
        """Decide one request, keeping every step's result (for explanations and policy tests)."""
        request = parse_request(body)
        try:
            contract = self.contract(request.customer, request.received_at)
        except UnknownCustomer as error:
            raise error.naming("/customer") from None
        except NoPolicyInEffect as error:
            raise error.naming("/received_at") from None
        facts = derive(request, contract.customer, contract.terms, designated_contact)
        bundle = self._bundle(facts, contract.plan.file.id)
        fired = bundle.compiled.fired(facts.for_rules())
        choice = bundle.choice(fired)
        try:
            outcome = outcome_of(choice, facts, contract.terms)
        except NoOpening as exc:
            raise EngineError(f"cannot compute the response deadline: {exc}") from None
        decision = Decision(
            decision_id=decision_id or new_decision_id(),
            ticket_id=request.ticket_id,
            customer=request.customer,
            policy=self._reference(contract, bundle),
            facts=facts,
            time_zone=contract.terms.schedule.zone.key,
            outcome=outcome,
            trace=choice.trace,
        )
        return Evaluation(contract, bundle, tuple(fired), decision)

    def _bundle(self, facts: Facts, plan_id: str) -> CompiledBundle:
        bundles = self.bundles[plan_id]
        bundle = in_effect(bundles, facts.local_time.date(), key=lambda b: b.effective_from)
        if bundle is None:
            raise NoPolicyInEffect("the rules", bundles[0].effective_from).naming("/received_at")
        return bundle

    def rules(self) -> list:
        """Every rule and default of every rule set version, in rule-set and file order."""
        seen, result = set(), []
        for bundle in sorted((b for bs in self.bundles.values() for b in bs), key=lambda b: b.effective_from):
            for ruleset in bundle.rulesets:
                if ruleset.file.path not in seen:
                    seen.add(ruleset.file.path)
                    result.extend(ruleset.rules + (ruleset.default,))
        return result

    def contract(self, customer_id: str, at: datetime) -> Contract:
        """The customer's contract version, its plan version and its terms, as in effect at ``at``.

        Raises UnknownCustomer, or NoPolicyInEffect when nothing of the contract was in effect yet.
        """
        versions = self.customers.get(customer_id)
        if not versions:
            raise UnknownCustomer(customer_id)
        # Each version's effective date is read in the zone of its support hours.
        customer = next((c for c in reversed(versions) if self._local_day(c, at) >= c.file.effective_from), None)
        if customer is None:
            raise NoPolicyInEffect(f"{customer_id}'s contract", versions[0].file.effective_from)
        plan_versions = self.plans[customer.plan_id]
        if customer.plan_version is not None:
            plan = next(p for p in plan_versions if p.file.version == customer.plan_version)
        else:
            plan = in_effect(plan_versions, self._local_day(customer, at))
            if plan is None:
                raise NoPolicyInEffect(f"plan {customer.plan_id}", plan_versions[0].file.effective_from)
        return Contract(customer, plan, self._terms[(customer.file.path, plan.file.path)])

    def integration(self, system: str, at: datetime):
        """The version of the ticketing system's mapping in effect at ``at`` (its dates read in UTC), or None."""
        return in_effect(self.integrations.get(system, ()), at.astimezone(timezone.utc).date())

    def time_zone(self, customer_id: str):
        """The zone of the customer's support hours (every version of a plan keeps one)."""
        return self._zone(self.customers[customer_id][-1])

    def _local_day(self, customer, instant: datetime) -> date:
        return instant.astimezone(self._zone(customer)).date()

    def _zone(self, customer):
        # All versions of a plan keep one time zone (checked at load), so any version's schedule tells it;
        # a plan that keeps the customer's time gives the customer's.
        plan = self.plans[customer.plan_id][0]
        if plan.data["schedule"]["time_zone"] == "customer" and customer.time_zone is not None:
            return customer.time_zone
        return plan.terms.schedule.zone

    def _reference(self, contract: Contract, bundle: CompiledBundle) -> PolicyReference:
        key = (contract.customer.file.path, contract.plan.file.path, bundle.effective_from)
        reference = self._references.get(key)
        if reference is None:
            files = (contract.customer.file, contract.plan.file) + tuple(r.file for r in bundle.rulesets)
            reference = self._references[key] = PolicyReference(contract.plan.file.id, contract.plan.file.version,
                                                                 digest(files), files)
        return reference

    def describe(self) -> list[dict]:
        """Every file of the set: kind, id, version, effective date and content hash."""
        return [dict(f.as_json(), digest=f"sha256:{f.sha256}")
                for f in sorted(self.files, key=lambda f: (f.kind, f.id, f.effective_from))]
