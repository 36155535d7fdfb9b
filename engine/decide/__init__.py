"""Deciding: a request, through facts and rules, to a decision.

``request`` (the body checked and made a value) -> ``facts`` (with the
customer's ``terms`` and the ``calendar``) -> ``compiler`` and ``durable``
(durable-rules fires the rules the facts match) -> ``decision`` (hit
policies, named terms and deadlines resolved). ``policyset`` runs them for
the versions in effect when the request was received; ``build`` makes a
policy set from folders (validated by ``load``, then compiled).
"""
