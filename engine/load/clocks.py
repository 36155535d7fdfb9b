"""Checking a plan's clock terms: statuses, a clock for every target, warnings, and the escalation ladder.

The schema has checked each value's shape; these checks relate the values to
each other and to the plan: the statuses named are the plan's, every target
has one clock, warnings rise, and a ladder that repeats is one that can.
"""
from __future__ import annotations

from dataclasses import replace

from supportpolicy.engine.clockterms import PREVIOUS_LEVEL, RECEIVED, ClockTerms
from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.yamlsource import Source
from supportpolicy.engine.terms import Terms
from supportpolicy.engine.vocabulary import FIRST_RESPONSE


def with_clocks(terms: Terms, data: dict) -> Terms:
    """``terms`` with the clock terms of ``data`` (a plan's, or a customer's merged terms, checked)."""
    return replace(terms, clocks=ClockTerms.from_data(data.get("clocks")))


def clock_errors(source: Source, data: dict, at: str = "$") -> list[PolicyError]:
    """Every problem of the plan's ``clocks`` (none when it has none)."""
    clocks = data.get("clocks")
    if clocks is None:
        return []
    where = f"{at}.clocks"
    statuses = Statuses(source, clocks, where)
    errors = statuses.errors()
    targets = [FIRST_RESPONSE, *data.get("targets", {})]
    for name, clock in clocks["targets"].items():
        path = f"{where}.targets.{name}"
        if name not in targets:
            errors.append(source.error(path, "unknown_target", f"the plan has no target {name!r}; its targets are: "
                                                               f"{', '.join(targets)}"))
        errors += _target_clock_errors(source, clock, path, statuses)
    missing = [name for name in targets if name not in clocks["targets"]]
    if missing:
        errors.append(source.error(f"{where}.targets", "missing_clock",
                                   f"no clock for {', '.join(missing)}; give every target of the plan its clock"))
    if "escalation" in clocks:
        errors += _ladder_errors(source, clocks["escalation"], f"{where}.escalation", targets)
    return errors


class Statuses:
    """The plan's ticket statuses, and the checks of a status a clock term names."""

    def __init__(self, source: Source, clocks: dict, where: str):
        self.source, self.where = source, where
        self.names, self.solved = list(clocks["statuses"]), clocks["solved_status"]
        self.initial = clocks["initial_status"]

    def errors(self) -> list[PolicyError]:
        errors = self.unknown(self.initial, f"{self.where}.initial_status")
        errors += self.unknown(self.solved, f"{self.where}.solved_status")
        if self.initial == self.solved:
            errors.append(self.source.error(f"{self.where}.initial_status", "invalid_clock",
                                            "a ticket cannot be received solved; name another initial status"))
        return errors

    def unknown(self, name: str, path: str) -> list[PolicyError]:
        if name in self.names:
            return []
        return [self.source.error(path, "unknown_status", f"there is no status {name!r} in clocks.statuses; the "
                                                          f"statuses are: {', '.join(self.names)}")]

    def not_solved(self, name: str, path: str, what: str) -> list[PolicyError]:
        if name != self.solved:
            return []
        return [self.source.error(path, "invalid_clock", f"{name} solves the ticket, which stops every clock; "
                                                         f"it cannot {what}")]


def _target_clock_errors(source: Source, clock: dict, path: str, statuses: Statuses) -> list[PolicyError]:
    errors = []
    start = clock.get("start", RECEIVED)
    if start != RECEIVED:
        errors += statuses.unknown(start["status"], f"{path}.start.status")
        errors += statuses.not_solved(start["status"], f"{path}.start.status", "start a clock")
        if start["status"] in clock.get("pause", ()):
            errors.append(source.error(f"{path}.start.status", "invalid_clock",
                                       f"the clock starts in {start['status']}, a status that pauses it; "
                                       "it would never count"))
    for i, status in enumerate(clock.get("pause", ())):
        errors += statuses.unknown(status, f"{path}.pause[{i}]")
        errors += statuses.not_solved(status, f"{path}.pause[{i}]", "pause one")
    previous = 0
    for i, warning in enumerate(clock.get("warnings", ())):
        here = f"{path}.warnings[{i}]"
        if ("notify" in warning) == ("escalate" in warning):
            errors.append(source.error(here, "invalid_warning", "a warning either notifies a team "
                                                                "(notify: <team>) or escalates (escalate: true)"))
        if warning["percent"] <= previous:
            errors.append(source.error(f"{here}.percent", "invalid_warning",
                                       f"warnings are in rising order of percent: {warning['percent']} comes after "
                                       f"{previous}"))
        previous = max(previous, warning["percent"])
    return errors


def _ladder_errors(source: Source, ladder: dict, where: str, targets: list) -> list[PolicyError]:
    errors = []
    for i, level in enumerate(ladder["levels"]):
        path = f"{where}.levels[{i}]"
        if ("after" in level) == ("at" in level):
            errors.append(source.error(path, "invalid_escalation",
                                       "a level fires after a delay (after: ...) or at a share of a target "
                                       "(at: {percent: ..., of: ...}), one of them"))
        elif "since" in level and "at" in level:
            errors.append(source.error(f"{path}.since", "invalid_escalation",
                                       "since says what a delay is counted from; a level at a share of a target "
                                       "has no delay: remove since"))
        if "at" in level and level["at"]["of"] not in targets:
            errors.append(source.error(f"{path}.at.of", "unknown_target",
                                       f"the plan has no target {level['at']['of']!r}; its targets are: "
                                       f"{', '.join(targets)}"))
    if ladder.get("repeat", 0):
        for i, level in enumerate(ladder["levels"]):
            if "at" in level or level.get("since", PREVIOUS_LEVEL) != PREVIOUS_LEVEL:
                errors.append(source.error(f"{where}.levels[{i}]", "invalid_escalation",
                                           "a ladder that repeats runs each round on from the last level of the one "
                                           "before: every level's delay must be counted since the previous level"))
    return errors
