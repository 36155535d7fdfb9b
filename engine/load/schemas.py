"""The JSON Schemas in schemas/, loaded once and resolved against each other,
and a document's schema errors as policy errors at their place in the file."""
from __future__ import annotations

import json
import re
from datetime import date
from functools import lru_cache

import fastjsonschema
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import extend
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.yamlsource import Source, child_path
from supportpolicy.engine.resources import shipped

SCHEMA_NAMES = ("common", "plan", "customer", "ruleset", "integration", "suite", "decision-request", "decision",
                "problem", "ticket-evaluation", "charge-request")


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
_SAME_IN_DRAFT7 = {"$schema", "$id", "title", "description", "type", "required", "properties",
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


# Keywords that mean the same in Draft 7 as in Draft 2020-12 for the policy schemas, as they use them: `items`
# as one schema (never a list), `$ref` never beside another keyword that checks, `$defs` only reached through
# JSON pointers.
_POLICY_KEYWORDS = _SAME_IN_DRAFT7 | {"$defs", "$ref", "default", "const", "enum", "oneOf", "items", "minItems",
                                     "maxItems", "minimum", "maximum", "exclusiveMinimum", "minProperties",
                                     "maxProperties", "propertyNames", "uniqueItems", "not"}
_ANNOTATIONS = {"title", "description", "default"}
_SCHEMA_LISTS = ("oneOf",)  # keywords whose value is a list of schemas
_SCHEMA_MAPS = ("properties", "$defs")  # keywords whose value maps names to schemas
FAST_POLICY_KINDS = ("plan", "customer", "suite")  # the kinds read by the thousand


def _draft7_equivalent(document) -> bool:
    """Whether every keyword in ``document`` (a schema) means the same to fastjsonschema's Draft 7."""
    if not isinstance(document, dict):
        return isinstance(document, bool)
    if not set(document) <= _POLICY_KEYWORDS or ("$ref" in document and set(document) - _ANNOTATIONS - {"$ref"}):
        return False
    if isinstance(document.get("items", {}), list):
        return False
    subschemas = [document[k] for k in ("additionalProperties", "items", "propertyNames") if k in document]
    subschemas += [s for k in _SCHEMA_LISTS for s in document.get(k, ())]
    subschemas += [s for k in _SCHEMA_MAPS for s in document.get(k, {}).values()]
    return all(_draft7_equivalent(s) for s in subschemas)


def _without_meta(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "$schema"}


@lru_cache(maxsize=None)
def _accepts_policy(kind: str):
    """A fast check that a policy document of ``kind`` is valid, or None (then jsonschema alone checks it).

    As for requests (``accepts``): jsonschema costs about 0.7 ms a customer file and 4 ms a plan (which
    every customer with overrides is checked as, merged), most of the load of thousands of customers;
    fastjsonschema, compiled once, about 25 µs and 350 µs. It only ever answers "valid": a document it
    refuses is checked again by jsonschema, which finds and words every error. Used only for schemas
    (with common.schema.json, which they refer to) whose keywords mean the same in both drafts; the tests
    check the two agree.
    """
    names = (kind, "common")
    if kind not in FAST_POLICY_KINDS or not all(_draft7_equivalent(schema(n)) for n in names):
        return None
    return _compiled_check(schema(kind))


def _compiled_check(document: dict):
    # The schemas refer to each other by file name, resolved here from schemas/ (never fetched).
    handlers = {"": lambda uri: _without_meta(schema(uri.removesuffix(".schema.json")))}
    compiled = fastjsonschema.compile(_without_meta(document), handlers=handlers, use_default=False)

    def check(instance) -> bool:
        try:
            compiled(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True
    return check



def accepts_document(document: dict, referenced=()):
    """A fast check that an instance is valid against ``document`` (a schema, or a part of one), which refers
    to the schemas named ``referenced``, or None; the caller keeps it.

    As ``accepts``, it only ever answers "valid"; an instance it refuses is checked again by jsonschema.
    """
    if not _draft7_equivalent(document) or not all(_draft7_equivalent(schema(n)) for n in referenced):
        return None
    return _compiled_check(document)

# A schema whose top level says only these is checked section by section: a top-level key's value is valid or
# not whatever the other keys hold.
_SECTIONED = {"$schema", "$id", "$defs", "title", "description", "type", "required", "properties",
              "additionalProperties"}


@lru_cache(maxsize=None)
def _accepts_sections(kind: str):
    """A fast check that some top-level sections of a ``kind`` document are valid, or None.

    A customer's terms are the plan (valid) with a few sections overridden, and a plan's schema says
    nothing at its top level that relates one section to another (besides which are required, and the
    plan has them all): the merged terms are valid when the overridden sections are, and checking only
    those costs a fraction of the whole (a thousand customers with overrides are a second of a load).
    """
    document = schema(kind)
    if _accepts_policy(kind) is None or not set(document) <= _SECTIONED:
        return None
    return _compiled_check({k: v for k, v in document.items() if k != "required"})


# ---- a policy file against its schema -------------------------------------------

_CODES = {"required": "missing_field", "additionalProperties": "unknown_field", "enum": "invalid_value",
          "const": "invalid_value", "type": "wrong_type", "pattern": "invalid_format",
          "propertyNames": "invalid_name", "maxItems": "too_many_items", "minItems": "too_few_items",
          "maxProperties": "too_many_items", "minProperties": "too_few_items", "maxLength": "too_long",
          "minLength": "too_short", "minimum": "out_of_range", "maximum": "out_of_range",
          "exclusiveMinimum": "out_of_range", "exclusiveMaximum": "out_of_range", "uniqueItems": "duplicate_item"}


def schema_errors(source: Source, kind: str, data=None, at: str = "$", changed=None) -> list[PolicyError]:
    """Errors of ``data`` (the whole document by default) against the kind's schema.

    ``changed``: the top-level keys in which ``data`` differs from a document already found valid (a
    plan with a customer's overrides): only those are checked, unless there is an error to explain.
    """
    instance = source.data if data is None else data
    sections = _accepts_sections(kind) if changed is not None else None
    if sections is not None:
        if sections({key: instance[key] for key in changed if key in instance}):
            return []
    else:
        fast = _accepts_policy(kind)
        if fast is not None and fast(instance):
            return []
    errors = []
    for error in validator_for(kind).iter_errors(instance):
        if error.validator in ("oneOf", "anyOf") and error.context:
            error = best_match(_fitting_branches(error))
        errors.extend(_placed(source, kind, error, at + error.json_path[1:]))
    return errors


def _fitting_branches(error: ValidationError) -> list[ValidationError]:
    """The errors of the alternatives the value was meant for: those whose type it has and whose required
    keys it holds (`{in: [a, a]}` is meant as the `in` form, not as a plain value or a `not`)."""
    branches = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    for misfit in ("type", "required"):
        fitting = {b: subs for b, subs in branches.items()
                   if not any(s.validator == misfit and not s.relative_path for s in subs)}
        branches = fitting or branches
    return [sub for subs in branches.values() for sub in subs]


def _placed(source: Source, kind: str, error: ValidationError, path: str) -> list[PolicyError]:
    if error.validator == "additionalProperties":
        known = error.schema.get("properties", {})
        return [source.error(child_path(path, extra), "unknown_field",
                             f"{extra!r} is not a known field here; check its spelling"
                             + (f" (known: {', '.join(known)})" if known else ""))
                for extra in sorted(k for k in error.instance if k not in known)]
    if error.validator == "required" and kind == "ruleset" and not error.absolute_path \
            and "default" not in error.instance:
        return [source.error(path, "no_default",
                             "the rule set has no default, so a request no rule matches would get no decision "
                             "(a gap); add `default: {id: ..., then: ...}` after the rules")]
    if error.validator == "enum" and error.absolute_path and error.absolute_path[-1] == "term":
        return [source.error(path, "unknown_term", f"there is no term {error.instance!r}; the terms an outcome "
                                                   f"may name are: {', '.join(error.validator_value)}")]
    return [source.error(path, _CODES.get(error.validator, "schema_violation"), _message(error))]


def _message(error: ValidationError) -> str:
    if error.validator == "required":
        return f"{error.message}; add it"
    if error.validator == "pattern" and error.schema.get("description"):
        # The pattern is a regular expression; the field's description says the form in words.
        return f"{error.instance!r} is not in the form this field takes: {error.schema['description']}"
    if error.validator == "propertyNames":
        return f"{error.instance!r} is not an allowed name here"
    if error.validator == "uniqueItems":
        return "a value is listed more than once here; keep one of each"
    return error.message if len(error.message) <= 300 else error.message[:300] + "..."


def date_errors(source: Source) -> list[PolicyError]:
    """Dates the schema's patterns let through but the calendar does not have (2026-02-30)."""
    errors = []
    stack = [(source.data, "$")]
    while stack:
        value, path = stack.pop()
        # A value's path is made only for what may hold a date: mappings, lists, and date-like strings.
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            if isinstance(item, (dict, list)):
                stack.append((item, child_path(path, key)))
            elif _looks_like_a_date(item):
                try:
                    date.fromisoformat(item)
                except ValueError:
                    errors.append(source.error(child_path(path, key), "invalid_date",
                                               f"{item} is not a date in the calendar"))
    if _looks_like_a_date(source.data):  # a document that is one date
        try:
            date.fromisoformat(source.data)
        except ValueError:
            errors.append(source.error("$", "invalid_date", f"{source.data} is not a date in the calendar"))
    return errors


def _looks_like_a_date(value) -> bool:
    return isinstance(value, str) and len(value) == 10 and value[4:5] == "-" and value[7:8] == "-" \
        and value[:4].isdigit()
