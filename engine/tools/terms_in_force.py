"""A customer's terms as in force at a given time, and where each one comes from."""
from __future__ import annotations

from datetime import datetime

from supportpolicy.engine.errors import NoPolicyInEffect, OutsideHolidayCalendar
from supportpolicy.engine.load.yamlsource import child_path
from supportpolicy.engine.model import in_effect
from supportpolicy.engine.vocabulary import TERM_SECTIONS, replaced_whole

_NONE = object()  # no override here
CURRENT = "current"  # a contract version that pins no plan version follows the one in effect


def customer_list(policy_set, now: datetime) -> list[dict]:
    """Every customer: its time zone and contract versions, each with its plan.

    A version that pins no plan version says ``"version": "current"`` (the plan version in effect when
    a request is received decides it) and ``pinned: false``; ``current_version`` is the plan's version
    in effect ``now`` (null before the first takes effect), whichever the contract version says.
    """
    listed = []
    for customer_id, versions in sorted(policy_set.customers.items()):
        zone = policy_set.time_zone(customer_id)
        entries = []
        for customer in versions:
            current = in_effect(policy_set.plans[customer.plan_id], now.astimezone(zone).date())
            plan = {"id": customer.plan_id, "version": customer.plan_version or CURRENT,
                    "pinned": customer.plan_version is not None,
                    "current_version": current.file.version if current else None}
            entries.append(dict(customer.file.as_json(), plan=plan))
        listed.append({"id": customer_id, "name": versions[-1].name, "time_zone": zone.key, "versions": entries})
    return listed


def terms_in_force(policy_set, customer_id: str, at: datetime) -> dict:
    """The customer's contract and plan versions in force at ``at``, and every term with its source."""
    try:
        contract = policy_set.contract(customer_id, at)
    except NoPolicyInEffect as error:
        raise error.naming("at", "parameter") from None
    schedule = contract.terms.schedule
    try:
        # As a decision at ``at`` would be refused, so are the terms: they would be applied without holidays.
        schedule.holidays.check_known(schedule.local(at).date())
    except OutsideHolidayCalendar as error:
        raise error.naming("at", "parameter") from None
    customer, plan = contract.customer, contract.plan
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

    for name in (n for n in TERM_SECTIONS if n in plan.data):
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
