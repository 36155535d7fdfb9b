"""supportpolicy's engine: support contracts as data, decided by rules.

The flow runs one way, in stage packages that import only downward:

- ``load``: policy files read with their positions and checked, file by
  file and then as a whole set (``load.validate``);
- ``decide``: a request made facts, the rules fired by durable-rules, the
  decision resolved (``decide.policyset``; ``decide.build`` makes a policy
  set from folders);
- ``clock``: a ticket's targets' clocks, read from its events;
- ``charge``: the work on a ticket priced, span by span, by the rules and
  terms in effect when it was done (``charge.price``);
- ``tools``: what contract managers and CI run over a policy set (suites,
  explain, impact, the coverage week, terms in force).

Beneath them all: ``errors`` (errors as values with a place), ``vocabulary``
(facts, named terms and decision fields, each named once), ``model`` (the
contract as immutable values), ``calendar`` (business time) and ``instants``
(RFC 3339).

This package is a pure library: it never imports Flask or click, keeps no
store and starts no thread. The HTTP server, the command line and the
decision log in ``supportpolicy.server`` are adapters over it.
"""
from __future__ import annotations

# The names most callers need, imported when first asked for: importing any stage must not import the others.
_EXPORTS = {
    "EngineError": "supportpolicy.engine.errors",
    "FieldError": "supportpolicy.engine.errors",
    "InvalidRequest": "supportpolicy.engine.errors",
    "NoPolicyInEffect": "supportpolicy.engine.errors",
    "OutsideHolidayCalendar": "supportpolicy.engine.errors",
    "PolicyError": "supportpolicy.engine.errors",
    "PolicySetInvalid": "supportpolicy.engine.errors",
    "UnknownCustomer": "supportpolicy.engine.errors",
    "PolicySet": "supportpolicy.engine.decide.policyset",
    "check_policy_set": "supportpolicy.engine.decide.build",
    "load_policy_set": "supportpolicy.engine.decide.build",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
