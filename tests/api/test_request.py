"""Bad input to POST /v1/decisions: always a 4xx problem document, never a 5xx or a traceback.

docs/decision-api.md: errors are application/problem+json with type, title, status
and detail; invalid input carries an `errors` list naming each field by JSON
Pointer; 400 unparsable, 404 unknown customer, 413 too large, 415 wrong media
type, 422 invalid.
"""
import io
import json

import pytest

from support import make_request

VALID_AT = "2026-11-27T10:00:00-06:00"  # a Friday, in business hours
PROBLEM_KEYS = {"type", "title", "status", "detail"}


def post(client, body=None, *, data=None, content_type="application/json"):
    if data is None:
        data = json.dumps(body)
    return client.post("/v1/decisions", data=data, content_type=content_type)


def problem(response, status: int, slug: str | None = None) -> dict:
    """Check ``response`` is a problem document with ``status``; return it decoded."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == "application/problem+json"
    assert "Traceback" not in text and 'File "' not in text
    document = json.loads(text)
    assert PROBLEM_KEYS <= set(document)
    assert document["status"] == status
    assert all(isinstance(document[k], str) and document[k] for k in ("type", "title", "detail"))
    if slug:
        assert document["type"] == f"/problems/{slug}"
    return document


def pointers(document) -> list:
    return [e["pointer"] for e in document["errors"]]


def with_fields(**fields) -> dict:
    body = make_request(VALID_AT)
    body.update(fields)
    return body


def test_the_valid_request_these_tests_break_is_accepted(client):
    response = post(client, make_request(VALID_AT))
    assert response.status_code == 200 and response.mimetype == "application/json"


# Missing and malformed fields: 422, each field named

@pytest.mark.parametrize("field", ["customer", "received_at", "channel", "requester", "category"])
def test_each_missing_required_field_is_named_by_its_pointer(client, field):
    body = make_request(VALID_AT)
    del body[field]
    document = problem(post(client, body), 422, "invalid-request")
    assert document["errors"] == [{"pointer": f"/{field}", "detail": "is required"}]


def test_an_empty_object_names_every_required_field(client):
    document = problem(post(client, {}), 422, "invalid-request")
    assert sorted(pointers(document)) == ["/category", "/channel", "/customer", "/received_at", "/requester"]


def test_a_requester_without_an_email_names_the_nested_field(client):
    document = problem(post(client, with_fields(requester={"name": "Pat"})), 422, "invalid-request")
    assert pointers(document) == ["/requester/email"]


@pytest.mark.parametrize("received_at", [
    "2026-11-27T10:00:00",  # no offset: the instant is unknown
    "2026-11-27T10:00:00.5",
    "2026-11-27",
    "10:00:00Z",
    "2026-11-27T10:00:00+0600",  # RFC 3339 offsets have a colon
    "2026-11-27T10:00Z",
    "Fri, 27 Nov 2026 10:00:00 -0600",
    "yesterday",
    "",
])
def test_received_at_must_be_rfc3339_with_an_offset(client, received_at):
    document = problem(post(client, with_fields(received_at=received_at)), 422, "invalid-request")
    assert pointers(document) == ["/received_at"]


@pytest.mark.parametrize("received_at", [
    "2026-02-30T10:00:00Z", "2026-13-01T10:00:00Z", "2026-11-27T24:00:00Z", "2026-11-27T10:60:00Z",
    "2026-11-27T10:00:00+24:00",
])
def test_received_at_that_is_no_real_instant_is_rejected(client, received_at):
    document = problem(post(client, with_fields(received_at=received_at)), 422, "invalid-request")
    assert pointers(document) == ["/received_at"]


@pytest.mark.parametrize("received_at", [
    "9999-12-31T23:59:59-06:00",  # after year 9999 in UTC
    "9999-12-31T18:00:00-06:00",  # likewise
    "9999-12-31T12:00:00Z",  # the deadline would fall after 9999
    "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    "2199-12-31T18:00:00-06:00",  # the deadline falls in the next year
    "2199-12-31T23:59:59-12:00",  # already the next year in UTC
])
def test_received_at_at_the_edge_of_the_calendar_is_a_4xx_not_a_server_error(client, received_at):
    response = post(client, with_fields(received_at=received_at))
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code != 200:
        assert pointers(problem(response, response.status_code)) == ["/received_at"]


@pytest.mark.parametrize("received_at,words", [
    ("2150-12-25T10:00:00-06:00", "is outside the years the contract's holiday calendar knows (US: 1777 to 2100)"),
    ("2100-12-31T18:00:00-06:00", "puts the response deadline past the years the contract's holiday calendar "
                                  "knows (US: 1777 to 2100)"),
])
def test_a_time_the_holiday_calendar_does_not_know_is_422_naming_received_at(client, received_at, words):
    # Not decided as a day without holidays: Christmas 2150 is not a working day, in business hours.
    document = problem(post(client, with_fields(received_at=received_at)), 422, "invalid-request")
    assert document["errors"] == [{"pointer": "/received_at", "detail": words}]
    assert "received_at" in document["detail"] and "2100" in document["detail"]


@pytest.mark.parametrize("fields,pointer", [
    ({"customer": 5}, "/customer"),
    ({"received_at": 1764259200}, "/received_at"),
    ({"channel": ["email"]}, "/channel"),
    ({"category": None}, "/category"),
    ({"requester": "it.director@demo-city.gov"}, "/requester"),
    ({"requester": {"email": 5}}, "/requester/email"),
    ({"requester": {"email": "not an address"}}, "/requester/email"),
    ({"ticket_id": 5}, "/ticket_id"),
    ({"summary": {"text": "hi"}}, "/summary"),
    ({"customer": "Demo City"}, "/customer"),
])
def test_a_field_of_the_wrong_type_or_shape_is_named(client, fields, pointer):
    document = problem(post(client, with_fields(**fields)), 422, "invalid-request")
    assert pointers(document) == [pointer]


@pytest.mark.parametrize("fields,pointer", [
    ({"customer": "demo-city\n"}, "/customer"),
    ({"requester": {"email": "it.director@demo-city.gov\n"}}, "/requester/email"),
    ({"received_at": VALID_AT + "\n"}, "/received_at"),
])
def test_a_trailing_newline_is_refused_as_json_schema_means_its_patterns(client, fields, pointer):
    # Python's $ matches before a final newline; ECMA-262's, which JSON Schema uses, does not. A designated
    # contact's address with a newline must not pass as some other requester's.
    document = problem(post(client, with_fields(**fields)), 422, "invalid-request")
    assert pointers(document) == [pointer]


@pytest.mark.parametrize("fields,pointer,words", [
    ({"customer": "Demo City"}, "/customer", "must be a customer id"),
    ({"requester": {"email": "not an address"}}, "/requester/email", "must be an e-mail address"),
    ({"received_at": "next tuesday"}, "/received_at", "must be an RFC 3339 date-time"),
])
def test_a_field_in_the_wrong_form_is_explained_in_words_not_by_its_pattern(client, fields, pointer, words):
    (error,) = problem(post(client, with_fields(**fields)), 422, "invalid-request")["errors"]
    assert error["pointer"] == pointer
    assert error["detail"].startswith(words) and "^" not in error["detail"], error["detail"]


@pytest.mark.parametrize("control", ["\x00", "\x01", "\x08", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9b",
                                     "\x9f"])
@pytest.mark.parametrize("where", ["local", "domain", "end"])
def test_an_email_with_a_control_character_is_refused_as_its_message_says(client, control, where):
    # C0 (NUL included), DEL and C1: the form the error states ("without spaces or control characters").
    email = {"local": f"it.dir{control}ector@demo-city.gov", "domain": f"it.director@demo{control}-city.gov",
             "end": f"it.director@demo-city.gov{control}"}[where]
    (error,) = problem(post(client, with_fields(requester={"email": email})), 422, "invalid-request")["errors"]
    assert error == {"pointer": "/requester/email",
                     "detail": "must be an e-mail address: text, one '@', more text, without spaces or control "
                               "characters"}


def test_an_unknown_channel_is_named_with_the_channels_allowed(client):
    document = problem(post(client, with_fields(channel="fax")), 422, "invalid-request")
    assert pointers(document) == ["/channel"]
    for channel in ("phone", "voicemail", "email", "portal"):
        assert channel in document["errors"][0]["detail"]


def test_an_unknown_category_is_named_with_the_categories_allowed(client):
    document = problem(post(client, with_fields(category="printer_jam")), 422, "invalid-request")
    assert pointers(document) == ["/category"]
    for category in ("website_down", "application_malfunction", "application_error", "usage_question",
                     "suggestion", "additional_services", "other"):
        assert category in document["errors"][0]["detail"]


def test_an_unknown_customer_is_404_naming_the_customer(client):
    document = problem(post(client, with_fields(customer="nowhere-town")), 404, "unknown-customer")
    assert pointers(document) == ["/customer"]


def test_an_unknown_extra_field_is_rejected_by_name(client):
    document = problem(post(client, with_fields(priority="high")), 422, "invalid-request")
    assert pointers(document) == ["/priority"]


def test_extra_fields_of_the_requester_are_accepted_and_ignored(client):
    response = post(client, with_fields(requester={"email": "resident@example.org", "name": "Pat"}))
    assert response.status_code == 200


def test_a_summary_of_10001_characters_is_too_long(client):
    document = problem(post(client, with_fields(summary="x" * 10_001)), 422, "invalid-request")
    assert pointers(document) == ["/summary"]


def test_a_summary_of_10000_characters_is_accepted(client):
    assert post(client, with_fields(summary="x" * 10_000)).status_code == 200


@pytest.mark.parametrize("summary", [
    "<script>alert('x')</script>",
    "'; DROP TABLE decisions; --",
    "{{ 7*7 }} ${7*7} #{7*7} {% if true %}yes{% endif %}",
    "$s.m.billable = True",
    "__import__('os').system('true')",
])
def test_a_summary_is_never_interpreted_nor_echoed(client, summary):
    plain = post(client, make_request(VALID_AT)).get_json()
    response = post(client, with_fields(summary=summary))
    assert response.status_code == 200
    assert summary not in response.get_data(as_text=True)
    decided = response.get_json()
    for field in ("in_business_hours", "billable", "hourly_rate", "respond_by", "route", "escalation", "trace"):
        assert decided[field] == plain[field]


def test_a_request_before_the_policy_takes_effect_names_received_at(client):
    document = problem(post(client, with_fields(received_at="2025-06-01T10:00:00Z")), 422, "no-policy-in-effect")
    assert pointers(document) == ["/received_at"]


def test_the_policy_takes_effect_at_local_midnight_in_chicago(client):
    before = post(client, with_fields(received_at="2026-01-01T05:59:59Z"))  # 23:59:59 on Dec 31 in Chicago
    assert pointers(problem(before, 422, "no-policy-in-effect")) == ["/received_at"]
    assert post(client, with_fields(received_at="2026-01-01T06:00:00Z")).status_code == 200


# The body itself: not JSON, not an object, wrong media type, too large

@pytest.mark.parametrize("data", ["{", "customer=demo-city", "", "{'customer': 'demo-city'}", "[1,]", b'{"a": "\xe9"}'])
def test_a_body_that_is_not_json_is_400(client, data):
    problem(post(client, data=data), 400, "malformed-json")


@pytest.mark.parametrize("data", ["NaN", "-Infinity", json.dumps(make_request(VALID_AT))[:-1] + ', "ticket_id": NaN}'])
def test_javascript_constants_are_not_json_and_are_400(client, data):
    # RFC 8259 has no NaN or Infinity; a body using them is unparsable.
    problem(post(client, data=data), 400, "malformed-json")


@pytest.mark.parametrize("tail,pointer,key", [
    (', "requester": {"email": "it.director@demo-city.gov"}}', "", "requester"),
    (', "r\\u0065quester": {"email": "it.director@demo-city.gov"}}', "", "requester"),
    (', "summary": "a", "summary" : "b"}', "", "summary"),
])
def test_a_key_sent_twice_is_400_naming_the_key_not_decided_by_the_last(client, tail, pointer, key):
    # Decided by the last requester, a front end showing the first would show another requester.
    data = json.dumps(make_request("2026-11-28T23:00:00-06:00"))[:-1] + tail
    document = problem(post(client, data=data), 400, "malformed-json")
    assert document["errors"] == [{"pointer": pointer, "key": key,
                                   "detail": f'holds the key "{key}" more than once'}]
    assert f'"{key}"' in document["detail"]


def test_a_key_sent_twice_in_the_requester_is_400_naming_the_requester(client):
    body = json.dumps(make_request(VALID_AT))
    data = body.replace('"requester": {"email": "resident@example.org"}',
                        '"requester": {"email": "resident@example.org", "email": "it.director@demo-city.gov"}')
    document = problem(post(client, data=data), 400, "malformed-json")
    assert [(e["pointer"], e["key"]) for e in document["errors"]] == [("/requester", "email")]
    assert "/requester" in document["detail"]


def test_a_value_that_looks_like_a_key_is_no_duplicate(client):
    data = json.dumps(make_request(VALID_AT, summary='"requester": {"email": "x"}, "requester" : 1'))
    assert post(client, data=data).status_code == 200


@pytest.mark.parametrize("data", ["[]", json.dumps([make_request(VALID_AT)]), '"demo-city"', "null", "42", "true"])
def test_a_json_body_that_is_not_an_object_is_422_at_the_root(client, data):
    document = problem(post(client, data=data), 422, "invalid-request")
    assert pointers(document) == [""]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None])
def test_a_body_that_is_not_sent_as_json_is_415(client, content_type):
    problem(post(client, make_request(VALID_AT), content_type=content_type), 415, "unsupported-media-type")


def test_json_with_a_charset_parameter_is_accepted(client):
    assert post(client, make_request(VALID_AT), content_type="application/json; charset=utf-8").status_code == 200


def test_a_body_of_exactly_one_mebibyte_is_accepted_and_one_byte_more_is_413(client):
    body = json.dumps(make_request(VALID_AT))
    padded = body[:-1] + " " * (1024 * 1024 - len(body)) + "}"
    assert len(padded.encode()) == 1024 * 1024
    assert post(client, data=padded).status_code == 200
    problem(post(client, data=padded + " "), 413, "payload-too-large")


def test_a_large_body_is_413_whatever_it_contains(client):
    problem(post(client, with_fields(summary="x" * (2 * 1024 * 1024))), 413, "payload-too-large")


class Counted(io.BytesIO):
    """A request body of unknown length (as a chunked one reaches the app: no Content-Length, the WSGI
    server ending the stream); counts what the app reads of it."""

    taken = 0

    def read(self, size: int | None = -1) -> bytes:
        piece = super().read(size)
        self.taken += len(piece)
        return piece

    def readinto(self, buffer) -> int:
        count = super().readinto(buffer)
        self.taken += count
        return count


def post_streamed(client, stream: Counted):
    return client.post("/v1/decisions", input_stream=stream, content_type="application/json",
                       headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})


def test_a_body_of_unknown_length_over_one_mebibyte_is_413_after_reading_little_more(client):
    # JSON followed by 3 MiB of spaces is valid JSON: the limit, not the parser, must refuse it.
    stream = Counted(json.dumps(make_request(VALID_AT)).encode() + b" " * (3 * 1024 * 1024))
    problem(post_streamed(client, stream), 413, "payload-too-large")
    assert stream.taken <= 1024 * 1024 + 64 * 1024, f"read {stream.taken} bytes of a body over the limit"


def test_a_body_of_unknown_length_of_exactly_one_mebibyte_is_decided(client):
    body = json.dumps(make_request(VALID_AT))
    padded = (body[:-1] + " " * (1024 * 1024 - len(body)) + "}").encode()
    assert post_streamed(client, Counted(padded)).status_code == 200
    problem(post_streamed(client, Counted(padded + b" ")), 413, "payload-too-large")


@pytest.mark.parametrize("data", [
    "[" * 100_000,
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 100_000 + "1" + "}" * 100_000,
])
def test_deeply_nested_json_is_a_4xx_never_a_server_error(client, data):
    response = post(client, data=data)
    assert response.status_code in (400, 422)
    problem(response, response.status_code)


# Limits beyond the body size: a real request nests two levels and holds a handful of fields.

def nested(levels: int) -> object:
    """``levels`` objects within each other."""
    value = "end"
    for _ in range(levels):
        value = {"next": value}
    return value


def test_a_request_nested_eight_levels_deep_is_decided(client):
    # The body and requester are two levels; six more inside a field ticketing systems add.
    body = make_request(VALID_AT)
    body["requester"]["profile"] = nested(6)
    assert post(client, body).status_code == 200


def test_a_request_nested_nine_levels_deep_is_413_naming_where(client):
    body = make_request(VALID_AT)
    body["requester"]["profile"] = nested(7)
    document = problem(post(client, body), 413, "limit-exceeded")
    assert document["errors"] == [{"pointer": "/requester/profile/next/next/next/next/next/next",
                                   "detail": "nests deeper than 8 levels"}]


def test_a_requester_nested_hundreds_deep_is_413_not_a_schema_error(client):
    data = json.dumps(make_request(VALID_AT))[:-1] + ', "requester": ' + "[" * 900 + "]" * 900 + "}"
    problem(post(client, data=data), 413, "limit-exceeded")


def test_an_array_of_64_items_is_decided_and_65_is_413(client):
    body = make_request(VALID_AT)
    body["requester"]["phones"] = ["555-0100"] * 64
    assert post(client, body).status_code == 200
    body["requester"]["phones"].append("555-0101")
    document = problem(post(client, body), 413, "limit-exceeded")
    assert document["errors"] == [{"pointer": "/requester/phones", "detail": "holds more than 64 items"}]


def test_thousands_of_unknown_fields_are_one_413_not_thousands_of_errors(client):
    body = make_request(VALID_AT, **{f"field{n}": n for n in range(5000)})
    document = problem(post(client, body), 413, "limit-exceeded")
    assert document["errors"] == [{"pointer": "", "detail": "holds more than 64 items"}]


def test_more_than_1024_values_in_all_is_413(client):
    body = make_request(VALID_AT)
    body["requester"]["history"] = [[n] * 60 for n in range(20)]  # 20 arrays of 60: every one within 64
    document = problem(post(client, body), 413, "limit-exceeded")
    assert document["errors"][0]["detail"] == "makes the body hold more than 1024 values"


def test_a_long_string_in_a_field_the_schema_ignores_is_422_naming_it(client):
    body = make_request(VALID_AT)
    body["requester"]["note"] = "x" * 10_001
    document = problem(post(client, body), 422, "invalid-request")
    assert document["errors"] == [{"pointer": "/requester/note", "detail": "is longer than 10000 characters"}]


@pytest.mark.parametrize("data", [
    "1" * 5000,  # valid JSON grammar, but more digits than Python converts by default (4300)
    json.dumps(make_request(VALID_AT))[:-1] + ', "ticket_id": ' + "9" * 5000 + "}",
])
def test_a_number_with_thousands_of_digits_is_a_4xx_never_a_server_error(client, data):
    response = post(client, data=data)
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    problem(response, response.status_code)


# Paths and methods

def test_an_unknown_path_is_a_404_problem(client):
    document = problem(client.get("/v1/nothing-here"), 404, "not-found")
    assert "/v1/nothing-here" in document["detail"]


@pytest.mark.parametrize("method,path,allowed", [
    ("delete", "/v1/decisions", "POST"), ("put", "/v1/decisions", "POST"), ("get", "/v1/admin/reload", "POST"),
    ("delete", "/healthz", "GET"), ("post", "/v1/policies", "GET"),
])
def test_a_wrong_method_is_a_405_problem_with_allow(client, method, path, allowed):
    response = getattr(client, method)(path)
    problem(response, 405, "method-not-allowed")
    assert allowed in [m.strip() for m in response.headers["Allow"].split(",")]
