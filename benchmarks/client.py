"""The benchmarks' HTTP client: loopback targets only, keep-alive connections, percentiles.

Benchmarks talk to a server on this machine and to nothing else: a target is
either one the benchmark started on 127.0.0.1, or a URL whose host resolves to
loopback addresses only (checked once, and the address is then pinned, so a
name that resolves differently later cannot send the load elsewhere).

``KeepAlive`` is one HTTP/1.1 connection that stays open for as long as the
server allows and is reopened when the server closes it (gunicorn's sync
workers close it after every response; the count of connections opened says
which it was). A request that fails is never retried: a benchmark counts it.
"""
from __future__ import annotations

import http.client
import ipaddress
import json
import math
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

HOST = "127.0.0.1"


class NotLoopback(ValueError):
    """The URL is not an http:// URL of this machine's loopback interface."""


@dataclass(frozen=True)
class Target:
    address: str  # the IP connected to, already checked to be loopback
    port: int
    base_path: str = ""  # prefix of every path, for a server behind a path ("" for none)

    @property
    def url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}{self.base_path}"

    @classmethod
    def local(cls, port: int) -> "Target":
        return cls(HOST, port)

    @classmethod
    def from_url(cls, url: str) -> "Target":
        """The target for ``url``, or NotLoopback saying why it is refused."""
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise NotLoopback(f"{url!r}: only http:// URLs of a loopback address are accepted")
        try:
            port = parts.port or 80
        except ValueError as error:
            raise NotLoopback(f"{url!r}: {error}") from None
        if not parts.hostname:
            raise NotLoopback(f"{url!r} names no host")
        try:
            infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise NotLoopback(f"{parts.hostname!r} does not resolve: {error}") from None
        addresses = sorted({info[4][0] for info in infos})
        # Every address must be loopback: a name that also resolves elsewhere could be sent there.
        others = [a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback]
        if others or not addresses:
            raise NotLoopback(f"{parts.hostname!r} resolves to {', '.join(others or addresses) or 'nothing'}, "
                              "not a loopback address: this benchmark only loads a server on this machine")
        return cls(addresses[0], port, parts.path.rstrip("/"))


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class KeepAlive:
    """One connection to ``target``, reopened whenever the server has closed it."""

    def __init__(self, target: Target, timeout: float = 10.0):
        self.target, self.timeout = target, timeout
        self.connection: http.client.HTTPConnection | None = None
        self.opened = 0  # connections opened so far

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, bytes]:
        """Status and body; OSError or http.client.HTTPException when the exchange fails."""
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.target.address, self.target.port,
                                                         timeout=self.timeout)
            self.opened += 1
        try:
            self.connection.request(method, self.target.base_path + path, body=body, headers=headers or {})
            response = self.connection.getresponse()
            data = response.read()
        except BaseException:
            self.close()  # its state is unknown: the next request starts afresh
            raise
        if response.will_close:
            self.close()
        return response.status, data

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def request_json(target: Target, method: str, path: str, body: bytes | None = None,
                 timeout: float = 5.0) -> tuple[int, object]:
    """One request on a fresh connection: status and the decoded body (None when it is not JSON)."""
    client = KeepAlive(target, timeout)
    try:
        status, data = client.request(method, path, body)
    finally:
        client.close()
    try:
        return status, json.loads(data)
    except ValueError:
        return status, None


def get_json(target: Target, path: str, timeout: float = 5.0) -> tuple[int, object]:
    """One GET on a fresh connection: status and the decoded body (None when it is not JSON)."""
    return request_json(target, "GET", path, timeout=timeout)


def wait_until_healthy(target: Target, timeout: float, still_starting=lambda: True) -> dict:
    """Poll GET /healthz until it answers 200 and return its body; TimeoutError after ``timeout``
    seconds, RuntimeError as soon as ``still_starting()`` is false (the server has exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not still_starting():
            raise RuntimeError(f"the server for {target.url} exited before answering /healthz")
        try:
            status, body = get_json(target, "/healthz", timeout=2.0)
            if status == 200 and isinstance(body, dict):
                return body
        except (OSError, http.client.HTTPException):
            pass  # not listening yet
        time.sleep(0.1)
    raise TimeoutError(f"{target.url}/healthz did not answer 200 within {timeout:.0f} s")


def percentile(sorted_values, q: float):
    """Nearest-rank percentile of an already sorted sequence (None when it is empty)."""
    if not len(sorted_values):
        return None
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]
