"""The JSON Schemas in schemas/, loaded once and resolved against each other."""
from __future__ import annotations

import json
from functools import lru_cache

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from engine.resources import shipped

SCHEMA_NAMES = ("common", "plan", "customer", "ruleset", "decision-request", "decision", "problem")


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
def validator_for(name: str) -> Draft202012Validator:
    document = schema(name)
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document, registry=_registry())
