"""supportpolicy's engine: support contracts as data, decided by rules.

The flow runs one way: policy files are loaded and checked (``yamlsource``,
``load``, ``validate``, ``analysis``, then ``assemble`` across files), rule
sets are compiled for durable-rules (``compiler``), and each request becomes
facts (``request``, ``calendar``, ``facts``) that the rules decide
(``evaluate``, ``decision``); ``policyset`` ties deciding together. Policy
tooling sits beside it: ``suites``, ``explain``, ``impact``.

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
from engine.assemble import check_policy_set, load_policy_set
from engine.policyset import PolicySet

__all__ = [
    "EngineError",
    "FieldError",
    "InvalidRequest",
    "NoPolicyInEffect",
    "PolicyError",
    "PolicySet",
    "PolicySetInvalid",
    "UnknownCustomer",
    "check_policy_set",
    "load_policy_set",
]
