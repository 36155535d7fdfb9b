"""The JSON Schemas: valid Draft 2020-12, documented, and the fast request check agrees with jsonschema."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from supportpolicy.engine.load.schemas import SCHEMA_NAMES, accepts, ecma_regex, schema, validator_for

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

    for name in ("common", "plan", "customer", "ruleset", "suite", "decision-request"):
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
