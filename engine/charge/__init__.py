"""Pricing the work done on a ticket: what the contract lets the provider charge, line by line.

Stateless: a charge is priced from the ticket's decision request, the notice
record (when the customer was told the work would be charged, and whether they
accepted) and the work entries. Stages: ``work`` (the body checked and made
values, the entries checked against each other, the ticket and the clock),
``spans`` (each entry split wherever the kind of time may change, and each span
decided by the rules with the versions in effect when it was worked), ``adjust``
(the plan's minimum charge and increment) and ``lines`` (spans gathered into
lines, each rounded once, as the plan says). ``price.price_work`` runs them.

Whether a span is charged, and at what rate, is the billing rule set's
decision for a request received at the span's start; the notice, the minimum,
the increment and the rounding are the plan's terms. Nothing here is a rate.

Like the rest of the engine, a pure library: no Flask, no store, no thread.
"""
