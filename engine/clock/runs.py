"""One target's clock over a ticket's events: when it counts, what it has counted, when it was due.

A clock runs in cycles: a first response has one; a next update starts a new
one at each agent reply; a restart (a reopen, an attribute change counted from
the change) starts another. A cycle keeps the stretches of time in which it ran
(started, not stopped, not in a pausing status) and the target's allowance, the
time the decision gave it; everything else is read from them: what it counted,
when a share of the allowance was reached, and whether time ran on past the
allowance (a breach, dated when the allowance ran out).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from supportpolicy.engine.calendar import SupportSchedule
from supportpolicy.engine.clock.measure import ZERO, Measure
from supportpolicy.engine.clockterms import EACH_AGENT_REPLY, FIRST_PUBLIC_AGENT_REPLY, FROM_START, RESTART, RESUME
from supportpolicy.engine.model import TargetDue

STOPPED_BY_ITS_STOP, STOPPED_BY_THE_SOLVE = "stop", "solved"


@dataclass(frozen=True)
class Basis:
    """How the decision counts one target: the decision's due, what counts, and the schedule it is counted in."""

    due: TargetDue
    measure: Measure | None  # None: the decision gives the request no such target
    schedule: SupportSchedule  # where next_opening and the deadline are counted

    def origin(self, start: datetime) -> datetime:
        """Where counting starts for a clock started at ``start``: then, or the next opening, as the rule says."""
        return self.schedule.next_opening(start) if self.due.start == "next_opening" else start

    def allowance(self, origin: datetime) -> timedelta:
        """The time the target gives, counted from ``origin``: exactly the time to the deadline the decision
        would give a request received then."""
        return self.measure.between(origin, self.schedule.deadline(origin, self.due.target))


class Cycle:
    """One run of a clock, from its start to its stop."""

    def __init__(self, basis: Basis, started_at: datetime):
        self.started_at, self.ran = started_at, []  # ran: (start, end) of each stretch the clock ran in
        self.rebase(basis)

    def rebase(self, basis: Basis) -> None:
        """Count the target ``basis`` gives from this cycle's start, the time already run included."""
        self.basis, self.measure = basis, basis.measure
        self.origin = basis.origin(self.started_at)
        self.allowance = basis.allowance(self.origin)
        self.counted = []  # (start, end, time counted) of each stretch run since the origin
        for start, end in self.ran:
            self._count(start, end)

    def run(self, start: datetime, end: datetime) -> None:
        if end > start:
            self.ran.append((start, end))
            self._count(start, end)

    def _count(self, start: datetime, end: datetime) -> None:
        start = max(start, self.origin)
        if end > start:
            self.counted.append((start, end, self.measure.between(start, end)))

    @property
    def consumed(self) -> timedelta:
        return sum((m for _, _, m in self.counted), ZERO)

    def crossing(self, mark: timedelta) -> datetime | None:
        """When the cycle had counted ``mark``; None if it has not yet."""
        if mark <= ZERO:
            return self.origin
        total = ZERO
        for start, _, counted in self.counted:
            if total + counted >= mark:
                return self.measure.advance(start, mark - total)
            total += counted
        return None

    def share(self, percent: int) -> timedelta:
        return timedelta(microseconds=self.allowance // timedelta(microseconds=1) * percent // 100)

    def breached_at(self) -> datetime | None:
        """When the allowance ran out, if the clock ran on after it."""
        reached = self.crossing(self.allowance)
        if reached is not None and any(end > reached for _, end, _ in self.counted):
            return reached
        return None

    def projected(self, mark: timedelta, now: datetime) -> datetime:
        """When the cycle will have counted ``mark`` if it runs on from ``now`` without a pause."""
        consumed = self.consumed
        if consumed >= mark:
            return self.crossing(mark)
        return self.measure.advance(max(now, self.origin), mark - consumed)


class TargetRun:
    """A target's clock, driven through the ticket's events in order (``run_to`` each event's instant, then the
    event), then read at an instant (``state``, in states.py)."""

    def __init__(self, clock, basis: Basis, received_at: datetime, status: str):
        self.clock, self.basis, self.status = clock, basis, status
        self.cycles, self.cycle = [], None  # the finished cycles; the current one (None: not started)
        self.stopped, self.stopped_at = None, None
        self.paused = []  # [from, to or None] of each pause
        self.mark = received_at
        if clock.start_status in (None, status):
            self._start(received_at)

    @property
    def counting(self) -> bool:
        return self.cycle is not None and self.stopped is None and self.status not in self.clock.pauses

    def run_to(self, instant: datetime) -> None:
        if self.counting:
            self.cycle.run(self.mark, instant)
        self.mark = instant

    def on_status(self, instant: datetime, status: str, solved: str) -> None:
        previous, self.status = self.status, status
        if previous == solved and status != solved:
            self._reopen(instant)
        if status == solved and previous != solved and self.cycle is not None and self.stopped is None:
            self._stop(instant, STOPPED_BY_THE_SOLVE)
        if self.cycle is None and self.clock.start_status == status:
            self._start(instant)
        self._sync_pause(instant)

    def on_agent_reply(self, instant: datetime, public: bool) -> None:
        if not public or self.cycle is None or self.stopped is not None:
            return
        if self.clock.stop == FIRST_PUBLIC_AGENT_REPLY:
            self._stop(instant, STOPPED_BY_ITS_STOP)
        elif self.clock.stop == EACH_AGENT_REPLY:
            self._restart(instant)

    def on_attributes(self, instant: datetime, basis: Basis) -> None:
        """The target decided again after an attribute change."""
        self.basis = basis
        if self.cycle is None or self.stopped is not None:
            return  # a clock not started counts the new target when it starts; a stopped one stays as it was
        if basis.measure is None:  # the request has no such target any more
            self.cycles.append(self.cycle)
            self.cycle = None
        elif self.clock.on_attribute_change == FROM_START:
            self.cycle.rebase(basis)
        else:
            self._restart(instant)

    def _start(self, instant: datetime) -> None:
        if self.basis.measure is not None:
            self.cycle = Cycle(self.basis, instant)

    def _restart(self, instant: datetime) -> None:
        if self.cycle is not None:
            self.cycles.append(self.cycle)
        self.stopped = self.stopped_at = None
        self._start(instant)

    def _stop(self, instant: datetime, why: str) -> None:
        self.stopped, self.stopped_at = why, instant
        self._sync_pause(instant)

    def _reopen(self, instant: datetime) -> None:
        if self.clock.on_reopen == RESUME and self.stopped == STOPPED_BY_THE_SOLVE:
            self.stopped = self.stopped_at = None
        elif self.clock.on_reopen == RESTART and self.cycle is not None:
            self._restart(instant)

    def _sync_pause(self, instant: datetime) -> None:
        pausing = self.cycle is not None and self.stopped is None and self.status in self.clock.pauses
        open_pause = bool(self.paused) and self.paused[-1][1] is None
        if pausing and not open_pause:
            self.paused.append([instant, None])
        elif open_pause and not pausing:
            self.paused[-1][1] = instant
