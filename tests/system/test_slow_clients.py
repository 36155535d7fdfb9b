"""Slow and idle clients do not starve `supportpolicy serve` (server/worker.py), and a stalled one is cut off.

One server (2 workers, as served by default) is besieged at once by a thousand idle connections and by
slow ones of every kind: a request head sent in part and stalled, a head trickled a byte at a time, a
head followed by part of its body and stalled, a kept-alive connection whose next request stalls, and
clients that never read their answer nor close. While they hold on, probes (decisions and /healthz, each
on a connection of its own) must still be answered before they give up (PROBE_TIMEOUT). Then each slow
client must be cut off, with a 408 problem document or a closed connection, within the server's read
timeout and a margin, and the server's log must show no traceback. With gunicorn's sync workers (before
server/worker.py) two slow connections were enough to make most probes fail.
"""
from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass, field

import pytest

from support import DESIGNATED, make_request, serving

pytestmark = pytest.mark.slow

READ_TIMEOUT = 15.0   # seconds: server.worker.READ_TIMEOUT, from a request's first byte to its last
MARGIN = 10.0         # seconds beyond it by which a stalled client must have been cut off
PROBE_TIMEOUT = 5.0   # seconds a probe waits for its answer before it counts as failed
IDLE = 1000           # connections that send nothing
EACH = 6              # slow connections of each kind
PARTIAL_BODIES = 40   # requests stalled in their body: more than the server's threads (2 workers x 16)
PROBES = 12
BODY = json.dumps(make_request("2026-11-28T23:00:00-06:00", "phone", email=DESIGNATED)).encode()
HEAD = (b"POST /v1/decisions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(BODY))


@dataclass
class Slow:
    kind: str
    sock: socket.socket
    trickle: bytes = b""        # what is left to send, a byte per probe
    answer: bytes = b""         # everything the server sent
    closed_after: float | None = None  # seconds from the siege's start to the server's close
    error: str | None = None


@dataclass
class Siege:
    probes: list = field(default_factory=list)  # (what, status or error)
    slow: list = field(default_factory=list)
    idle_open: int = 0
    stderr: str = ""


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT)


def probe(port: int, n: int) -> tuple[str, object]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT)
    try:
        if n % 2:
            connection.request("GET", "/healthz")
            what = "GET /healthz"
        else:
            connection.request("POST", "/v1/decisions", BODY, {"Content-Type": "application/json"})
            what = "POST /v1/decisions"
        response = connection.getresponse()
        body = response.read()
        if response.status == 200 and n % 2 == 0:
            assert json.loads(body)["billable"] is True
        return what, response.status
    except (OSError, http.client.HTTPException) as exc:
        return what, f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()


def open_slow(port: int) -> list[Slow]:
    slow = []
    for _ in range(PARTIAL_BODIES):
        s = connect(port)
        s.sendall(HEAD + BODY[:20])  # the whole head and part of the body
        slow.append(Slow("partial body", s))
    for _ in range(EACH):
        s = connect(port)
        s.sendall(HEAD[:30])  # part of the request line and headers
        slow.append(Slow("partial head", s))
        s = connect(port)
        s.sendall(HEAD[:1])
        slow.append(Slow("trickled head", s, trickle=HEAD[1:]))
        s = connect(port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")  # never read, never closed
        slow.append(Slow("never closes", s))
        s = connect(port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        kept = Slow("kept alive, then stalled", s)
        try:
            s.recv(65536)  # its answer, kept alive; then the next request stalls halfway through its head
            s.sendall(b"GET /healthz HTTP/1.1\r\nHo")
        except OSError as exc:  # a server already starved does not answer the first request
            kept.error = f"its first request: {type(exc).__name__}: {exc}"
        slow.append(kept)
    return slow


def wait_for_cut_off(slow: list[Slow], started: float) -> None:
    """Read every slow connection until the server closes it, or until READ_TIMEOUT + MARGIN are over."""
    deadline = started + READ_TIMEOUT + MARGIN
    for client in slow:
        client.sock.settimeout(0.2)
        while client.closed_after is None and time.monotonic() < deadline:
            try:
                data = client.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:  # a reset: cut off too, though less politely
                client.error, client.closed_after = f"{type(exc).__name__}: {exc}", time.monotonic() - started
                break
            if not data:
                client.closed_after = time.monotonic() - started
            client.answer += data
        client.sock.close()


@pytest.fixture(scope="module")
def siege(tmp_path_factory) -> Siege:
    folder = tmp_path_factory.mktemp("siege")
    result = Siege()
    idle: list[socket.socket] = []
    with serving(["--workers", "2", "--no-decision-log", "--no-watch"], folder) as server:
        try:
            started = time.monotonic()
            result.slow = open_slow(server.port)
            for _ in range(IDLE):
                idle.append(connect(server.port))
            for n in range(PROBES):
                result.probes.append(probe(server.port, n))
                for client in result.slow:
                    if client.trickle:  # a byte per probe: the head never completes within the probes
                        try:
                            client.sock.sendall(client.trickle[:1])
                        except OSError as exc:
                            client.error = f"trickling: {type(exc).__name__}: {exc}"
                        client.trickle = client.trickle[1:]
            result.idle_open = len(idle)
            wait_for_cut_off(result.slow, started)
        finally:
            for s in idle:
                s.close()
            for client in result.slow:
                client.sock.close()
    result.stderr = server.stderr()
    return result


def test_probes_are_answered_while_slow_and_idle_clients_hold_on(siege):
    assert siege.idle_open == IDLE
    failed = [(what, got) for what, got in siege.probes if got != 200]
    assert not failed, f"{len(failed)} of {len(siege.probes)} probes failed under slow and idle clients: {failed}"


@pytest.mark.parametrize("kind", ["partial head", "partial body", "trickled head", "kept alive, then stalled"])
def test_a_stalled_request_is_cut_off_with_a_408_problem_document(siege, kind):
    for client in (c for c in siege.slow if c.kind == kind):
        assert client.closed_after is not None, \
            f"a client with a {kind} was still connected {READ_TIMEOUT + MARGIN:g} s after it started"
        head, _, body = client.answer.rpartition(b"HTTP/1.1 ")[2].partition(b"\r\n\r\n")
        assert head.startswith(b"408 "), f"{kind}: {client.answer[-400:]!r} {client.error or ''}"
        assert b"content-type: application/problem+json" in head.lower()
        assert b"connection: close" in head.lower(), head
        document = json.loads(body)
        assert document["status"] == 408 and document["type"] == "/problems/http-error", document
        assert "did not arrive" in document["detail"]


def test_a_client_that_never_closes_gets_its_answer_and_is_then_closed(siege):
    for client in (c for c in siege.slow if c.kind == "never closes"):
        assert client.answer.startswith(b"HTTP/1.1 200 "), client.answer[:200]
        assert client.closed_after is not None, "the server kept a finished connection open"


def test_the_log_shows_no_traceback(siege):
    assert "Traceback" not in siege.stderr and "[CRITICAL]" not in siege.stderr, siege.stderr[-4000:]
    assert "cut off" in siege.stderr  # each is logged, in one line
