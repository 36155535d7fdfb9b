"""Each work entry split wherever the kind of time may change, and each span decided by the rules.

A span's kind of time is the same from its start to its end: the entries are
cut at every opening and closing of the plan's schedules, at each local
midnight (the kind of day, and the contract, plan and rule versions, change
only there) and at the instant notice was given. Each span is then decided as
a request received at its start would be, so with the versions in effect
when the work was done: whether it is billable, at what rate, and whether
notice comes first. The notice record then says whether a billable span is
charged.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

from supportpolicy.engine.calendar import SupportSchedule
from supportpolicy.engine.charge.work import ChargeRequest, Notice, WorkEntry
from supportpolicy.engine.decide.policyset import Evaluation, PolicySet
from supportpolicy.engine.errors import EngineError, FieldError
from supportpolicy.engine.terms import Money, Terms

# Why a span is or is not charged: charged; not billable (the rules say so: the rule is named); billable, but
# worked before notice was given, with no notice at all, or after the customer declined; or (a line's reason)
# drawn from the plan's prepaid block.
CHARGED, NOT_BILLABLE, BEFORE_NOTICE, NO_NOTICE, DECLINED, PREPAID = (
    "charged", "not_billable", "before_notice", "no_notice", "declined", "prepaid")
# The decision fields that price work: the rules that set them are the rules that priced it.
PRICING_FIELDS = ("billable", "hourly_rate", "notice_required")
_MICROSECONDS_PER_MINUTE = Decimal(60_000_000)


@dataclass(frozen=True)
class Span:
    """A piece of one entry, all of one kind of time, decided once."""

    entry: WorkEntry
    start: datetime  # UTC
    end: datetime
    evaluation: Evaluation  # the decision for a request received at ``start``
    reason: str  # CHARGED, or why not

    @property
    def charged(self) -> bool:
        return self.reason == CHARGED

    @property
    def minutes(self) -> Decimal:
        """Its length in minutes, exactly (to the microsecond)."""
        return Decimal((self.end - self.start) // timedelta(microseconds=1)) / _MICROSECONDS_PER_MINUTE

    @property
    def period(self) -> str:
        return self.evaluation.decision.facts.period

    @property
    def rate(self) -> Money | None:
        return self.evaluation.decision.outcome.hourly_rate if self.charged else None

    @property
    def terms(self) -> Terms:
        return self.evaluation.contract.terms

    @property
    def rules(self) -> tuple:
        """The rules that decided whether it is billable, its rate and its notice."""
        return tuple(rule for rule in self.evaluation.decision.trace
                     if any(name in PRICING_FIELDS for name, _ in rule.outcome))

    @property
    def named_terms(self) -> tuple:
        """The contract terms the deciding rules took values from (e.g. period_rate)."""
        choice = self.evaluation.bundle.choice(self.evaluation.fired)
        return tuple(sorted({reference.name for name, reference in choice.terms if name in PRICING_FIELDS}))


def spans_of(policy_set: PolicySet, charge: ChargeRequest, designated_contact: bool | None = None) -> list[Span]:
    """Every entry's spans, in time order (``designated_contact``: as PolicySet.evaluate takes it)."""
    spans = []
    for entry in charge.entries:
        at = entry.start
        while at < entry.end:
            evaluation = _decided(policy_set, charge.request, entry, at, designated_contact)
            end = min(entry.end, next_boundary(evaluation.contract.terms, at, charge.notice))
            spans.append(Span(entry, at, end, evaluation, _reason(evaluation, charge.notice, at)))
            at = end
    return spans


def _decided(policy_set: PolicySet, request, entry: WorkEntry, at: datetime,
             designated_contact: bool | None) -> Evaluation:
    zone = policy_set.time_zone(request["customer"])
    try:
        return policy_set.evaluate(dict(request, received_at=at.astimezone(zone).isoformat()),
                                   designated_contact=designated_contact)
    except EngineError as error:
        # The request itself was decided before the entries were split: what fails here is the instant.
        error.errors = tuple(FieldError(f"{entry.pointer}/start", e.message, e.kind, e.key) for e in error.errors)
        raise


def _reason(evaluation: Evaluation, notice: Notice | None, at: datetime) -> str:
    outcome = evaluation.decision.outcome
    if not outcome.billable:
        return NOT_BILLABLE
    if not outcome.notice_required:
        return CHARGED
    if notice is None:
        return NO_NOTICE
    if notice.declined:
        return DECLINED
    return BEFORE_NOTICE if at < notice.given_at else CHARGED


def next_boundary(terms: Terms, at: datetime, notice: Notice | None) -> datetime:
    """The first instant after ``at`` where the kind of time may change: an opening or closing of any of the
    plan's schedules, a local midnight of any of their zones, or the notice."""
    candidates = [notice.given_at] if notice is not None and notice.given_at > at else []
    for schedule in terms.schedules.values():
        candidates.append(_next_midnight(schedule, at))
        candidates.extend(instant for opening in schedule.day(schedule.local(at).date())
                          for instant in opening if instant > at)
    return min(candidates)


def _next_midnight(schedule: SupportSchedule, at: datetime) -> datetime:
    day = schedule.local(at).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=schedule.zone).astimezone(timezone.utc)
