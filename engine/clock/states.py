"""A target's clock as read at one instant: its state, due time, time counted and left, pauses and warnings."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from supportpolicy.engine.calendar import SupportSchedule
from supportpolicy.engine.clock.measure import ZERO
from supportpolicy.engine.clock.runs import Cycle, TargetRun
from supportpolicy.engine.terms import Escalation

RUNNING, PAUSED, MET, BREACHED, NOT_STARTED, NOT_APPLICABLE = (
    "running", "paused", "met", "breached", "not_started", "not_applicable")


@dataclass(frozen=True)
class WarningState:
    percent: int
    action: str  # notify or escalate
    escalation: Escalation  # the team told (via: None), or the decision's escalation
    fires_at: datetime | None  # None: it will not fire (the clock stopped, or is paused, before)
    fired: bool


@dataclass(frozen=True)
class TargetState:
    name: str
    state: str  # RUNNING, PAUSED, MET, BREACHED, NOT_STARTED or NOT_APPLICABLE
    stop: str  # what meets it (the plan's clock terms)
    due: datetime | None  # None while paused, not started or not applicable
    started_at: datetime | None  # the current cycle's start
    stopped_at: datetime | None
    breached_at: datetime | None  # the current cycle's breach
    breaches: tuple  # when each cycle breached, the current one's included
    elapsed: timedelta  # counted in the current cycle
    remaining: timedelta
    allowance: timedelta
    paused: tuple  # (from, to or None)
    warnings: tuple  # WarningState
    cycles: int
    run: TargetRun

    def share_reached(self, percent: int, now: datetime) -> tuple[datetime | None, bool]:
        """When the clock first counted ``percent`` of its target in any cycle, and whether that has happened;
        else when it will in this cycle if it runs on without a pause (None: it will not)."""
        run = self.run
        for cycle in (*run.cycles, run.cycle):
            reached = cycle.crossing(cycle.share(percent)) if cycle is not None else None
            if reached is not None:
                return reached, True
        if run.cycle is not None and run.counting:
            return run.cycle.projected(run.cycle.share(percent), now), False
        return None, False

    def ran(self) -> tuple:
        """(cycle, from, to) of each stretch the clock ran in (started, not stopped, not paused), every cycle's,
        oldest first; cycles numbered from 1."""
        cycles = (*self.run.cycles, *((self.run.cycle,) if self.run.cycle is not None else ()))
        found = []
        for n, cycle in enumerate(cycles, 1):
            for start, end in cycle.ran:  # cut at every event: the stretches that meet are one
                if found and found[-1][0] == n and found[-1][2] == start:
                    found[-1] = (n, found[-1][1], end)
                else:
                    found.append((n, start, end))
        return tuple(found)

    def as_json(self, schedule: SupportSchedule) -> dict:
        local = _writer(schedule)
        due = self.run.basis.due
        return {
            "state": self.state, "due": local(self.due), "started_at": local(self.started_at),
            "stopped_at": local(self.stopped_at), "breached_at": local(self.breached_at),
            "breaches": [local(b) for b in self.breaches], "stop": self.stop,
            "elapsed_seconds": self.elapsed.total_seconds(), "remaining_seconds": self.remaining.total_seconds(),
            "target_seconds": self.allowance.total_seconds(),
            "schedule": None if self.run.basis.measure is None else self.run.basis.measure.counts_in,
            "paused": [{"from": local(start), "to": local(end)} for start, end in self.paused],
            "ran": [{"cycle": n, "from": local(start), "to": local(end)} for n, start, end in self.ran()],
            "warnings": [{"percent": w.percent, "action": w.action, "team": w.escalation.team,
                          "via": w.escalation.via, "fires_at": local(w.fires_at), "fired": w.fired}
                         for w in self.warnings],
            "cycles": self.cycles, "rule": due.rule.name, "file": due.rule.file, "line": due.rule.line,
        }


def _writer(schedule: SupportSchedule):
    return lambda instant: None if instant is None else schedule.local(instant).isoformat()


def read(run: TargetRun, now: datetime, escalation: Escalation) -> TargetState:
    """The clock of ``run`` at ``now`` (no earlier than its last event), ``escalation`` the decision's."""
    cycle = run.cycle
    breaches = tuple(b for b in (c.breached_at() for c in (*run.cycles, cycle) if c is not None) if b is not None)
    paused = tuple((start, end) for start, end in run.paused)
    if cycle is None:
        state = NOT_APPLICABLE if run.basis.measure is None else NOT_STARTED
        return TargetState(run.clock.target, state, run.clock.stop, None, None, None, None, breaches, ZERO, ZERO,
                           ZERO, paused, _warnings(run, None, now, escalation), len(run.cycles), run)
    consumed, breached_at = cycle.consumed, cycle.breached_at()
    if run.stopped is not None:
        state = BREACHED if breached_at else MET
        due = breached_at or cycle.projected(cycle.allowance, run.stopped_at)
    else:
        state = BREACHED if breached_at else PAUSED if not run.counting else RUNNING
        due = breached_at or (None if state == PAUSED else cycle.projected(cycle.allowance, now))
    return TargetState(run.clock.target, state, run.clock.stop, due, cycle.started_at, run.stopped_at, breached_at,
                       breaches, consumed, max(cycle.allowance - consumed, ZERO), cycle.allowance, paused,
                       _warnings(run, cycle, now, escalation), len(run.cycles) + 1, run)


def _warnings(run: TargetRun, cycle: Cycle | None, now: datetime, escalation: Escalation) -> tuple:
    warnings = []
    for warning in run.clock.warnings:
        told = escalation if warning.notify is None else Escalation(warning.notify, None)
        fires_at = None if cycle is None else cycle.crossing(cycle.share(warning.percent))
        fired = fires_at is not None
        if not fired and cycle is not None and run.counting:
            fires_at = cycle.projected(cycle.share(warning.percent), now)
        warnings.append(WarningState(warning.percent, warning.action, told, fires_at, fired))
    return tuple(warnings)
