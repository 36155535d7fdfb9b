"""A ticket evaluated: its decision request decided, its events run through each target's clock, read at one instant.

Every instant is decided by the versions in effect when the ticket was
received: the decision made then gives each target and the rule that set it;
an attribute change is decided again with the same received_at, so with the
same versions; the plan's clock terms are those of the plan version in effect then.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from supportpolicy.engine.calendar import SUPPORT_SCHEDULE, NoOpening, utc
from supportpolicy.engine.clock.ladder import EscalationState, TicketTimes, climb
from supportpolicy.engine.clock.measure import Measure
from supportpolicy.engine.clock.runs import Basis, TargetRun
from supportpolicy.engine.clock.states import read
from supportpolicy.engine.clock.ticket import (
    ACKNOWLEDGED,
    AGENT_REPLY,
    ATTRIBUTES,
    STATUS,
    event_errors,
    naming_request,
    parse_ticket,
)
from supportpolicy.engine.decide.policyset import Evaluation, PolicySet
from supportpolicy.engine.errors import EngineError, FieldError, InvalidRequest, OutsideHolidayCalendar
from supportpolicy.engine.model import Plan


@dataclass(frozen=True)
class TicketEvaluation:
    """A ticket's clocks at one instant, and what decided them."""

    evaluation: Evaluation  # the decision in force at ``at`` (the intake's, or the last attribute change's)
    at: datetime
    status: str
    targets: tuple  # states.TargetState, in the plan's order of targets
    escalation: EscalationState | None

    def as_json(self) -> dict:
        decision, contract = self.evaluation.decision, self.evaluation.contract
        schedule = contract.terms.schedule
        local = lambda instant: None if instant is None else schedule.local(instant).isoformat()  # noqa: E731
        # Where the clock terms are written: the customer's overrides of them, when it has any, else the plan.
        written = contract.customer if "clocks" in contract.customer.overrides else contract.plan
        line, _ = written.positions.get("$.overrides.clocks" if written is contract.customer else "$.clocks", (1, 1))
        return {
            "ticket_id": decision.ticket_id,
            "customer": decision.customer,
            "policy": decision.policy.as_json(),
            "received_at": local(decision.facts.received_at),
            "at": local(self.at),
            "time_zone": decision.time_zone,
            "status": self.status,
            "attributes": dict(decision.facts.attributes),
            "targets": {t.name: t.as_json(schedule) for t in self.targets},
            "escalation": None if self.escalation is None else self.escalation.as_json(local),
            "clocks": {"file": written.file.path, "line": line},
            "trace": [rule.as_trace() for rule in decision.trace],
        }


def evaluate_ticket(policy_set: PolicySet, body, now: datetime,
                    designated_contact: bool | None = None) -> TicketEvaluation:
    """The ticket ``body`` (decoded JSON) read at its ``at``, or ``now``; EngineError naming what is wrong.

    ``designated_contact``: the requester's status as a log recorded it, for a stored ticket whose e-mail the
    log masked (as PolicySet.decide takes it)."""
    ticket = parse_ticket(body)
    try:
        evaluation = policy_set.evaluate(ticket.request, designated_contact=designated_contact)
    except EngineError as error:
        raise naming_request(error) from None
    contract = evaluation.contract
    clocks = contract.terms.clocks
    if clocks is None:
        raise InvalidRequest(f"plan {_version(contract.plan)} has no clock terms", [FieldError(
            "/request/customer", f"has plan {_version(contract.plan)}, which has no clock terms (clocks)")])
    received_at, at = utc(evaluation.decision.facts.received_at), ticket.at or utc(now)
    if at < received_at:
        raise InvalidRequest("at is before the ticket was received", [FieldError("/at", "is before received_at")])
    errors = event_errors(ticket, clocks, received_at, at, _version(contract.plan))
    if errors:
        raise InvalidRequest(f"the ticket's events are not a stream the plan's clocks can run on: "
                             f"{', '.join(sorted({e.pointer for e in errors}))}", errors)
    try:
        return _run(policy_set, ticket, evaluation, received_at, at, designated_contact)
    except OutsideHolidayCalendar as error:
        raise error.naming("/at", deadline=True) from None
    except NoOpening as error:
        raise EngineError(f"cannot count the ticket's clocks: {error}") from None


def _version(plan: Plan) -> str:
    return f"{plan.file.id} {plan.file.version}"


def _run(policy_set: PolicySet, ticket, evaluation: Evaluation, received_at: datetime, at: datetime,
         designated_contact: bool | None):
    clocks = evaluation.contract.terms.clocks
    status, attributes, acknowledgements, solved = clocks.initial_status, {}, [], []
    bases = _bases(evaluation)
    runs = [TargetRun(clocks.targets[name], bases[name], received_at, status) for name in bases]
    for event in ticket.events:
        for run in runs:
            run.run_to(event.at)
        if event.type == STATUS:
            if event.status == clocks.solved_status and status != clocks.solved_status:
                solved.append([event.at, None])
            elif status == clocks.solved_status and event.status != status:
                solved[-1][1] = event.at
            status = event.status
            for run in runs:
                run.on_status(event.at, status, clocks.solved_status)
        elif event.type == AGENT_REPLY:
            for run in runs:
                run.on_agent_reply(event.at, event.public)
        elif event.type == ACKNOWLEDGED:
            acknowledgements.append(event.at)
        elif event.type == ATTRIBUTES:
            attributes.update(event.attributes)
            evaluation = _decided_again(policy_set, ticket, attributes, event, designated_contact)
            bases = _bases(evaluation)
            for run in runs:
                run.on_attributes(event.at, bases[run.clock.target])
    for run in runs:
        run.run_to(at)
    decided = evaluation.decision.outcome.escalation
    targets = tuple(read(run, at, decided) for run in runs)
    ladder = None
    if clocks.ladder is not None:
        times = TicketTimes(received_at, at, tuple(acknowledgements), tuple(map(tuple, solved)),
                            {t.name: t for t in targets}, evaluation.contract.terms.schedules, decided)
        ladder = climb(clocks.ladder, times)
    return TicketEvaluation(evaluation, at, status, targets, ladder)


def _bases(evaluation: Evaluation) -> dict:
    """How the decision counts each of the plan's targets."""
    terms, bases = evaluation.contract.terms, {}
    for due in evaluation.decision.outcome.targets:
        target = due.target
        schedule = terms.schedules[(target.counts_in if target else None) or SUPPORT_SCHEDULE]
        measure = None if target is None else Measure(schedule, target.counts_in is None)
        bases[due.name] = Basis(due, measure, schedule)
    return bases


def _decided_again(policy_set: PolicySet, ticket, attributes: dict, event,
                   designated_contact: bool | None) -> Evaluation:
    request = dict(ticket.request, attributes={**ticket.request.get("attributes", {}), **attributes})
    try:
        return policy_set.evaluate(request, designated_contact=designated_contact)
    except EngineError as error:
        error.errors = tuple(FieldError(event.pointer + e.pointer, e.message, e.kind, e.key) for e in error.errors)
        raise
