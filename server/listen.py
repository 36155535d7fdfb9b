"""The server's listening socket, bound before anything says "listening".

``supportpolicy serve`` binds the address itself and hands the bound socket
to gunicorn (``fd://N``), so an address in use is found before the banner,
said in words (with the process holding it, when this user may see it), and
never retried: gunicorn would try five times, a second apart, and then exit
with its own text.
"""
from __future__ import annotations

import errno
import socket

import psutil


class CannotListen(Exception):
    """The address cannot be listened on; the message says why, for the user."""


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` and listening (port 0: a free port); CannotListen otherwise."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM,
                                                                 flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise CannotListen(f"cannot listen on {host}: {exc.strerror}") from None
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn: a restart need not wait
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CannotListen(f"port {port} on {host} is already in use{holder(port)}; stop what holds it, "
                               "or give another --port") from None
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def holder(port: int) -> str:
    """`` by pid N (command line)`` for the process listening on ``port``, when this user may see it; else ''."""
    try:
        listening = [c for c in psutil.net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port]
    except (psutil.Error, OSError):  # some systems show sockets to their owner or root only
        return ""
    for connection in listening:
        if connection.pid is None:
            continue
        try:
            command = " ".join(" ".join(psutil.Process(connection.pid).cmdline()).split()) or "?"
        except psutil.Error:
            command = "?"
        return f" by pid {connection.pid} ({command[:200]})"
    return " by a process of another user" if listening else ""
