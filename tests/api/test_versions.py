"""Customers and versions: which contract, plan and rule set decide a request, and what is in force when.

A customer's contract has versions like plans and rule sets do; each takes
effect at local midnight of its effective_from day in the plan's schedule zone
(America/Chicago here), and a request is decided with the versions in effect
when it was *received*, whenever it is decided. GET /v1/customers/{id}?at=
shows the versions in force at a time and every term with the file and line it
comes from; the expected lines are found in the files by these tests, never
taken from the engine.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from supportpolicy.engine import NoPolicyInEffect, PolicySetInvalid, load_policy_set
from supportpolicy.engine.resources import shipped
from supportpolicy.server import create_app

from support import DESIGNATED, OTHER, make_request

CHICAGO_MIDNIGHT = "2027-01-01"  # every version change below takes effect then
# Both sides of local midnight in Chicago (UTC-6 in winter), with the version expected.
BOUNDARY = [
    ("2026-12-31T23:59:59-06:00", "old"),  # the last second of the old version
    ("2027-01-01T00:00:00-06:00", "new"),  # its first instant
    ("2027-01-01T05:59:59Z", "old"),       # the same instants, given in UTC
    ("2027-01-01T06:00:00Z", "new"),
]
NEW_CONTACT = "night.operator@demo-city.gov"
NEW_RATE = {"amount": "275.00", "currency": "USD"}
PLAN_RATE = {"amount": "200.00", "currency": "USD"}
CUSTOMERS = "policies/customers"
OLD_CUSTOMER = f"{CUSTOMERS}/demo-city/2026.1.yaml"
NEW_CUSTOMER = f"{CUSTOMERS}/demo-city/2027.1.yaml"
OLD_PLAN = "policies/plans/central-standard/2026.1.yaml"
NEW_PLAN = "policies/plans/central-standard/2027.1.yaml"
TERMS = ("schedule", "channels", "response_targets", "categories", "emergency_support", "after_hours",
         "included_services")

CONTACTS = """designated_contacts:
  - name: IT Director
    role: IT Director
    email: it.director@demo-city.gov
  - name: Webmaster
    role: Webmaster
    email: webmaster@demo-city.gov
"""
# The rate is written as a block, so the override's line (rate:) is not its value's line.
RATE_OVERRIDE = """overrides:
  after_hours:
    rate:
      amount: "275.00"
      currency: USD
"""


@pytest.fixture()
def tree(tmp_path):
    """A writable copy of the shipped policies and rules."""
    shutil.copytree(shipped("policies"), tmp_path / "policies")
    shutil.copytree(shipped("rules"), tmp_path / "rules")
    return tmp_path


@pytest.fixture()
def versioned(tree):
    """demo-city in two versions: 2027.1 (from 2027-01-01) adds a designated contact and its own after-hours rate."""
    split_customer(tree)
    add_customer_version(tree, "2027.1", CHICAGO_MIDNIGHT, extra_contacts=[NEW_CONTACT], overrides=RATE_OVERRIDE)
    return tree


def load(tree):
    return load_policy_set(tree / "policies", tree / "rules")


def client_for(policy_set):
    return create_app({"POLICY_SET": policy_set, "TESTING": True}).test_client()


def split_customer(tree) -> Path:
    """Move demo-city.yaml to demo-city/2026.1.yaml, where its next versions go too."""
    folder = tree / CUSTOMERS / "demo-city"
    folder.mkdir()
    old = tree / CUSTOMERS / "demo-city.yaml"
    text = old.read_text().replace("$schema=../../schemas/", "$schema=../../../schemas/")
    old.unlink()
    (folder / "2026.1.yaml").write_text(text)
    return folder / "2026.1.yaml"


def add_customer_version(tree, version, effective_from, extra_contacts=(), overrides="",
                         plan_version="current") -> Path:
    contacts = CONTACTS + "".join(f"  - name: Added\n    email: {email}\n" for email in extra_contacts)
    plan = plan_version if plan_version == "current" else f'"{plan_version}"'
    text = (f"# yaml-language-server: $schema=../../../schemas/customer.schema.json\n"
            f"customer: demo-city\nname: City of Demo\nversion: \"{version}\"\n"
            f"# Takes effect at local midnight in the plan's schedule zone (America/Chicago).\n"
            f"effective_from: {effective_from}\nplan:\n  id: central-standard\n  version: {plan}\n"
            f"{contacts}{overrides}")
    path = tree / CUSTOMERS / "demo-city" / f"{version}.yaml"
    path.write_text(text)
    return path


def add_plan_version(tree, version, effective_from, rate) -> Path:
    """A copy of the plan with another version, date and rate, and three more comment lines at
    the top, so that each of its terms is on another line than in 2026.1."""
    plans = tree / "policies" / "plans" / "central-standard"
    text = (plans / "2026.1.yaml").read_text()
    modeline, rest = text.split("\n", 1)
    text = modeline + f"\n# Revision {version}.\n#\n# The after-hours rate changes.\n" + rest
    text = text.replace('version: "2026.1"', f'version: "{version}"')
    text = text.replace("effective_from: 2026-01-01", f"effective_from: {effective_from}")
    assert 'amount: "200.00"' in text
    text = text.replace('amount: "200.00"', f'amount: "{rate}"')
    (plans / f"{version}.yaml").write_text(text)
    return plans / f"{version}.yaml"


def add_billing_version(tree, version, effective_from) -> Path:
    billing = (tree / "rules" / "billing.yaml").read_text()
    assert "id: after-hours-work-is-charged\n" in billing
    newer = billing.replace('version: "2026.1"', f'version: "{version}"').replace(
        "effective_from: 2026-01-01", f"effective_from: {effective_from}").replace(
        "id: after-hours-work-is-charged\n", f"id: after-hours-work-is-charged-{version.replace('.', '-')}\n")
    path = tree / "rules" / f"billing-{version}.yaml"
    path.write_text(newer)
    return path


def after_hours(policy_set, received_at, email=DESIGNATED) -> dict:
    """A usage question by e-mail (never an emergency); every BOUNDARY instant is outside support hours."""
    return policy_set.decide(make_request(received_at, "email", "usage_question", email)).as_json()


def files_of(decision, kind) -> list[tuple]:
    return [(f["path"], f["version"]) for f in decision["policy"]["files"] if f["kind"] == kind]


def line_of(path: Path, *keys) -> int:
    """The 1-based line where the block-style YAML key path ``keys`` is written in ``path``.

    Each key is looked for below the previous one, indented further, and never
    past the end of the previous key's block.
    """
    lines = path.read_text().splitlines()
    start, indent, found = 0, -1, None
    for key in keys:
        for number in range(start, len(lines)):
            text = lines[number]
            stripped = text.lstrip(" ")
            if not stripped or stripped.startswith("#"):
                continue
            here = len(text) - len(stripped)
            if here <= indent:
                break
            if stripped.startswith(f"{key}:") or stripped.startswith(f"- {key}:"):
                start, indent, found = number + 1, here, number + 1
                break
        else:
            raise AssertionError(f"{'.'.join(keys)} is not in {path}")
        if found != start:
            raise AssertionError(f"{'.'.join(keys)} is not in {path}")
    return found


def lookup(data, keys):
    """(True, value) when the nested mapping ``data`` holds the key path, else (False, None)."""
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return False, None
        data = data[key]
    return True, data


def leaves(data, path=()):
    """Every key path to a value that is not a non-empty mapping."""
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from leaves(value, path + (key,))
    elif path:
        yield path


class _TextDates(yaml.SafeLoader):
    """PyYAML's safe loader, keeping dates as written (the API shows them as text)."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def read_yaml(path: Path):
    return yaml.load(path.read_text(), Loader=_TextDates)


def check_terms(document, tree, customer_file: str, plan_file: str):
    """Every term shown comes from the right file at the right line, with the right value; none is missing."""
    customer_path, plan_path = tree / customer_file, tree / plan_file
    overrides = read_yaml(customer_path).get("overrides", {})
    plan = read_yaml(plan_path)
    shown = {}
    for term in document["terms"]:
        keys = tuple(term["term"].split("."))
        assert keys not in shown, f"{term['term']} is shown twice"
        shown[keys] = term
        overridden, value = lookup(overrides, keys)
        if overridden:
            expected = {"file": customer_file, "line": line_of(customer_path, "overrides", *keys)}
        else:
            present, value = lookup(plan, keys)
            assert present, f"{term['term']} is neither in {plan_file} nor overridden"
            expected = {"file": plan_file, "line": line_of(plan_path, *keys)}
        assert (term["term"], term["from"], term["value"]) == (term["term"], expected, value)
    # Every value the plan defines, and every override, is shown under exactly one term.
    for source in ({name: plan[name] for name in TERMS}, overrides):
        for leaf in leaves(source):
            covering = [keys for keys in shown if leaf[:len(keys)] == keys]
            assert len(covering) == 1, f"{'.'.join(leaf)} is shown under {covering}"
    return {".".join(keys): term for keys, term in shown.items()}


# -- a customer with two versions ------------------------------------------------------------------

@pytest.mark.parametrize("received_at,side", BOUNDARY)
def test_a_request_is_decided_with_the_customer_version_in_effect_when_received(versioned, received_at, side):
    policy_set = load(versioned)
    new = side == "new"
    contact = after_hours(policy_set, received_at, NEW_CONTACT)
    assert contact["designated_contact"] is new
    assert contact["billable"] is new  # after hours only a designated contact's request is worked on, and billed
    assert contact["hourly_rate"] == (NEW_RATE if new else None)
    director = after_hours(policy_set, received_at, DESIGNATED)
    assert director["designated_contact"] is True and director["billable"] is True
    assert director["hourly_rate"] == (NEW_RATE if new else PLAN_RATE)
    for decision in (contact, director):
        assert files_of(decision, "customer") == [(NEW_CUSTOMER, "2027.1") if new else (OLD_CUSTOMER, "2026.1")]
        assert files_of(decision, "plan") == [(OLD_PLAN, "2026.1")]
        assert decision["policy"]["version"] == "2026.1"  # the plan's version: it did not change


def test_each_customer_version_has_its_own_policy_digest(versioned):
    policy_set = load(versioned)
    before, after = (after_hours(policy_set, t) for t, _ in BOUNDARY[:2])
    assert before["policy"]["digest"] != after["policy"]["digest"]
    assert after_hours(policy_set, BOUNDARY[3][0])["policy"] == after["policy"]
    assert after_hours(policy_set, BOUNDARY[2][0])["policy"] == before["policy"]


def test_a_request_received_before_a_change_but_decided_after_it_uses_the_old_version(tree):
    """The change took effect in the past, so "now" (when the decision is asked for) is after both versions."""
    split_customer(tree)
    add_customer_version(tree, "2026.2", "2026-06-01", extra_contacts=[NEW_CONTACT], overrides=RATE_OVERRIDE)
    change = datetime(2026, 6, 1, 5, tzinfo=timezone.utc)  # local midnight in Chicago (UTC-5 in summer)
    assert datetime.now(timezone.utc) > change
    client = client_for(load(tree))
    # Saturday night, 30 and 31 May 2026: the minute before and at the change, local time.
    for received_at, expected in (("2026-05-31T23:59:00-05:00", (OLD_CUSTOMER, "2026.1")),
                                  ("2026-06-01T00:00:00-05:00", (f"{CUSTOMERS}/demo-city/2026.2.yaml", "2026.2"))):
        response = client.post("/v1/decisions", json=make_request(received_at, "email", "usage_question", NEW_CONTACT))
        assert response.status_code == 200, response.get_data(as_text=True)
        decision = response.get_json()
        assert files_of(decision, "customer") == [expected]
        assert decision["designated_contact"] is (expected[1] == "2026.2")
        assert decision["hourly_rate"] == (NEW_RATE if expected[1] == "2026.2" else None)
    # What is in force now is the new version: the old request was decided after the change.
    now = client.get("/v1/customers/demo-city")
    assert now.status_code == 200, now.get_data(as_text=True)
    assert now.get_json()["contract"]["version"] == "2026.2"


def test_versions_are_chosen_by_received_at_not_by_the_order_requests_arrive_in(versioned):
    policy_set = load(versioned)
    for received_at, side in BOUNDARY[::-1] + BOUNDARY:
        expected = (NEW_CUSTOMER, "2027.1") if side == "new" else (OLD_CUSTOMER, "2026.1")
        assert files_of(after_hours(policy_set, received_at), "customer") == [expected]


# -- plan and rule set versions across the same boundary --------------------------------------------

@pytest.mark.parametrize("received_at,side", BOUNDARY)
def test_a_plan_version_takes_over_at_local_midnight(tree, received_at, side):
    add_plan_version(tree, "2027.1", CHICAGO_MIDNIGHT, "250.00")
    decision = after_hours(load(tree), received_at)
    version, path, rate = ("2027.1", NEW_PLAN, "250.00") if side == "new" else ("2026.1", OLD_PLAN, "200.00")
    assert decision["policy"]["version"] == version
    assert files_of(decision, "plan") == [(path, version)]
    assert decision["hourly_rate"] == {"amount": rate, "currency": "USD"}
    assert files_of(decision, "customer") == [(f"{CUSTOMERS}/demo-city.yaml", "2026.1")]


@pytest.mark.parametrize("received_at,side", BOUNDARY)
def test_a_rule_set_version_takes_over_at_local_midnight(tree, received_at, side):
    newer = add_billing_version(tree, "2027.1", CHICAGO_MIDNIGHT)
    decision = after_hours(load(tree), received_at)
    billing = [path for path, _ in files_of(decision, "ruleset") if "billing" in path]
    rules = [t for t in decision["trace"] if t["rule"].startswith("billing/")]
    if side == "new":
        assert billing == ["rules/billing-2027.1.yaml"]
        line = newer.read_text().splitlines().index("  - id: after-hours-work-is-charged-2027-1") + 1
        assert rules == [{"rule": "billing/after-hours-work-is-charged-2027-1", "file": "rules/billing-2027.1.yaml",
                          "line": line}]
    else:
        assert billing == ["rules/billing.yaml"]
        assert [r["rule"] for r in rules] == ["billing/after-hours-work-is-charged"]
        assert rules[0]["file"] == "rules/billing.yaml"
    assert decision["hourly_rate"] == PLAN_RATE  # the rules changed their names, not what they decide


@pytest.mark.parametrize("received_at,side", BOUNDARY)
def test_customer_plan_and_rules_change_together_at_the_same_midnight(versioned, received_at, side):
    add_plan_version(versioned, "2027.1", CHICAGO_MIDNIGHT, "250.00")
    add_billing_version(versioned, "2027.1", CHICAGO_MIDNIGHT)
    decision = after_hours(load(versioned), received_at, NEW_CONTACT)
    if side == "new":
        assert files_of(decision, "customer") == [(NEW_CUSTOMER, "2027.1")]
        assert files_of(decision, "plan") == [(NEW_PLAN, "2027.1")]
        assert "rules/billing-2027.1.yaml" in [p for p, _ in files_of(decision, "ruleset")]
        assert decision["hourly_rate"] == NEW_RATE  # the customer's override wins over the new plan's rate
    else:
        assert files_of(decision, "customer") == [(OLD_CUSTOMER, "2026.1")]
        assert files_of(decision, "plan") == [(OLD_PLAN, "2026.1")]
        assert "rules/billing.yaml" in [p for p, _ in files_of(decision, "ruleset")]
        assert decision["designated_contact"] is False and decision["hourly_rate"] is None


@pytest.mark.parametrize("received_at,side", BOUNDARY)
def test_a_customer_pinned_to_a_plan_version_keeps_it(tree, received_at, side):
    add_plan_version(tree, "2027.1", CHICAGO_MIDNIGHT, "250.00")
    customer = tree / CUSTOMERS / "demo-city.yaml"
    customer.write_text(customer.read_text().replace("version: current", 'version: "2026.1"'))
    decision = after_hours(load(tree), received_at)
    assert decision["policy"]["version"] == "2026.1"
    assert files_of(decision, "plan") == [(OLD_PLAN, "2026.1")]
    assert decision["hourly_rate"] == PLAN_RATE


@pytest.mark.parametrize("received_at,side", BOUNDARY)
def test_a_new_customer_version_pinned_to_the_old_plan_keeps_it_after_the_plan_changes(tree, received_at, side):
    add_plan_version(tree, "2027.1", CHICAGO_MIDNIGHT, "250.00")
    split_customer(tree)
    add_customer_version(tree, "2027.1", CHICAGO_MIDNIGHT, extra_contacts=[NEW_CONTACT], plan_version="2026.1")
    policy_set = load(tree)
    decision = after_hours(policy_set, received_at, NEW_CONTACT)
    assert files_of(decision, "plan") == [(OLD_PLAN, "2026.1")]
    assert decision["hourly_rate"] == (PLAN_RATE if side == "new" else None)
    client = client_for(policy_set)
    shown = client.get("/v1/customers/demo-city", query_string={"at": received_at}).get_json()
    assert (shown["contract"]["version"], shown["plan"]["version"]) == ("2027.1" if side == "new" else "2026.1",
                                                                       "2026.1")


# -- overrides that name no term of the plan ---------------------------------------------------------

@pytest.mark.parametrize("overrides,keys", [
    ("overrides:\n  after_hours:\n    discount: 10\n", ("after_hours", "discount")),
    ("overrides:\n  channels:\n    fax:\n      response_target: {business_hours: 8}\n", ("channels", "fax")),
    ("overrides:\n  categories:\n    usage_question:\n      priority: low\n",
     ("categories", "usage_question", "priority")),
])
def test_an_override_of_a_term_the_plan_does_not_define_is_refused_at_its_line(tree, overrides, keys):
    add_plan_version(tree, "2027.1", CHICAGO_MIDNIGHT, "250.00")  # checked against both plan versions: one error
    split_customer(tree)
    path = add_customer_version(tree, "2027.1", CHICAGO_MIDNIGHT, overrides=overrides)
    with pytest.raises(PolicySetInvalid) as caught:
        load(tree)
    (error,) = caught.value.policy_errors
    assert (error.file, error.line, error.code) == (NEW_CUSTOMER, line_of(path, "overrides", *keys), "unknown_term")
    assert ".".join(keys) in error.message


# -- GET /v1/customers/{id}?at= ------------------------------------------------------------------------

@pytest.mark.parametrize("new_plan", [False, True], ids=["same-plan", "plan-changes-too"])
@pytest.mark.parametrize("at,side", BOUNDARY)
def test_terms_in_force_show_the_versions_and_where_each_term_comes_from(versioned, new_plan, at, side):
    if new_plan:
        add_plan_version(versioned, "2027.1", CHICAGO_MIDNIGHT, "250.00")
    client = client_for(load(versioned))
    response = client.get("/v1/customers/demo-city", query_string={"at": at})
    assert response.status_code == 200, response.get_data(as_text=True)
    document = response.get_json()
    new = side == "new"
    customer_file = NEW_CUSTOMER if new else OLD_CUSTOMER
    plan_file = NEW_PLAN if new and new_plan else OLD_PLAN
    assert document["customer"] == "demo-city" and document["name"] == "City of Demo"
    assert datetime.fromisoformat(document["at"]) == datetime.fromisoformat(at.replace("Z", "+00:00"))
    assert document["contract"] == {"path": customer_file, "kind": "customer", "id": "demo-city",
                                    "version": "2027.1" if new else "2026.1",
                                    "effective_from": CHICAGO_MIDNIGHT if new else "2026-01-01"}
    assert document["plan"] == {"path": plan_file, "kind": "plan", "id": "central-standard",
                                "version": "2027.1" if new and new_plan else "2026.1",
                                "effective_from": CHICAGO_MIDNIGHT if new and new_plan else "2026-01-01"}
    contacts = ["it.director@demo-city.gov", "webmaster@demo-city.gov"]
    assert document["designated_contacts"] == sorted(contacts + ([NEW_CONTACT] if new else []))
    terms = check_terms(document, versioned, customer_file, plan_file)
    rate = terms["after_hours.rate"]
    if new:
        assert rate["value"] == NEW_RATE
        assert rate["from"] == {"file": NEW_CUSTOMER, "line": line_of(versioned / NEW_CUSTOMER,
                                                                     "overrides", "after_hours", "rate")}
    else:
        assert rate["value"] == PLAN_RATE and rate["from"]["file"] == OLD_PLAN
    notice = terms["after_hours.notice_required"]
    assert notice == {"term": "after_hours.notice_required", "value": True,
                      "from": {"file": plan_file, "line": line_of(versioned / plan_file, "after_hours",
                                                                  "notice_required")}}
    assert terms["schedule.time_zone"]["value"] == "America/Chicago"
    # What GET shows is what a decision at that instant uses.
    decision = client.post("/v1/decisions", json=make_request(at, "email", "usage_question", DESIGNATED)).get_json()
    assert decision["hourly_rate"] == rate["value"]
    assert files_of(decision, "customer") == [(customer_file, document["contract"]["version"])]


def test_overrides_at_several_depths_are_shown_from_the_customer_file(tree):
    split_customer(tree)
    overrides = """overrides:
  schedule:
    holidays:
      observed: false
      add:
        - {date: 2027-03-04, name: Founders Day}
  channels:
    email:
      response_target: {business_hours: 2}
  categories:
    suggestion:
      escalation: {team: customer_care, via: null}
  emergency_support:
    response_target:
      calendar_hours: 2
"""
    add_customer_version(tree, "2027.1", CHICAGO_MIDNIGHT, overrides=overrides)
    client = client_for(load(tree))
    document = client.get("/v1/customers/demo-city", query_string={"at": "2027-02-01T12:00:00-06:00"}).get_json()
    terms = check_terms(document, tree, NEW_CUSTOMER, OLD_PLAN)
    for name in ("schedule.holidays.observed", "schedule.holidays.add", "channels.email.response_target",
                 "categories.suggestion.escalation", "emergency_support.response_target"):
        assert terms[name]["from"]["file"] == NEW_CUSTOMER, name
    for name in ("schedule.holidays.country", "channels.email.description", "channels.phone.response_target",
                 "categories.suggestion.emergency", "emergency_support.available_to"):
        assert terms[name]["from"]["file"] == OLD_PLAN, name


def test_an_override_to_null_is_shown_as_the_customers_value(tree):
    """A customer without public holidays (country: null): decided without them, and shown so."""
    split_customer(tree)
    add_customer_version(tree, "2026.2", "2026-02-01", overrides="overrides:\n  schedule:\n    holidays:\n"
                                                                 "      country: null\n")
    policy_set = load(tree)
    thanksgiving = "2026-11-26T10:00:00-06:00"
    decision = after_hours(policy_set, thanksgiving)
    assert decision["holiday"] is None and decision["in_business_hours"] is True  # the override is in force
    document = client_for(policy_set).get("/v1/customers/demo-city", query_string={"at": thanksgiving}).get_json()
    country = next(t for t in document["terms"] if t["term"] == "schedule.holidays.country")
    path = tree / CUSTOMERS / "demo-city" / "2026.2.yaml"
    assert country == {"term": "schedule.holidays.country", "value": None,
                       "from": {"file": f"{CUSTOMERS}/demo-city/2026.2.yaml",
                                "line": line_of(path, "overrides", "schedule", "holidays", "country")}}


def test_at_without_an_offset_is_refused_naming_the_parameter(versioned):
    client = client_for(load(versioned))
    for at in ("2027-01-01T00:00:00", "2027-01-01", "tomorrow"):
        response = client.get("/v1/customers/demo-city", query_string={"at": at})
        assert response.status_code == 422, at
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["type"] == "/problems/invalid-request" and problem["status"] == 422
        assert [e.get("parameter") for e in problem["errors"]] == ["at"]
        assert "at" in problem["detail"]


def test_an_unknown_customer_is_a_404_problem(versioned):
    client = client_for(load(versioned))
    for path in ("/v1/customers/no-such-city", "/v1/customers/no-such-city?at=2027-01-01T00:00:00-06:00"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["type"] == "/problems/unknown-customer" and problem["status"] == 404
        assert "no-such-city" in problem["detail"]


def test_a_time_before_the_contract_is_a_422_problem(versioned):
    client = client_for(load(versioned))
    response = client.get("/v1/customers/demo-city", query_string={"at": "2025-12-31T23:59:59-06:00"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "/problems/no-policy-in-effect"
    assert "2026-01-01" in problem["detail"]
    # The first instant of the first version is in force.
    first = client.get("/v1/customers/demo-city", query_string={"at": "2026-01-01T06:00:00Z"})
    assert first.status_code == 200 and first.get_json()["contract"]["version"] == "2026.1"


@pytest.mark.parametrize("at", ["2150-12-25T10:00:00-06:00", "2101-01-01T06:00:00Z"])
def test_a_time_the_holiday_calendar_does_not_know_is_a_422_naming_at(client, at):
    # 2101-01-01 06:00 UTC is 2101's first instant in Chicago, a year the US calendar (to 2100) does not know.
    response = client.get("/v1/customers/demo-city", query_string={"at": at})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "/problems/invalid-request" and "at" in problem["detail"]
    assert problem["errors"] == [{"parameter": "at", "detail": "is outside the years the contract's holiday "
                                                               "calendar knows (US: 1777 to 2100)"}]
    last = client.get("/v1/customers/demo-city", query_string={"at": "2101-01-01T05:59:59Z"})
    assert last.status_code == 200


def test_a_request_before_the_first_customer_version_is_refused(versioned):
    with pytest.raises(NoPolicyInEffect):
        after_hours(load(versioned), "2026-01-01T05:59:59Z")


# -- many customers ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_thousand_generated_customers_load_and_each_is_decided_with_its_own_terms(tree):
    """Customers of every kind: with and without a rate override, one in ten with a second version."""
    folder = tree / CUSTOMERS
    shipped = set(load(tree).customers)
    expected = {}
    for n in range(1000):
        cid = f"town-{n:04d}"
        contact = f"lead.{n}@{cid}.gov"
        rate = f"{150 + n % 100}.{n % 100:02d}" if n % 3 == 0 else "200.00"
        override = (f'overrides:\n  after_hours:\n    rate: {{amount: "{rate}", currency: USD}}\n'
                    if n % 3 == 0 else "")
        text = (f"# yaml-language-server: $schema=../../schemas/customer.schema.json\n"
                f"customer: {cid}\nversion: \"2026.1\"\neffective_from: 2026-01-01\n"
                f"plan:\n  id: central-standard\n"
                f"designated_contacts:\n  - email: {contact}\n{override}")
        (folder / f"{cid}.yaml").write_text(text)
        expected[cid] = [("2026-12-31T23:59:59-06:00", contact, rate, f"{CUSTOMERS}/{cid}.yaml")]
        if n % 10 == 0:
            newer_rate = f"{300 + n % 100}.00"
            newer = (text.replace('version: "2026.1"', 'version: "2027.1"')
                     .replace("effective_from: 2026-01-01", f"effective_from: {CHICAGO_MIDNIGHT}")
                     .replace(override, "")
                     .replace(f"  - email: {contact}\n", f"  - email: new.{contact}\n")
                     + f'overrides:\n  after_hours:\n    rate: {{amount: "{newer_rate}", currency: USD}}\n')
            (folder / f"{cid}-2027.1.yaml").write_text(newer)
            expected[cid].append(("2027-01-01T00:00:00-06:00", f"new.{contact}", newer_rate,
                                  f"{CUSTOMERS}/{cid}-2027.1.yaml"))
    policy_set = load(tree)
    assert set(policy_set.customers) == shipped | set(expected)  # the shipped customers, and each of these
    wrong = []
    for cid, cases in expected.items():
        for received_at, contact, rate, path in cases:
            body = dict(make_request(received_at, "email", "usage_question", contact), customer=cid)
            decision = policy_set.decide(body).as_json()
            got = (decision["customer"], decision["designated_contact"], decision["hourly_rate"],
                   files_of(decision, "customer")[0][0])
            if got != (cid, True, {"amount": rate, "currency": "USD"}, path):
                wrong.append((cid, received_at, got))
            if len(cases) == 2 and received_at.startswith("2027"):
                # The old contact is no longer designated in the new version.
                old = policy_set.decide(dict(make_request(received_at, "email", "usage_question",
                                                          cases[0][1]), customer=cid)).as_json()
                if old["designated_contact"] or old["billable"]:
                    wrong.append((cid, received_at, "old contact still designated"))
        other = policy_set.decide(dict(make_request(cases[0][0], email=OTHER), customer=cid)).as_json()
        if other["designated_contact"] or other["billable"]:
            wrong.append((cid, "a resident is billed"))
    assert wrong == []


# -- problems of GET /v1/customers name what the caller sent --------------------------------------------

def test_a_time_before_the_contract_is_refused_naming_the_at_parameter(versioned):
    """GET has no body: the problem names the query parameter, not a decision request's /received_at."""
    client = client_for(load(versioned))
    problem = client.get("/v1/customers/demo-city", query_string={"at": "2025-12-31T23:59:59-06:00"}).get_json()
    assert [e.get("parameter") for e in problem["errors"]] == ["at"]
    assert "received_at" not in problem["detail"]


def test_an_unknown_customer_in_the_path_is_not_reported_as_a_body_field(versioned):
    problem = client_for(load(versioned)).get("/v1/customers/no-such-city").get_json()
    assert all("pointer" not in e for e in problem.get("errors", [])), problem["errors"]


# -- GET /v1/customers: which plan version each contract version is on ------------------------------

def test_the_customer_list_says_current_and_the_plan_version_in_effect_now(tree):
    # Plan versions around today's date, whatever it is: one long past, one in effect now, one far ahead.
    add_plan_version(tree, "2025.1", "2025-01-01", "180.00")
    add_plan_version(tree, "2099.1", "2099-01-01", "300.00")
    split_customer(tree)
    add_customer_version(tree, "2027.1", CHICAGO_MIDNIGHT, plan_version="2025.1")
    listed = client_for(load(tree)).get("/v1/customers").get_json()["customers"]
    (demo,) = [c for c in listed if c["id"] == "demo-city"]
    following, pinned = demo["versions"]
    assert following["version"] == "2026.1"
    assert following["plan"] == {"id": "central-standard", "version": "current", "pinned": False,
                                 "current_version": "2026.1"}
    assert pinned["version"] == "2027.1"
    assert pinned["plan"] == {"id": "central-standard", "version": "2025.1", "pinned": True,
                              "current_version": "2026.1"}
