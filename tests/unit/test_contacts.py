"""Designated contacts: an address matches only itself, with ASCII letters compared without regard to case.

A look-alike address (a Kelvin sign for a K, a Cyrillic а for an a, fullwidth
letters) must never be taken for a designated contact: that would give anyone
who writes it the 24/7 emergency support, billed after-hours work and the
on-call team.
"""
from __future__ import annotations

import json
import shutil

import pytest

from supportpolicy.engine import PolicySetInvalid, load_policy_set
from supportpolicy.engine.resources import shipped

from support import make_request

SATURDAY_NIGHT = "2026-11-28T23:00:00-06:00"  # after hours: a designated contact is billed and routed on call
CONTACTS = ["kate@example.gov", "it.director@demo-city.gov", "sam.office@example.gov", "fiona@example.gov",
            "ceo@example.gov", "paul@example.gov"]


def customer_file(contacts) -> str:
    lines = [f"  - {{name: Contact {i}, email: {json.dumps(email)}}}" for i, email in enumerate(contacts)]
    return ("# yaml-language-server: $schema=../../schemas/customer.schema.json\ncustomer: demo-city\nname: City of Demo\nversion: \"2026.1\"\neffective_from: 2026-01-01\n"
            "plan: {id: central-standard, version: current}\ndesignated_contacts:\n" + "\n".join(lines) + "\n")


def tree_with(tmp_path, contacts):
    shutil.copytree(shipped("policies"), tmp_path / "policies")
    shutil.copytree(shipped("rules"), tmp_path / "rules")
    (tmp_path / "policies" / "customers" / "demo-city.yaml").write_text(customer_file(contacts), encoding="utf-8")
    return tmp_path


@pytest.fixture(scope="module")
def contacts_set(tmp_path_factory):
    tree = tree_with(tmp_path_factory.mktemp("contacts"), CONTACTS)
    return load_policy_set(tree / "policies", tree / "rules")


def decided(policy_set, email: str, category: str = "usage_question") -> dict:
    return policy_set.decide(make_request(SATURDAY_NIGHT, "email", category, email)).as_json()


@pytest.mark.parametrize("look_alike", [
    "\u212aate@example.gov",  # KELVIN SIGN, which str.lower() makes a k
    "\u212aATE@EXAMPLE.GOV",
    "k\u0430te@example.gov",  # Cyrillic а
    "kat\u0435@example.gov",  # Cyrillic е
    "kate@example.g\u043ev",  # Cyrillic о
    "\u0441eo@example.gov",  # Cyrillic с
    "\u0440aul@example.gov",  # Cyrillic р
    "\uff4bate@example.gov",  # fullwidth k
    "\uff2bATE@EXAMPLE.GOV",  # fullwidth K
    "kate@example.\uff47ov",  # fullwidth g
    "\u0130t.director@demo-city.gov",  # İ, which str.lower() makes i and a combining dot
    "i\u0307t.director@demo-city.gov",  # i and a combining dot: what str.lower() makes of İ
    "\u0131t.director@demo-city.gov",  # dotless ı, which str.upper() makes I
    "\u017fam.office@example.gov",  # long s, which str.upper() makes S
    "sam.of\ufb03ce@example.gov",  # the ffi ligature
    "\ufb01ona@example.gov",  # the fi ligature
    "kate@example.gov\u200b",  # a zero-width space after it
])
def test_a_look_alike_of_a_designated_contact_is_not_one(contacts_set, look_alike):
    decision = decided(contacts_set, look_alike)
    assert decision["designated_contact"] is False
    # So no after-hours charge and no on-call team: the request waits for the next opening like anyone's.
    assert (decision["billable"], decision["hourly_rate"], decision["route"]["team"]) == (False, None, "support")


def test_a_look_alike_gets_no_emergency_support(contacts_set):
    decision = decided(contacts_set, "\u212aate@example.gov", "website_down")
    assert (decision["designated_contact"], decision["emergency_support"]) == (False, False)
    assert decided(contacts_set, "kate@example.gov", "website_down")["emergency_support"] is True


@pytest.mark.parametrize("email", ["kate@example.gov", "KATE@EXAMPLE.GOV", "Kate@Example.Gov",
                                   "IT.Director@Demo-City.GOV", "SAM.OFFICE@example.gov"])
def test_a_designated_contact_in_any_ascii_case_is_one(contacts_set, email):
    decision = decided(contacts_set, email)
    assert decision["designated_contact"] is True
    assert (decision["billable"], decision["route"]["team"]) == (True, "emergency_on_call")


def test_a_contact_written_with_a_non_ascii_letter_matches_only_itself(tmp_path):
    tree = tree_with(tmp_path, ["\u212aate@Example.gov", "\u0130nfo@example.gov", "caf\u00e9@example.gov"])
    policy_set = load_policy_set(tree / "policies", tree / "rules")
    for same in ("\u212aate@Example.gov", "\u212aATE@EXAMPLE.GOV", "\u212aate@example.gov",
                 "\u0130nfo@example.gov", "\u0130NFO@EXAMPLE.GOV", "caf\u00e9@example.gov", "CAF\u00e9@EXAMPLE.GOV"):
        assert decided(policy_set, same)["designated_contact"] is True, same
    for other in ("kate@example.gov", "Kate@example.gov", "\u212a\u0430te@example.gov", "info@example.gov",
                  "i\u0307nfo@example.gov", "\u0131nfo@example.gov", "cafe@example.gov", "CAF\u00c9@example.gov"):
        assert decided(policy_set, other)["designated_contact"] is False, other


def test_contacts_that_differ_only_by_non_ascii_case_are_two_contacts(tmp_path):
    # Ķ and ķ, É and é, K and the Kelvin sign: different characters, so different addresses, not duplicates.
    contacts = ["\u0136ate@example.gov", "\u0137ate@example.gov", "\u00c9mile@example.gov", "\u00e9mile@example.gov",
                "kate@example.gov", "\u212aate@example.gov"]
    tree = tree_with(tmp_path, contacts)
    policy_set = load_policy_set(tree / "policies", tree / "rules")
    assert policy_set.customers["demo-city"][0].designated_contacts == frozenset(contacts)
    assert decided(policy_set, "\u0137ATE@EXAMPLE.GOV")["designated_contact"] is True
    assert decided(policy_set, "\u0136ate@example.gov")["designated_contact"] is True


def test_contacts_that_differ_only_by_ascii_case_are_a_duplicate(tmp_path):
    tree = tree_with(tmp_path, ["\u212aate@example.gov", "\u212aATE@example.gov"])
    with pytest.raises(PolicySetInvalid) as caught:
        load_policy_set(tree / "policies", tree / "rules")
    (error,) = caught.value.policy_errors
    assert (error.code, error.json_path) == ("duplicate_contact", "$.designated_contacts[1].email")


@pytest.mark.parametrize("control", ["\\0", "\\x01", "\\t", "\\x1f", "\\x7f", "\\x80", "\\x85", "\\x9f"])
def test_a_contact_address_with_a_control_character_is_refused(tmp_path, control):
    tree = tree_with(tmp_path, ["kate@example.gov"])
    customer = tree / "policies" / "customers" / "demo-city.yaml"
    # A double-quoted YAML scalar may write any character as an escape.
    customer.write_text(customer.read_text().replace('"kate@example.gov"', f'"kate{control}@example.gov"'))
    with pytest.raises(PolicySetInvalid) as caught:
        load_policy_set(tree / "policies", tree / "rules")
    (error,) = caught.value.policy_errors
    assert (error.code, error.json_path) == ("invalid_format", "$.designated_contacts[0].email")


def test_only_ascii_letters_are_folded():
    from supportpolicy.engine.model import comparable_email

    assert comparable_email("Kate@Example.GOV") == "kate@example.gov"
    assert comparable_email("\u212aATE@EXAMPLE.GOV") == "\u212aate@example.gov"
    assert comparable_email("\u0130\u00c9\u0136\uff2b@\u00c0.gov") == "\u0130\u00c9\u0136\uff2b@\u00c0.gov"
    everything = "".join(map(chr, range(0x250)))
    folded = comparable_email(everything)
    assert [(a, b) for a, b in zip(everything, folded) if a != b] == \
        [(chr(c), chr(c + 32)) for c in range(ord("A"), ord("Z") + 1)]
