"""supportpolicy's engine: support contracts as data, decided by rules.

The flow runs one way: policy files are loaded and validated (``load``,
``validate``), rule sets are compiled for durable-rules (``compiler``), and each
request becomes facts (``request``, ``calendar``, ``facts``) that the rules
decide (``evaluate``, ``decision``). ``policyset`` ties the stages together.

This package is a library: it never imports Flask or click. The HTTP server and
the command line in ``server/`` are thin adapters over it.
"""
from engine.errors import (
    EngineError,
    FieldError,
    InvalidRequest,
    NoPolicyInEffect,
    PolicyError,
    PolicySetInvalid,
    UnknownCustomer,
)
from engine.policyset import PolicySet, load_policy_set

__all__ = [
    "EngineError",
    "FieldError",
    "InvalidRequest",
    "NoPolicyInEffect",
    "PolicyError",
    "PolicySet",
    "PolicySetInvalid",
    "UnknownCustomer",
    "load_policy_set",
]
