"""Running compiled rules in durable-rules, safely inside a server.

durable-rules' Python host starts timer threads that race the caller and crash
the process, allows 1,024 live sessions per ruleset, and segfaults when a
session in which no action ran is deleted. So we drive its C module directly:
no host, no threads; one session per ruleset that lives as long as the
ruleset; each decision asserts its facts, runs the actions they trigger and
retracts them again, all under one process-wide lock (the C code holds the
GIL throughout, so the lock costs nothing; scale with processes).
"""
from __future__ import annotations

import json
import threading
import weakref

import durable_rules_engine as durable
import orjson

from supportpolicy.engine.decide.compiler import MARKER, CompiledDefinition

# Reentrant: a ruleset may be released (weakref.finalize) by a thread already holding it.
_LOCK = threading.RLock()
_SESSION = "0"
_FACT_ID = "request"
_ABSENT = object()  # a tested fact a request does not have (none today: every fact is always given)
# assert_fact status codes (durable/engine.py, Ruleset._handle_result)
_NOT_HANDLED, _ALREADY_ASSERTED = 1, 2


class RuleEngineError(RuntimeError):
    pass


class CompiledRules:
    """Compiled rules ready to fire: a durable-rules ruleset, and the policy's rules by name.

    durable-rules registers a name once per process, so the ruleset is shared
    by every policy set whose conditions compile to the same content; the
    rules (outcomes, files, lines) stay each policy set's own. The ruleset is
    deleted when the last policy set using it is gone (after a reload, once
    the requests still deciding with the old set are done), so memory does
    not grow reload after reload.
    """

    _handles: dict = {}  # content name -> [durable-rules ruleset handle, users, whether an action ran]

    # Distinct fact combinations remembered per ruleset: about 6,300 for the seed; past this the memo starts over.
    MEMO_SIZE = 65_536

    def __init__(self, compiled: CompiledDefinition):
        self.name = compiled.name
        self.rules = compiled.rules
        # Which rules fire depends only on the facts some condition tests: those, in one order, key the memo.
        self.tested = tuple(sorted({c.fact for rule in compiled.rules.values() for c in rule.conditions}))
        self._memo: dict = {}
        self._entry = self._register(compiled) if compiled.definition else None
        self._handle = self._entry[0] if self._entry else None
        if self._handle is not None:
            finalizer = weakref.finalize(self, CompiledRules._release, compiled.name)
            finalizer.atexit = False  # nothing to free in a process that is ending

    @classmethod
    def _register(cls, compiled: CompiledDefinition):
        with _LOCK:
            entry = cls._handles.get(compiled.name)
            if entry is None:
                entry = cls._handles[compiled.name] = [
                    durable.create_ruleset(compiled.name, json.dumps(compiled.definition)), 0, False]
            entry[1] += 1
            return entry

    @classmethod
    def _release(cls, name: str) -> None:
        with _LOCK:
            entry = cls._handles[name]
            entry[1] -= 1
            if entry[1] == 0:
                del cls._handles[name]
                # delete_ruleset leaves the session's state behind (about 190 KB); free it
                # first, but only where an action ran: deleting a session where none ran segfaults.
                if entry[2]:
                    durable.delete_state(entry[0], _SESSION)
                durable.delete_ruleset(entry[0])

    @classmethod
    def registered(cls) -> int:
        """How many durable-rules rulesets this process holds."""
        return len(cls._handles)

    def fired(self, facts: dict) -> list[str]:
        """The names of every rule the facts match, in priority order.

        The answer is a function of the tested facts alone, so durable-rules
        decides each distinct combination once and its answer is remembered:
        memoisation, not a second engine (the tests check, over every
        combination, that durable-rules fires exactly the rules whose
        conditions hold).
        """
        key = tuple([facts.get(name, _ABSENT) for name in self.tested])
        names = self._memo.get(key)
        if names is None:
            names = tuple(self.fire_in_durable_rules(facts))
            if len(self._memo) >= self.MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = names
        return list(names)

    def fire_in_durable_rules(self, facts: dict) -> list[str]:
        """The names of every rule the facts match, asked of durable-rules itself (no memo)."""
        if self._handle is None:
            return []
        fact = dict(facts, sid=_SESSION, id=_FACT_ID)
        fact[MARKER] = 1
        document = orjson.dumps(fact).decode()
        names = []
        with _LOCK:
            status, state = durable.assert_fact(self._handle, document)
            if status == _NOT_HANDLED:
                return names
            if status == _ALREADY_ASSERTED:
                raise RuleEngineError(f"a previous request's facts are still asserted in {self.name}")
            try:
                action = durable.start_action_for_state(self._handle, state)
                message = action[1] if action else None
                if message:
                    self._entry[2] = True  # an action ran: the session may be deleted
                while message:
                    # The message is {"<rule name>": {...}}; rule names never hold quotes.
                    names.append(message[2:message.index('"', 2)])
                    message = durable.complete_and_start_action(self._handle, state)
            finally:
                durable.retract_fact(self._handle, document)
        return names
