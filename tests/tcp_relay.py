"""A TCP relay on loopback that a test can cut and restore: a database that goes away and comes back.

    python tests/tcp_relay.py HOST:PORT

listens on a free port of 127.0.0.1 and forwards every connection to HOST:PORT, byte for byte (no delay:
TCP_NODELAY on both sides, so a NOTIFY crosses it at once). It prints ``listening <port>`` when ready,
then reads commands on standard input, one a line, and answers each when it is done:

- ``cut``: the port stops accepting (a new connection is refused, as by a stopped server) and every
  relayed connection is closed on both sides; answers ``cut``.
- ``restore``: the same port accepts again; answers ``restored``.

End of input ends the relay, so it never outlives the test that started it. Only the relay's own
connections are touched: the server behind it, which other tests share, keeps running throughout.
"""
from __future__ import annotations

import socket
import sys
import threading

HOST = "127.0.0.1"


class Relay:
    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = 0
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.pairs: set[tuple[socket.socket, socket.socket]] = set()

    def listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        with self.lock:
            self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            listener, self.listener = self.listener, None
            pairs, self.pairs = self.pairs, set()
        if listener is not None:
            _close(listener)
        for pair in pairs:
            for side in pair:
                _close(side)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut: the listener is closed
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            pair = (client, upstream)
            for side in pair:
                side.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                if self.listener is not listener:  # cut while connecting
                    for side in pair:
                        _close(side)
                    return
                self.pairs.add(pair)
            threading.Thread(target=self._pump, args=(client, upstream, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, pair), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, pair) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        with self.lock:
            self.pairs.discard(pair)
        for side in pair:  # one side closed: the other is closed too, as a lost connection is
            _close(side)


def _close(side: socket.socket) -> None:
    try:
        side.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    side.close()


def main() -> int:
    host, _, port = sys.argv[1].rpartition(":")
    relay = Relay((host, int(port)))
    relay.listen()
    print(f"listening {relay.port}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "cut":
            relay.cut()
            print("cut", flush=True)
        elif command == "restore":
            relay.listen()
            print("restored", flush=True)
        else:
            print(f"unknown command {command!r}", flush=True)
    relay.cut()
    return 0


if __name__ == "__main__":
    sys.exit(main())
