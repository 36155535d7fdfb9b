"""server.worker: how much of a request the event loop reads before a thread takes it over."""
from __future__ import annotations

import pytest

from supportpolicy.server.worker import HEAD_LIMIT, _wanted

HEAD = b"POST /v1/decisions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize("fields,body", [
    (b"Content-Length: 120\r\n", 120),                       # the head, then the whole body
    (b"content-length:7\r\n", 7),                            # any case, no space
    (b"Content-Length: 5\r\nContent-Length: 5\r\n", 0),      # two lengths: to gunicorn at once, to refuse
    (b"Transfer-Encoding: chunked\r\n", 0),                  # chunked: read by the thread
    (b"Content-Length: 5\r\nExpect: 100-continue\r\n", 0),   # the client waits for 100 Continue first
    (b"Content-Length: 5, 5\r\n", 0),                        # not a plain length: gunicorn decides
    (b"Content-Length: 1234567890\r\n", 0),                  # ten digits: not plain either
    (b"", 0),                                                # no body
])
def test_a_whole_head_says_how_much_to_read(fields, body):
    head = HEAD + fields + b"\r\n"
    assert _wanted(head, 0) == len(head) + body


def test_an_unfinished_head_waits_and_a_bare_lf_head_goes_to_gunicorn_to_be_refused():
    assert _wanted(HEAD + b"Content-Len", 0) is None
    assert _wanted(b"GET / HTTP/1.1\nHost: t\n\n", 0) == len(b"GET / HTTP/1.1\nHost: t\n\n")


def test_a_length_beyond_what_the_loop_keeps_is_left_to_the_thread():
    # The loop stops at HEAD_LIMIT whatever the length says (Worker._head_readable takes the smaller).
    assert _wanted(HEAD + b"Content-Length: 999999999\r\n\r\n", 0) > HEAD_LIMIT
