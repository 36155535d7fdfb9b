"""The facts a rule set may test and the values each can take, under the plans it decides for.

Every request has the built-in facts (vocabulary.FACTS); a plan adds its
request attributes and, for each of its other schedules, ``open_<name>``. A
rule set deciding for several plans may test only what they all have. Rule
checks refuse a value no plan defines, and static analysis enumerates the
combinations of these values; both read them from here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from supportpolicy.engine.terms import Attribute
from supportpolicy.engine.vocabulary import DAYS, FACTS, PERIODS

OTHER = object()  # stands, in static analysis, for every value of a text attribute that no rule names


@dataclass(frozen=True)
class Domains:
    channels: tuple  # every channel some plan defines, in the order the plans list them
    categories: tuple
    emergency: Mapping[str, frozenset]  # category -> whether it is an emergency, under each plan defining it
    # The attributes every plan declares.
    attributes: Mapping[str, Attribute] = field(default_factory=lambda: MappingProxyType({}))
    schedules: tuple = ()  # the other schedules every plan has
    targets: tuple = ()  # the targets (besides the first response) every plan names

    @classmethod
    def of(cls, plans_data) -> "Domains":
        """From the plan documents (schema-valid, so every plan has channels and categories)."""
        plans_data = list(plans_data)
        channels, categories, emergency = {}, {}, {}
        for plan in plans_data:
            channels.update(dict.fromkeys(plan["channels"]))
            categories.update(dict.fromkeys(plan["categories"]))
            for name, category in plan["categories"].items():
                emergency.setdefault(name, set()).add(category["emergency"])
        return cls(tuple(channels), tuple(categories),
                   MappingProxyType({name: frozenset(values) for name, values in emergency.items()}),
                   MappingProxyType(_shared_attributes(plans_data)),
                   _shared(plans_data, "schedules"), _shared(plans_data, "targets"))

    @property
    def facts(self) -> tuple:
        """Every fact a rule may test here, built-ins first."""
        return (*FACTS, *self.attributes, *(f"open_{name}" for name in self.schedules))

    def kind(self, fact: str) -> str | None:
        """boolean, choice, integer or text; None for a fact there is not."""
        if fact in FACTS:
            return FACTS[fact].kind
        if fact in self.attributes:
            return self.attributes[fact].kind
        return "boolean" if fact.startswith("open_") and fact[5:] in self.schedules else None

    def values(self, fact: str) -> tuple | None:
        """The values ``fact`` can take; None when they cannot be listed (text, a wide integer range)."""
        if fact in self.attributes:
            return self.attributes[fact].domain()
        if self.kind(fact) == "boolean":
            return (True, False)
        return {"channels": self.channels, "categories": self.categories, "days": DAYS,
                "periods": PERIODS}[FACTS[fact].choices]

    def attribute(self, fact: str) -> Attribute | None:
        return self.attributes.get(fact)


def _shared(plans_data: list, section: str) -> tuple:
    names = [list(plan.get(section, {})) for plan in plans_data]
    return tuple(n for n in names[0] if all(n in other for other in names[1:])) if names else ()


def _shared_attributes(plans_data: list) -> dict:
    """The attributes every plan declares, their values the union of the plans' (the narrowest wins for text)."""
    shared = {}
    for name in _shared(plans_data, "attributes"):
        declared = [Attribute.from_data(name, plan["attributes"][name]) for plan in plans_data]
        if len({a.kind for a in declared}) > 1:
            continue  # one plan's number is another's text: no rule set for both may test it
        first = declared[0]
        if first.kind == "choice":
            values = tuple(dict.fromkeys(v for a in declared for v in a.values))
        elif first.kind == "integer":
            values = (min(a.values[0] for a in declared), max(a.values[1] for a in declared))
        else:
            values = first.values
        shared[name] = Attribute(name, first.kind, values, first.required, first.default, first.description,
                                 min(a.max_length for a in declared))
    return shared
