"""The JSON Schemas: valid Draft 2020-12, documented, and the fast request and policy checks agree with jsonschema."""
from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from supportpolicy.engine.load.schemas import (
    FAST_POLICY_KINDS,
    SCHEMA_NAMES,
    _accepts_policy,
    _accepts_sections,
    accepts,
    ecma_regex,
    schema,
    schema_errors,
    validator_for,
)
from supportpolicy.engine.load.yamlsource import Source, parse

from support import REPO

FIELDS = ["customer", "received_at", "channel", "requester", "category", "ticket_id", "summary", "extra"]
email_part = st.text(st.characters(max_codepoint=0xA0) | st.sampled_from("a\ufeff\u2028\u3000\u212a"),
                     min_size=1, max_size=4)
strings = st.one_of(
    st.sampled_from(["demo-city", "Demo-City", "", "x" * 65, "2026-11-27T10:00:00-06:00", "2026-11-27T10:00:00",
                     "2026-11-27t10:00:00z", "2026-11-27 10:00:00+05:30", "2026-11-27T10:00:00.1234567Z",
                     "a@b", "a @b", "@b", "phone", "website_down", "x" * 10_001, "x" * 10_000,
                     "demo-city\n", "a@b.c\n", "2026-11-27T10:00:00Z\n",
                     "a\x00@b", "a@b\x00", "a\x7f@b", "a@b\x7f", "a\x80@b", "a\x85@b", "a@b\x9f", "\x1b@b.c",
                     "a\x1f@b", "a\ufeff@b", "a\u2028@b", "a\xa0@b", "\u212aate@b.c"]),
    st.text(max_size=80),
    # E-mail-shaped text over control characters (C0, DEL, C1), spaces and letters.
    st.builds("{}@{}".format, email_part, email_part),
)
values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), strings),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(st.sampled_from(["email", "name", "x"]), inner,
                                                              max_size=3)),
                      max_leaves=6)
bodies = st.one_of(values, st.dictionaries(st.sampled_from(FIELDS), values, max_size=8))
valid = {"customer": "demo-city", "received_at": "2026-11-27T10:00:00-06:00", "channel": "phone",
         "requester": {"email": "a@b.c"}, "category": "website_down"}


def test_every_schema_is_valid_draft_2020_12():
    for name in SCHEMA_NAMES:
        Draft202012Validator.check_schema(schema(name))
        assert schema(name)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_property_of_the_policy_schemas_is_described():
    undocumented = []

    def walk(node, path):
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if isinstance(sub, dict) and "description" not in sub and "$ref" not in sub:
                    undocumented.append(f"{path}.{name}")
            for key, sub in node.items():
                walk(sub, f"{path}.{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{path}[{i}]")

    for name in ("common", "plan", "customer", "ruleset", "integration", "suite", "decision-request"):
        walk(schema(name), name)
    assert undocumented == []


@pytest.mark.slow
@settings(max_examples=1500, deadline=None)
@given(bodies)
def test_the_fast_request_check_agrees_with_jsonschema(body):
    assert accepts("decision-request")(body) == validator_for("decision-request").is_valid(body)


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), values, max_size=4))
def test_the_fast_check_agrees_on_near_valid_requests(changes):
    body = dict(valid, **changes)
    assert accepts("decision-request")(body) == validator_for("decision-request").is_valid(body)


CONTROL_CHARACTERS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]


@pytest.mark.parametrize("control", CONTROL_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_a_requester_email_with_a_control_character_is_refused_by_both_checks(control):
    for email in (f"a{control}b@c.d", f"ab@c{control}.d", f"{control}ab@c.d", f"ab@c.d{control}"):
        body = dict(valid, requester={"email": email})
        assert accepts("decision-request")(body) is False
        assert [list(e.absolute_path) for e in validator_for("decision-request").iter_errors(body)] == \
            [["requester", "email"]]
    assert accepts("decision-request")(dict(valid, requester={"email": "a\u00a1b@c.d"})) is True


def test_a_designated_contact_and_a_requester_have_one_form_of_address():
    contact = schema("customer")["properties"]["designated_contacts"]["items"]["properties"]["email"]
    requester = schema("decision-request")["properties"]["requester"]["properties"]["email"]
    assert contact["pattern"] == requester["pattern"]


def test_a_pattern_dollar_is_the_end_of_the_string_as_in_ecma_262():
    assert ecma_regex("^[a-z]+$").search("abc")
    assert not ecma_regex("^[a-z]+$").search("abc\n")
    assert ecma_regex("^a|b$").search("a\n")  # only the anchored branch is at the end
    # An escaped dollar, or one in a character class, is the character itself.
    assert ecma_regex(r"^\$[0-9]+$").search("$200")
    assert ecma_regex("^[$]+$").search("$$")
    assert not ecma_regex("^[$]+$").search("$$\n")


def test_a_policy_file_value_with_a_trailing_newline_is_refused():
    customer = {"customer": "demo-city", "name": "City of Demo", "version": "2026.1", "effective_from": "2026-01-01",
                "plan": {"id": "central-standard", "version": "current"},
                "designated_contacts": [{"name": "IT Director", "email": "it@demo-city.gov"}]}
    assert [e.message for e in validator_for("customer").iter_errors(customer)] == []
    customer["designated_contacts"][0]["email"] = "it@demo-city.gov\n"
    assert [list(e.absolute_path) for e in validator_for("customer").iter_errors(customer)] == \
        [["designated_contacts", 0, "email"]]


# ---- the fast policy check agrees with jsonschema ---------------------------------------------------------

def _shipped(path: str):
    source, errors = parse(path, (REPO / path).read_bytes())
    assert source is not None, errors
    return source.data


WITH_OVERRIDES = dict(_shipped("policies/customers/demo-city.yaml"), overrides={
    "schedule": {"holidays": {"add": [{"date": "2026-11-20", "name": "Founders Day"}]}},
    "after_hours": {"rate": {"amount": "150.00", "currency": "USD"}},
    "emergency_support": {"response_target": {"calendar_hours": 2}}})
# Whole valid documents of each kind the fast check takes, to be changed by the strategies below.
POLICY_DOCUMENTS = {
    "plan": [_shipped("policies/plans/central-standard/2026.1.yaml")],
    "customer": [_shipped("policies/customers/demo-city.yaml"), WITH_OVERRIDES],
    "suite": [_shipped(f"policies/tests/{p.name}") for p in sorted((REPO / "policies/tests").glob("*.yaml"))],
}
# Values a policy file can hold (YAML gives Decimal for a number with a fraction), near the edges the schemas draw.
policy_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 1002), st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.sampled_from(["", "x", "USD", "usd", "US", "2026-11-20", "2026-02-30", "2026-13-01", "26-11-20", "07:00",
                     "24:00", "24:01", "7:00", "a@b", "a @b", "current", "2026.1", "designated_contacts",
                     "any_requester", "central-standard", "Central", "x" * 65, "x" * 2001, "demo-city\n",
                     "America/Chicago", "150.00", "150.123456", "-1", "monday", "Monday", "phone", "issue_tracker"]),
    st.text(max_size=8))
policy_values = st.recursive(policy_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["amount", "currency", "date", "name", "email", "from", "to", "team", "via",
                                     "business_hours", "calendar_hours", "immediately", "x"]), inner, max_size=3)),
    max_leaves=5)


def _places(value, path=()):
    """Every place in a document: the path to each mapping value and list item."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _places(item, path + (i,))


def _changed(document, data, depth: int = 1) -> object:
    """The document with one to three places (``depth`` levels down or deeper) replaced, removed, or given an
    extra key or item."""
    document = copy.deepcopy(document)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(_places(document))))
        if len(path) < depth:
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        action = data.draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = data.draw(policy_values)
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["x", "name", "description", "version", "tuesday"]))] = \
                data.draw(policy_values)
        else:
            parent.append(data.draw(policy_values))
    return document


def test_the_fast_policy_check_is_used_for_the_kinds_read_by_the_thousand():
    assert {kind for kind in ("plan", "customer", "suite", "ruleset") if _accepts_policy(kind)} == \
        set(FAST_POLICY_KINDS) == {"plan", "customer", "suite"}
    for kind, documents in POLICY_DOCUMENTS.items():
        for document in documents:
            assert _accepts_policy(kind)(document) and validator_for(kind).is_valid(document)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(POLICY_DOCUMENTS))
@settings(max_examples=600, deadline=None)
@given(data=st.data())
def test_the_fast_policy_check_agrees_with_jsonschema(kind, data):
    document = _changed(data.draw(st.sampled_from(POLICY_DOCUMENTS[kind])), data)
    assert _accepts_policy(kind)(document) == validator_for(kind).is_valid(document)


@pytest.mark.slow
@settings(max_examples=600, deadline=None)
@given(data=st.data())
def test_checking_only_the_sections_a_customer_overrides_agrees_with_checking_the_merged_plan(data):
    """A customer's overrides change sections of a valid plan, never its top level: checking those sections
    alone must say what checking the whole merged plan says."""
    plan = POLICY_DOCUMENTS["plan"][0]
    merged = _changed(plan, data, depth=2)
    changed = [key for key in plan if merged.get(key) != plan[key]]
    assert set(merged) == set(plan)
    assert _accepts_sections("plan")({key: merged[key] for key in changed}) == validator_for("plan").is_valid(merged)


def test_a_document_the_fast_check_refuses_gets_every_error_from_jsonschema():
    source, _ = parse("customer.yaml", (REPO / "policies/customers/demo-city.yaml").read_bytes())
    changed = copy.deepcopy(source.data)
    changed["designated_contacts"][1]["email"] = "webmaster at demo-city"
    changed["plan"]["version"] = True
    broken = Source(source.path, changed, source.positions, source.text)
    assert not _accepts_policy("customer")(changed)
    assert sorted((e.code, e.json_path) for e in schema_errors(broken, "customer")) == \
        [("invalid_format", "$.designated_contacts[1].email"), ("wrong_type", "$.plan.version")]
