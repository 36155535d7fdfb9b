"""server/gunicorn.py: what `supportpolicy serve` answers before the Flask app runs.

gunicorn reads the request line and the headers itself and refuses what it
cannot parse or what exceeds its limits; those answers are problem documents
too, like every other error a client of the API sees.
"""
from __future__ import annotations

import json
import socket

import pytest
from jsonschema import Draft202012Validator

from supportpolicy.engine.load.schemas import schema

from support import serving


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serving(["--workers", "1", "--no-decision-log", "--no-watch"], tmp_path_factory.mktemp("served")) as server:
        yield server


@pytest.fixture(scope="module")
def port(served):
    return served.port


def exchange(port: int, raw: bytes) -> tuple[int, dict, bytes]:
    """Send ``raw`` as it is; the status, the headers (lower-case names) and the body of the answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(raw)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    except OSError:
        return 0, {}, b""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("raw,status", [
    (b"GET /v1/customers/" + b"a" * 5000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
    (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    (b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(120)) + b"\r\n", 431),
    (b"NOT AN HTTP REQUEST\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\nHost: t\r\nBad Header Name: v\r\n\r\n", 400),
], ids=["request-line-too-long", "header-too-large", "too-many-headers", "not-http", "bad-header-name"])
def test_a_request_gunicorn_cannot_parse_gets_a_problem_document(port, raw, status):
    got, headers, body = exchange(port, raw)
    assert got == status, body
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["content-length"]) == len(body)
    document = json.loads(body)
    assert list(Draft202012Validator(schema("problem")).iter_errors(document)) == []
    assert document["type"] == "/problems/http-error" and document["status"] == status
    assert document["title"] and document["detail"]


def test_the_client_bytes_quoted_in_a_detail_are_cut_short(port):
    _, _, body = exchange(port, b"GET /" + b"<x>" * 2000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    document = json.loads(body)
    assert len(document["detail"]) <= 200


# No request header changes routing: gunicorn honours SCRIPT_NAME and PATH_INFO headers from loopback clients
# by default (its forwarded_allow_ips), stripping SCRIPT_NAME off the path, and answered one that was no prefix
# of the path with a 500. serve trusts no such header, so the path alone routes.

@pytest.mark.parametrize("raw,status,what", [
    (b"GET /healthz HTTP/1.1\r\nHost: t\r\nSCRIPT_NAME: /x\r\nConnection: close\r\n\r\n", 200, "healthz"),
    (b"GET /v1/healthz HTTP/1.1\r\nHost: t\r\nSCRIPT_NAME: /v1\r\nConnection: close\r\n\r\n", 404, "not-found"),
    (b"GET /v1/nothing HTTP/1.1\r\nHost: t\r\nPATH_INFO: /healthz\r\nConnection: close\r\n\r\n", 404, "not-found"),
    (b"GET /healthz HTTP/1.1\r\nHost: t\r\nScript_Name: /x\r\nConnection: close\r\n\r\n", 200, "healthz"),
], ids=["script-name-not-a-prefix", "script-name-a-prefix", "path-info", "script-name-any-case"])
def test_no_request_header_changes_routing_or_makes_a_5xx(port, raw, status, what):
    got, headers, body = exchange(port, raw)
    assert got == status, body
    document = json.loads(body)
    if what == "healthz":
        assert document["status"] == "ok"
    else:
        assert headers["content-type"] == "application/problem+json" and document["type"] == f"/problems/{what}"


def test_an_absolute_form_request_line_with_no_path_is_not_redirected_to_its_host(port):
    got, headers, body = exchange(port, b"GET http://evil.example HTTP/1.1\r\nHost: evil.example\r\n"
                                        b"Connection: close\r\n\r\n")
    assert got == 200 and "location" not in headers and b"<html" in body.lower()


# Chunked request bodies: gunicorn parses the chunks while the app reads the body, and its errors reached the
# app as unexpected exceptions (a 500, and a traceback in the log).

BODY = json.dumps({"customer": "demo-city", "received_at": "2026-11-28T23:00:00-06:00", "channel": "phone",
                   "requester": {"email": "it.director@demo-city.gov"}, "category": "usage_question"}).encode()
CHUNKED = (b"POST /v1/decisions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n")  # kept alive, unless the server says otherwise


def problem_of(got: int, headers: dict, body: bytes, status: int, slug: str) -> dict:
    assert got == status, body
    assert headers["content-type"] == "application/problem+json"
    # The body was not read to its end, so the connection cannot carry another request: the answer says so.
    assert headers["connection"] == "close", headers
    document = json.loads(body)
    assert list(Draft202012Validator(schema("problem")).iter_errors(document)) == []
    assert document["type"] == f"/problems/{slug}" and document["status"] == status
    return document


@pytest.mark.parametrize("chunks", [
    b"zz\r\n" + BODY + b"\r\n0\r\n\r\n", b"-1\r\n" + BODY + b"\r\n0\r\n\r\n",
    b"1" * 9000,  # a chunk-size line over gunicorn's 8190 bytes, with no end in sight
    b"5;=bad\r\n" + BODY[:5] + b"\r\n0\r\n\r\n", b"%x\r\n" % len(BODY) + BODY + b"XX0\r\n\r\n",
], ids=["not-hex", "negative", "overlong-line", "bad-extension", "no-terminator"])
def test_a_malformed_chunked_body_is_400_saying_what_is_wrong(served, chunks):
    raw = CHUNKED + chunks
    document = problem_of(*exchange(served.port, raw), 400, "http-error")
    assert "chunk" in document["detail"], document
    assert "Traceback" not in served.stderr()


def test_a_chunk_announcing_more_than_the_limit_is_413_at_once(served):
    # 24 hex digits: more than any body could be. Refused on reading the size, not after waiting for the bytes.
    raw = CHUNKED + b"f" * 24 + b"\r\n" + BODY
    problem_of(*exchange(served.port, raw), 413, "payload-too-large")
    assert "Traceback" not in served.stderr()


def test_a_chunked_body_over_the_limit_is_413_without_the_server_reading_all_of_it(served):
    # Valid JSON followed by 3 MiB of spaces, announced as one chunk; only half of it is sent, and the answer
    # comes anyway: the server stopped reading at the limit (and a little more) instead of waiting for the rest.
    padded = BODY + b" " * (3 * 1024 * 1024)
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(CHUNKED + b"%x\r\n" % len(padded) + padded[:len(padded) // 2])
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < 100:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"/problems/payload-too-large" in answer


def test_a_chunked_body_within_the_limit_is_decided(served):
    raw = CHUNKED.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") + b"%x\r\n" % 10 + BODY[:10] + b"\r\n" + b"%x\r\n" % (len(BODY) - 10) + BODY[10:] + b"\r\n0\r\n\r\n"
    got, _, body = exchange(served.port, raw)
    assert got == 200 and json.loads(body)["route"]["team"] == "emergency_on_call"


def test_a_client_that_expects_100_continue_is_told_to_go_on_before_it_sends_the_body(served):
    # curl and others send Expect: 100-continue for larger bodies and wait for the interim answer first.
    head = (b"POST /v1/decisions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n" % len(BODY))
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(head)
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim
        sock.sendall(BODY)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
