"""Integrations: the mapping files checked like every policy file, and payloads mapped to decision requests."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from supportpolicy.engine import PolicySetInvalid, load_policy_set
from supportpolicy.engine.decide.payloads import MISSING, UnmappablePayload, decide_payload, map_payload, resolve
from supportpolicy.engine.errors import InvalidRequest, UnknownCustomer
from supportpolicy.engine.resources import shipped

from webhook_calls import NOW, payload

ZENDESK = "policies/integrations/zendesk.yaml"
JIRA = "policies/integrations/jira.yaml"


def mapped(policy_set, system: str, body) -> dict:
    return map_payload(policy_set.integration(system, NOW), body).body


def test_the_shipped_zendesk_mapping_makes_the_trigger_body_a_decision_request(policy_set):
    assert mapped(policy_set, "zendesk", payload("zendesk-ticket-created.json")) == {
        "customer": "demo-city", "received_at": "2026-11-29T05:00:00Z", "channel": "phone",
        "category": "website_down", "requester": {"email": "it.director@demo-city.gov", "name": "IT Director"},
        "ticket_id": "35436", "summary": "Our website is down"}


def test_the_shipped_jira_mapping_reads_the_automation_format_issue(policy_set):
    assert mapped(policy_set, "jira", payload("jira-issue-automation-format.json")) == {
        "customer": "demo-city", "received_at": "2026-11-28T23:00:00.000-06:00", "channel": "portal",
        "category": "usage_question", "requester": {"email": "it.director@demo-city.gov", "name": "IT Director"},
        "ticket_id": "SP-53", "summary": "How do I add a page to the events calendar?",
        "attributes": {"severity": 3}}


def test_a_payload_is_decided_as_the_request_it_maps_to(policy_set):
    body, decision = decide_payload(policy_set, "zendesk", payload("zendesk-ticket-created.json"), NOW)
    direct = policy_set.decide(body).as_json()
    document = decision.as_json()
    assert {k: v for k, v in document.items() if k != "decision_id"} == \
        {k: v for k, v in direct.items() if k != "decision_id"}
    # Saturday night, the website down, from a designated contact: the 24/7 emergency service, within the hour.
    assert document["emergency_support"] is True and document["route"] == {"team": "emergency_on_call"}
    assert document["respond_by"] == "2026-11-29T00:00:00-06:00"


def test_an_attribute_goes_only_to_customers_whose_plan_declares_it(policy_set):
    issue = payload("jira-issue-automation-format.json")
    body, _ = decide_payload(policy_set, "jira", issue, NOW)
    assert "attributes" not in body  # demo-city's plan declares none
    issue["fields"]["customfield_10002"][0]["name"] = "Harbor County"
    issue["fields"]["customfield_10010"]["requestType"]["name"] = "Report a system problem"
    issue["fields"]["priority"]["name"] = "Highest"
    issue["fields"]["reporter"]["emailAddress"] = "cio@harbor-county.gov"
    body, decision = decide_payload(policy_set, "jira", issue, NOW)
    assert body["attributes"] == {"severity": 1} and body["category"] == "outage"
    assert decision.facts.attributes["severity"] == 1


def test_words_are_compared_without_case_and_surrounding_spaces(policy_set):
    ticket = payload("zendesk-ticket-created.json")
    ticket["ticket"]["via"] = "  phone CALL (Incoming) "
    assert mapped(policy_set, "zendesk", ticket)["channel"] == "phone"


@pytest.mark.parametrize("written,sent", [
    ("2013-12-12T05:35Z", "2013-12-12T05:35:00Z"),  # Zendesk's {{ticket.created_at_with_timestamp}}
    ("2022-02-18T15:20:11.662+0530", "2022-02-18T15:20:11.662+05:30"),  # Jira's
    ("2026-11-27T09:30:00-06:00", "2026-11-27T09:30:00-06:00"),
    ("2026-11-27 09:30:00,5+01", "2026-11-27T09:30:00.5+01:00"),
    ("2026-11-27t15:30z", "2026-11-27T15:30:00Z"),
])
def test_received_at_is_read_as_ticketing_systems_write_it_and_sent_on_as_rfc_3339(policy_set, written, sent):
    ticket = payload("zendesk-ticket-created.json")
    ticket["ticket"]["created_at"] = written
    assert mapped(policy_set, "zendesk", ticket)["received_at"] == sent


def refused(policy_set, system: str, body) -> list[tuple[str, str]]:
    with pytest.raises(UnmappablePayload) as caught:
        map_payload(policy_set.integration(system, NOW), body)
    assert caught.value.status == 422
    return [(e.pointer, e.message) for e in caught.value.errors]


@pytest.mark.parametrize("created_at", ["2026-11-29T05:00", "November 29, 2026 05:00", "2026-11-29", "1796014800"])
def test_a_time_without_an_offset_or_not_iso_8601_is_refused_naming_the_payload_field(policy_set, created_at):
    ticket = payload("zendesk-ticket-created.json")
    ticket["ticket"]["created_at"] = created_at
    ((pointer, message),) = refused(policy_set, "zendesk", ticket)
    assert pointer == "/ticket/created_at" and "not a date-time with an offset" in message


def test_every_field_the_mapping_cannot_read_is_named_at_once(policy_set):
    ticket = payload("zendesk-ticket-created.json")
    ticket["ticket"]["requester"]["email"] = ""  # a placeholder Zendesk rendered empty
    del ticket["ticket"]["organization"]
    ticket["ticket"]["via"] = "Fax"
    ticket["ticket"]["id"] = {"number": 1}
    errors = dict(refused(policy_set, "zendesk", ticket))
    assert sorted(errors) == ["/ticket/id", "/ticket/organization/external_id", "/ticket/requester/email",
                              "/ticket/via"]
    assert errors["/ticket/requester/email"].startswith(f"is missing or empty; the mapping ({ZENDESK}:")
    assert "requester.email" in errors["/ticket/requester/email"]
    assert errors["/ticket/via"].startswith("'Fax' is not a word the mapping") and "'web form'" in errors["/ticket/via"]
    assert errors["/ticket/id"].startswith("is an object")


def test_a_default_stands_in_for_a_missing_field_and_otherwise_for_an_unknown_word(policy_set):
    ticket = payload("zendesk-ticket-created.json")
    ticket["ticket"]["category"] = ""
    assert mapped(policy_set, "zendesk", ticket)["category"] == "other"  # default
    issue = payload("jira-issue-automation-format.json")
    issue["fields"]["customfield_10010"]["requestType"]["name"] = "Something new"
    assert mapped(policy_set, "jira", issue)["category"] == "other"  # otherwise


def test_optional_fields_the_payload_leaves_out_are_left_out(policy_set):
    ticket = payload("zendesk-ticket-created.json")
    del ticket["ticket"]["title"], ticket["ticket"]["requester"]["name"]
    ticket["ticket"]["id"] = None
    body = mapped(policy_set, "zendesk", ticket)
    assert "summary" not in body and "ticket_id" not in body and body["requester"] == {
        "email": "it.director@demo-city.gov"}


def test_what_the_decision_request_refuses_is_named_in_the_payload(policy_set):
    issue = payload("jira-issue-automation-format.json")
    issue["fields"]["customfield_10010"]["requestType"]["name"] = "Report a system problem"  # premium's outage
    with pytest.raises(InvalidRequest) as caught:
        decide_payload(policy_set, "jira", issue, NOW)
    ((error),) = caught.value.errors
    assert error.pointer == "/fields/customfield_10010/requestType/name"
    assert "is not a category of demo-city's contract" in error.message and f"mapped at {JIRA}:" in error.message
    ticket = payload("zendesk-ticket-created.json")
    ticket["ticket"]["organization"]["external_id"] = "nowhere"
    with pytest.raises(UnknownCustomer) as unknown:
        decide_payload(policy_set, "zendesk", ticket, NOW)
    assert [e.pointer for e in unknown.value.errors] == ["/ticket/organization/external_id"]
    ticket = payload("zendesk-ticket-created.json")
    ticket["ticket"]["requester"]["email"] = "not an address"
    with pytest.raises(InvalidRequest) as invalid:
        decide_payload(policy_set, "zendesk", ticket, NOW)
    assert [e.pointer for e in invalid.value.errors] == ["/ticket/requester/email"]


@pytest.mark.parametrize("pointer,expected", [
    ("/a~1b/0", "slash"), ("/m~0n", "tilde"), ("/list/1", 2), ("/list/01", None), ("/list/2", None),
    ("/list/-", None), ("/missing/deeper", None), ("/a~1b/0/x", None)])
def test_json_pointers_are_read_as_rfc_6901_says(pointer, expected):
    document = {"a/b": ["slash"], "m~n": "tilde", "list": [1, 2]}
    found = resolve(document, pointer)
    assert (None if found is MISSING else found) == expected


# ---- the mapping files, checked with the set ------------------------------------------------

def tree_with(tmp_path, system: str, text: str):
    policies, rules = tmp_path / "policies", tmp_path / "rules"
    shutil.copytree(shipped("policies"), policies, ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(shipped("rules"), rules)
    (policies / "integrations" / f"{system}.yaml").write_text(text, encoding="utf-8")
    return policies, rules


def errors_of(tmp_path, system: str, text: str) -> list[tuple[str, int, int, str, str]]:
    with pytest.raises(PolicySetInvalid) as caught:
        load_policy_set(*tree_with(tmp_path, system, text))
    return [(e.file.rsplit("/", 1)[-1], e.line, e.column, e.code, e.json_path) for e in caught.value.policy_errors]


HEAD = """# yaml-language-server: $schema=../../schemas/integration.schema.json
integration: zendesk
version: "2026.2"
effective_from: 2026-01-01
request:
  customer: {from: /ticket/organization/external_id}
  received_at: {from: /ticket/created_at}
  requester:
    email: {from: /ticket/requester/email}
"""


def test_the_words_a_mapping_sends_must_be_the_set_s_and_each_error_names_its_place(tmp_path):
    text = HEAD + """  channel:
    from: /ticket/via
    map:
      Mail: email
      Fax: fax
  category: {value: website_gone}
  attributes:
    colour: {value: blue}
  ticket_id: {from: /ticket/id, value: "1"}
"""
    assert errors_of(tmp_path, "zendesk", text) == [
        ("zendesk.yaml", 14, 7, "unknown_value", "$.request.channel.map.Fax"),
        ("zendesk.yaml", 15, 14, "unknown_value", "$.request.category.value"),
        ("zendesk.yaml", 17, 5, "unknown_attribute", "$.request.attributes.colour"),
        ("zendesk.yaml", 18, 3, "invalid_mapping", "$.request.ticket_id"),
    ]


def test_a_customer_the_mapping_names_must_exist(tmp_path):
    text = HEAD.replace("customer: {from: /ticket/organization/external_id}",
                        "customer: {from: /org, map: {City: demo-city, Town: demo-town}}") + \
        "  channel: {value: email}\n  category: {value: other}\n"
    assert errors_of(tmp_path, "zendesk", text) == [
        ("zendesk.yaml", 6, 49, "unknown_reference", "$.request.customer.map.Town")]


def test_map_keys_that_are_the_same_word_are_refused(tmp_path):
    text = HEAD + "  channel: {from: /via, map: {Mail: email, ' MAIL': email}}\n  category: {value: other}\n"
    assert [e[3] for e in errors_of(tmp_path, "zendesk", text)] == ["duplicate_key"]


def test_a_mapping_file_against_its_schema(tmp_path):
    text = HEAD.replace("  received_at: {from: /ticket/created_at}\n", "") + \
        "  channel: {from: ticket/via}\n  category: {value: other, map: {a: other}}\n"
    found = errors_of(tmp_path, "zendesk", text)
    assert [(line, code, path) for _, line, _, code, path in found] == [
        (5, "missing_field", "$.request"), (9, "invalid_format", "$.request.channel.from")]


def test_two_versions_of_a_mapping_take_effect_on_their_days(tmp_path):
    policies, rules = tree_with(tmp_path, "zendesk", (shipped("policies") / "integrations" / "zendesk.yaml")
                                .read_text(encoding="utf-8"))
    later = (policies / "integrations" / "zendesk.yaml").read_text(encoding="utf-8") \
        .replace('version: "2026.1"', 'version: "2027.1"').replace("effective_from: 2026-01-01",
                                                                    "effective_from: 2027-01-01") \
        .replace("Phone call (incoming): phone", "Phone call (incoming): voicemail")
    (policies / "integrations" / "zendesk-2027.yaml").write_text(later, encoding="utf-8")
    policy_set = load_policy_set(policies, rules)
    ticket = payload("zendesk-ticket-created.json")
    at_2027 = datetime(2027, 1, 1, 0, 0, tzinfo=timezone.utc)
    assert mapped(policy_set, "zendesk", ticket)["channel"] == "phone"
    assert map_payload(policy_set.integration("zendesk", at_2027), ticket).body["channel"] == "voicemail"
    assert policy_set.integration("zendesk", datetime(2025, 12, 31, 23, 59, tzinfo=timezone.utc)) is None
    (policies / "integrations" / "zendesk-2027.yaml").write_text(later.replace("2027-01-01", "2026-01-01"),
                                                                 encoding="utf-8")
    with pytest.raises(PolicySetInvalid) as caught:
        load_policy_set(policies, rules)
    assert [e.code for e in caught.value.policy_errors] == ["effective_date_collision"]


def test_a_set_without_integrations_maps_no_webhook(tmp_path, policy_set):
    policies, rules = tree_with(tmp_path, "zendesk", "")
    shutil.rmtree(policies / "integrations")
    assert load_policy_set(policies, rules).integration("zendesk", NOW) is None
    assert policy_set.integration("jira", NOW).file.path == JIRA
