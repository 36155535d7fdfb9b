"""A customer's month of tickets against its targets: per target, the share met, each breach and how late, pauses.

Built from the tickets received in the month (in the customer's time zone),
each read at the month's end (``engine.clock.evaluate``). Every run of a clock
counts once: a first response has one, a next update one per update owed.
A run met on time is met; one whose target ran out is breached, and late by the
time from its due to its stop (or to the month's end, if it still runs); one
still running on time at the month's end is open. Everything is sorted, so
the same tickets always give the same report.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from supportpolicy.engine.clock.states import NOT_APPLICABLE, NOT_STARTED

ZERO = timedelta(0)


@dataclass(frozen=True)
class Month:
    """A calendar month in a time zone: [start, end)."""

    text: str  # YYYY-MM
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        year, month = map(int, self.text.split("-"))
        return datetime(year, month, 1, tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        start = self.start
        return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=self.zone)

    def holds(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True)
class Breach:
    ticket_id: str
    target: str
    due: datetime
    stopped: datetime | None  # None: still running at the month's end
    late: timedelta


@dataclass(frozen=True)
class TargetSummary:
    target: str
    tickets: int  # tickets the target applied to
    met: int  # runs met on time
    breached: int
    open: int  # runs still on time at the month's end
    paused: timedelta  # the time its clocks were paused, up to the month's end
    breaches: tuple  # Breach, by due time

    @property
    def share_met(self) -> float | None:
        closed = self.met + self.breached
        return None if closed == 0 else self.met / closed


@dataclass(frozen=True)
class SlaReport:
    customer: str
    month: Month
    tickets: int
    targets: tuple  # TargetSummary, by target name

    def as_json(self) -> dict:
        local = lambda instant: None if instant is None else instant.astimezone(self.month.zone).isoformat()  # noqa
        return {"customer": self.customer, "month": self.month.text, "time_zone": self.month.zone.key,
                "from": local(self.month.start), "until": local(self.month.end), "tickets": self.tickets,
                "targets": {t.target: {
                    "tickets": t.tickets, "met": t.met, "breached": t.breached, "open": t.open,
                    "share_met": None if t.share_met is None else round(t.share_met, 4),
                    "paused_seconds": t.paused.total_seconds(),
                    "breaches": [{"ticket_id": b.ticket_id, "due": local(b.due), "stopped": local(b.stopped),
                                  "late_seconds": b.late.total_seconds()} for b in t.breaches]}
                    for t in self.targets}}


def sla_report(customer: str, month: Month, evaluations) -> SlaReport:
    """The report of ``evaluations`` (engine.clock.evaluate.TicketEvaluation of the customer's tickets received
    in ``month``, each read at the month's end)."""
    runs: dict[str, list] = {}
    for evaluation in sorted(evaluations, key=lambda e: e.evaluation.decision.ticket_id or ""):
        ticket_id = evaluation.evaluation.decision.ticket_id or ""
        for target in evaluation.targets:
            if target.state not in (NOT_APPLICABLE, NOT_STARTED):
                runs.setdefault(target.name, []).append((ticket_id, target, evaluation.at))
    return SlaReport(customer, month, len(evaluations), tuple(_summary(name, runs[name]) for name in sorted(runs)))


def _summary(name: str, runs: list) -> TargetSummary:
    met = breached = still = 0
    paused, breaches = ZERO, []
    for ticket_id, target, at in runs:
        paused += sum(((end or at) - start for start, end in target.paused), ZERO)
        for due, stopped in _cycles(target):
            if due is not None:
                breached += 1
                breaches.append(Breach(ticket_id, name, due, stopped, (stopped or at) - due))
            elif stopped is not None:
                met += 1
            else:
                still += 1
    breaches.sort(key=lambda b: (b.due, b.ticket_id))
    return TargetSummary(name, len(runs), met, breached, still, paused, tuple(breaches))


def _cycles(target) -> list[tuple[datetime | None, datetime | None]]:
    """(breached at or None, stopped at or None) of each run of the target's clock."""
    run = target.run
    cycles = [*run.cycles, *([run.cycle] if run.cycle is not None else [])]
    found = []
    for n, cycle in enumerate(cycles):
        current = n == len(cycles) - 1 and run.cycle is not None
        stopped = target.stopped_at if current else cycles[n + 1].started_at if n + 1 < len(cycles) else None
        found.append((cycle.breached_at(), stopped))
    return found
