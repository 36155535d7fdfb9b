"""The life of a ticket: its targets' clocks, read from its events under the plan's clock terms.

Stateless: a ticket is its decision request and its events, oldest first;
``evaluate.evaluate_ticket`` reads, at one instant, each target's state (running,
paused, met or breached), when it is due, the business time counted and left, the
paused intervals and the warnings, and how far the escalation ladder has climbed.

Stages: ``ticket`` (the body checked and made values, the events checked against
the plan's statuses and each other), ``measure`` (time counted in a schedule or
on the calendar), ``runs`` (each target's clock over the events), ``ladder``
(the escalation levels) and ``evaluate`` (all of them, with the decision the
ticket was received with and the versions in effect then).

Like the rest of the engine, a pure library: no Flask, no store, no thread.
"""
