"""The gunicorn worker `supportpolicy serve` runs: gunicorn's threaded worker, kept available under slow and
idle clients without a proxy in front.

gunicorn's sync worker gives a connection the whole process until its request has arrived, so two slow
clients starved a two-worker server. gunicorn's gthread worker answers requests on a thread pool, but
still lets a connection hold a thread while it waits: for its first bytes (5 s per new connection, in
turn, so a thousand idle connections queued every request behind them), for the rest of a request head or
body sent slowly (a blocking recv with no timeout at all), and, after a response, for the client to close
(gunicorn's lingering close, on the main loop itself). This subclass changes those three waits and
nothing else:

* A connection waits for its request in the main loop's poller, costing no thread: idle, it is closed
  after the keep-alive timeout; once it has sent a byte, the request is read there, its head and, when
  the whole request is within HEAD_LIMIT (as every decision request is), its body, and it must be whole
  within READ_TIMEOUT, or it is answered 408 (a problem document) and closed. A thread takes the request
  only once it is whole, or once its head is whole and its body too large to keep in the poller.
* What a thread still reads (a larger body) must arrive within the same READ_TIMEOUT of the first byte:
  each read is bounded by what is left of it, and one that runs out ends the request with a 408.
* After the last response on a connection, the lingering close (half-close, then read what the client
  still sends, for at most LINGER seconds) is done by the poller too.

It also refuses a malformed chunked body as such (400 http-error naming what is wrong, with no
traceback: gunicorn's parse errors would reach the app as unexpected exceptions) and a chunk that would
take the body past the app's MAX_BODY at once (413), without waiting for its bytes. Everything else is
gunicorn's: accepting, keep-alive, SIGTERM drain, the thread pool, the parser and its limits.
"""
from __future__ import annotations

import errno
import re
import selectors
import socket
import time
from functools import partial

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.http.body import ChunkedReader
from gunicorn.http.message import Request
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.exceptions import RequestTimeout

from supportpolicy.server import problems
from supportpolicy.server.app import MAX_BODY

READ_TIMEOUT = 15.0  # seconds from a request's first byte by which all of it must have arrived
LINGER = 2.0  # seconds a closed connection is read from, so unread bytes do not reset the last response
# Bytes of a request read in the poller: its head, and its body when the whole fits (every decision request
# does); what goes past this is read by the thread, bounded by the deadline, and judged by gunicorn's limits.
HEAD_LIMIT = 64 * 1024
SWEEP_EVERY = 0.1  # seconds between looks for requests past their deadline


# A Content-Length header, to know how much of a small body to read before a thread takes the request. Only a
# hint: gunicorn's parser alone decides how the request is framed; a head it would read otherwise (several
# lengths, a transfer coding, a folded line) goes to a thread at once, where reading stays bounded.
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*([0-9]{1,9})[ \t]*(?=\r\n)", re.IGNORECASE)


def _wanted(head: bytes, searched: int) -> int | None:
    """How many bytes make the request whose start is ``head``: None while its head is unfinished; its head
    alone unless one plain Content-Length gives its body's size (and no Expect makes the client wait)."""
    end = head.find(b"\r\n\r\n", searched)
    if end < 0:
        # gunicorn refuses a bare LF itself: such a head goes to it rather than wait for a CRLF.
        return len(head) if head.find(b"\n\n", searched) >= 0 else None
    framing = bytes(head[:end + 2])
    lengths = _CONTENT_LENGTH.findall(framing)
    lowered = framing.lower()
    # A client that sends Expect: 100-continue waits for gunicorn's interim answer before its body.
    if len(lengths) != 1 or b"transfer-encoding" in lowered or b"\r\nexpect" in lowered:
        return end + 4
    return end + 4 + int(lengths[0])


class RequestTooSlow(RequestTimeout):
    """The request did not arrive whole within READ_TIMEOUT of its first byte."""

    description = f"the request did not arrive whole within {READ_TIMEOUT:g} s of its first byte"


class _Unreader(SocketUnreader):
    """gunicorn's socket reader, each read bounded by the time the request being read has left."""

    deadline = None  # time.monotonic() by which the request must have arrived; None: gunicorn's own bounds
    request = None  # the request whose body is being read, if any

    def chunk(self, size_hint=None):
        if self.deadline is None:
            return super().chunk(size_hint)
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self._too_slow()
        self.sock.settimeout(remaining)
        try:
            return super().chunk(size_hint)
        except TimeoutError:
            self._too_slow()
        finally:
            self.sock.settimeout(None)

    def _too_slow(self):
        if self.request is not None:
            self.request.force_close()  # the answer says Connection: close, as the connection will be
        raise RequestTooSlow()


class _ChunkedBody(ChunkedReader):
    """A chunked body whose framing errors are the client's (400) and whose size is checked chunk by chunk."""

    total = 0

    def read(self, size):
        try:
            return super().read(size)
        except http_errors.ParseException as exc:  # a chunk size, extension, terminator or trailer
            self.req.force_close()  # where the next request would start is unknown: answered Connection: close
            raise problems.MalformedHTTP(f"the chunked request body is malformed: {exc}") from None

    def parse_chunk_size(self, unreader, data=None):
        size, rest = super().parse_chunk_size(unreader, data)
        self.total += size
        if self.total > MAX_BODY:  # refused now, not once its bytes have been waited for
            self.req.force_close()  # the rest of the body is not read: the connection closes after the answer
            raise problems.BodyTooLarge()
        return size, rest


class _Request(Request):
    def set_body_reader(self):
        super().set_body_reader()
        if isinstance(self.body.reader, ChunkedReader):
            self.body.reader = _ChunkedBody(self, self.unreader)
        self.unreader.request = self


class _Connection(TConn):
    def __init__(self, worker, *args):
        super().__init__(*args)
        self.worker = worker
        self.head = bytearray()  # what the poller has read of the next request
        self.deadline = None

    def init(self):
        fresh = not self.initialized
        super().init()
        if fresh and type(self.parser.unreader) is SocketUnreader:
            held = self.parser.unreader.take_buffered()
            self.parser.unreader = _Unreader(self.sock)
            self.parser.unreader.unread(held)
            self.parser.mesg_class = _Request

    def close(self, graceful=False):
        if graceful:
            self.worker.linger(self)
        else:
            super().close()


class Worker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading = {}  # connection -> deadline of its request head
        self.lingering = {}  # connection -> when to close it anyway
        self._next_sweep = 0.0

    def accept(self, listener):
        try:
            client, address = listener.accept()
        except OSError as exc:
            # EINVAL: the listening socket was shut down on SIGTERM (server.gunicorn stops listening at once).
            if exc.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK, errno.EINVAL):
                return
            raise
        self.nr_conns += 1
        conn = _Connection(self, self.cfg, client, address, listener.getsockname())
        # Waits for its first byte in the poller, as gthread's deferred connections do, but at once.
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

    def on_pending_socket_readable(self, conn, client):
        self.poller.unregister(client)
        self.pending_conns.remove(conn)
        self._read_head(conn)

    def on_client_socket_readable(self, conn, client):  # a kept-alive connection's next request
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_head(conn)

    def _read_head(self, conn):
        conn.head = bytearray()
        conn.wanted = None  # bytes to read before a thread takes it over, once the head's end is known
        conn.deadline = time.monotonic() + READ_TIMEOUT
        self.reading[conn] = conn.deadline
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._head_readable, conn))
        self._head_readable(conn, conn.sock)

    def _head_readable(self, conn, client):
        try:
            data = conn.sock.recv(HEAD_LIMIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._stop_reading(conn)
            self.nr_conns -= 1
            conn.close()
            return
        searched = max(0, len(conn.head) - 3)
        conn.head += data
        if conn.wanted is None:
            conn.wanted = _wanted(conn.head, searched)
        if len(conn.head) < min(conn.wanted or HEAD_LIMIT + 1, HEAD_LIMIT + 1):
            return
        self._stop_reading(conn)
        conn.data_ready = True  # gthread's handle() then waits for nothing
        self.enqueue_req(conn)

    def _stop_reading(self, conn):
        self.poller.unregister(conn.sock)
        del self.reading[conn]

    def handle(self, conn):  # in a thread
        conn.init()
        unreader = conn.parser.unreader
        if conn.head:
            unreader.unread(bytes(conn.head))
            conn.head = bytearray()
        # A request already buffered (pipelined behind the last one) gets the whole READ_TIMEOUT from now.
        unreader.deadline = conn.deadline or time.monotonic() + READ_TIMEOUT
        conn.deadline = None
        try:
            return super().handle(conn)
        finally:
            unreader.deadline = unreader.request = None

    def _keepalive_after(self, conn, keepalive):
        # What the app left unread is drained under gunicorn's own bound, which expects a timeout, not a 408.
        conn.parser.unreader.deadline = None
        return super()._keepalive_after(conn, keepalive)

    def handle_error(self, req, client, addr, exc):
        if not isinstance(exc, RequestTooSlow):
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Request from ip=%s cut off: %s", (addr or ("",))[0], exc.description)
        try:
            util.write_error(client, exc.code, "Request Timeout", exc.description)
        except OSError:
            pass

    def linger(self, conn):
        """Close after the last response: FIN now, then read what the client still sends, in the poller."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._drain, conn))
        except (OSError, ValueError):
            util.close(conn.sock)
            return
        conn.drained = 0
        self.lingering[conn] = time.monotonic() + LINGER

    def _drain(self, conn, client):
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        conn.drained += len(data)
        if not data or conn.drained >= 65536:
            self._end_linger(conn)

    def _end_linger(self, conn):
        del self.lingering[conn]
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        util.close(conn.sock)

    def murder_pending(self):
        """gunicorn's sweep of idle new connections, then heads past their deadline and lingering closes."""
        super().murder_pending()
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY
        for conn in [c for c, deadline in self.reading.items() if deadline <= now]:
            self._stop_reading(conn)
            self.nr_conns -= 1
            self.log.warning("Request from ip=%s cut off: %s", conn.client[0] if conn.client else "",
                             RequestTooSlow.description)
            try:
                conn.sock.send(problems.raw_response(408, "Request Timeout", RequestTooSlow.description))
            except OSError:
                pass
            self.linger(conn)
        for conn in [c for c, until in self.lingering.items() if until <= now]:
            self._end_linger(conn)

    def run(self):
        try:
            super().run()
        finally:
            for conn in list(self.lingering):
                util.close(conn.sock)
