"""A customer's terms as in force at a given time, and where each one comes from."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from engine.errors import FieldError, NoPolicyInEffect, UnknownCustomer
from engine.validate import replaced_whole
from engine.yamlsource import child_path

_NONE = object()  # no override here
TERMS = ("schedule", "channels", "response_targets", "categories", "emergency_support", "after_hours",
         "included_services")


def terms_in_force(policy_set, customer_id: str, at: datetime) -> dict:
    """The customer's contract and plan versions in force at ``at``, and every term with its source."""
    try:
        customer, plan = policy_set.contract(SimpleNamespace(customer=customer_id, received_at=at))
    except UnknownCustomer as error:  # the id is in the path, not in a body
        raise UnknownCustomer(error.detail) from None
    except NoPolicyInEffect as error:
        raise NoPolicyInEffect(error.detail.replace("received_at", "at"),
                               [FieldError("at", "is before the contract takes effect", "parameter")]) from None
    terms = []

    def walk(plan_value, override, path: tuple, json_path: str):
        if isinstance(plan_value, dict) and not replaced_whole(path) and path:
            for key, value in plan_value.items():
                below = override.get(key, _NONE) if isinstance(override, dict) else _NONE
                walk(value, below, path + (key,), child_path(json_path, key))
            return
        if override is not _NONE:  # an override to null is an override too
            source, where, value = customer, "$.overrides" + json_path[1:], override
        else:
            source, where, value = plan, json_path, plan_value
        terms.append({"term": ".".join(path), "value": value,
                      "from": {"file": source.file.path, "line": _line(source.positions, where)}})

    for name in TERMS:
        walk(plan.data[name], customer.overrides.get(name, _NONE), (name,), f"$.{name}")
    return {
        "customer": customer.file.id,
        "name": customer.name,
        "at": at.isoformat(),
        "contract": customer.file.as_json(),
        "plan": plan.file.as_json(),
        "designated_contacts": sorted(customer.designated_contacts),
        "terms": terms,
    }


def _line(positions, json_path: str) -> int:
    while json_path not in positions and "." in json_path:
        json_path = json_path.rsplit(".", 1)[0]
    return positions.get(json_path, (1, 1))[0]
