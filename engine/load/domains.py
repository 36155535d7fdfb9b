"""The values each fact can take under a set of plans, worked out in one place.

Rule checks refuse a value no plan defines, and static analysis enumerates
the combinations of these values; both read them from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from supportpolicy.engine.vocabulary import DAYS, FACTS


@dataclass(frozen=True)
class Domains:
    channels: tuple  # every channel some plan defines, in the order the plans list them
    categories: tuple
    emergency: Mapping[str, frozenset]  # category -> whether it is an emergency, under each plan defining it

    @classmethod
    def of(cls, plans_data) -> "Domains":
        """From the plan documents (schema-valid, so every plan has channels and categories)."""
        channels, categories, emergency = {}, {}, {}
        for plan in plans_data:
            channels.update(dict.fromkeys(plan["channels"]))
            categories.update(dict.fromkeys(plan["categories"]))
            for name, category in plan["categories"].items():
                emergency.setdefault(name, set()).add(category["emergency"])
        return cls(tuple(channels), tuple(categories),
                   MappingProxyType({name: frozenset(values) for name, values in emergency.items()}))

    def values(self, fact: str) -> tuple:
        """The values ``fact`` can take."""
        spec = FACTS[fact]
        if spec.kind == "boolean":
            return (True, False)
        return {"channels": self.channels, "categories": self.categories, "days": DAYS}[spec.choices]
