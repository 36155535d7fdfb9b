"""The JSON Schemas in schemas/, loaded once and resolved against each other."""
from __future__ import annotations

import json
import re
from functools import lru_cache

import fastjsonschema
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.validators import extend
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from engine.resources import shipped

SCHEMA_NAMES = ("common", "plan", "customer", "ruleset", "suite", "decision-request", "decision", "problem")


@lru_cache(maxsize=None)
def schema(name: str) -> dict:
    with open(shipped("schemas") / f"{name}.schema.json", encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=None)
def _registry() -> Registry:
    # The schemas refer to each other by file name ("common.schema.json#/$defs/..."),
    # as editors resolve them next to each other; register them under those names.
    return Registry().with_resources(
        (f"{name}.schema.json", Resource.from_contents(schema(name), default_specification=DRAFT202012))
        for name in SCHEMA_NAMES
    )


@lru_cache(maxsize=None)
def ecma_regex(pattern: str) -> re.Pattern:
    """``pattern`` compiled with the meaning JSON Schema gives it (ECMA-262): ``$`` is the end of the string.

    Python's ``$`` also matches before a final newline, so ``^[a-z]+$`` would accept ``"abc\\n"``, which
    every ECMA-262 validator (an editor's, a client's) refuses. An unescaped ``$`` outside a character
    class becomes ``\\Z``, as fastjsonschema, which checks the accept path, does too.
    """
    translated, in_class, i = [], False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            translated.append(pattern[i:i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        translated.append("\\Z" if char == "$" and not in_class else char)
        i += 1
    return re.compile("".join(translated))


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# Draft 2020-12 with ECMA-262's ``$`` in ``pattern`` (no schema here uses patternProperties).
SchemaValidator = extend(Draft202012Validator, {"pattern": _pattern})


@lru_cache(maxsize=None)
def validator_for(name: str) -> SchemaValidator:
    document = schema(name)
    SchemaValidator.check_schema(document)
    return SchemaValidator(document, registry=_registry())


# Keywords that mean the same in Draft 7, which fastjsonschema compiles, as in
# Draft 2020-12, which the schemas are written in.
_SAME_IN_DRAFT7 = {"$schema", "title", "description", "type", "required", "properties",
                   "additionalProperties", "pattern", "minLength", "maxLength"}


def _keywords(document) -> set:
    found = set()
    if isinstance(document, dict):
        found.update(document)
        for key in ("properties",):
            for sub in document.get(key, {}).values():
                found |= _keywords(sub)
        if isinstance(document.get("additionalProperties"), dict):
            found |= _keywords(document["additionalProperties"])
    return found


@lru_cache(maxsize=None)
def accepts(name: str):
    """A fast check that ``instance`` is valid against the schema, or None.

    jsonschema walks the schema anew for every request (about 45 µs for a
    decision request, half of a decision); fastjsonschema compiles it to Python
    once (about 2 µs). It only ever answers "valid": any instance it rejects is
    validated again by jsonschema, which explains the errors. It is used only
    for schemas whose keywords mean the same in both drafts; the tests check
    the two agree.
    """
    document = schema(name)
    if not _keywords(document) <= _SAME_IN_DRAFT7:
        return None
    compiled = fastjsonschema.compile({k: v for k, v in document.items() if k != "$schema"}, use_default=False)

    def check(instance) -> bool:
        try:
            compiled(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True
    return check
