"""Reloads under gunicorn: done once, in the master, off its main loop; what each found, told to every worker.

The master loads a new set in a thread of its own (``Reloads``): a burst of
requests while it loads (SIGHUP, the file watcher, POST /v1/admin/reload) is
one more load after it, never a queue of them, and SIGTERM drops whatever is
pending. The master's main loop then puts the set in force and replaces the
workers (server.gunicorn), so the signal loop never waits for a load.

The workers learn what each attempt found from a folder the server owns
(``SharedAttempts``): the last attempt, for GET /v1/status; and, for each
POST /v1/admin/reload, the outcome of the attempt that began after it was
asked for, which the worker that took the request waits for.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from supportpolicy.engine.errors import PolicyError
from supportpolicy.server.live import Attempt

log = logging.getLogger("supportpolicy.reloads")

ADMIN = "POST /v1/admin/reload"
WATCHED = "policy files changed"
PUBLISHED = "policy source: a new set is in force"  # server.policysource's follower asks
STALE_S = 600  # an answer no worker came for (it had answered 202) is removed after this long
POLL_S = 0.02
# How long a SIGHUP still to come for a claimed POST /v1/admin/reload is waited for, at most.
HUP_GRACE_S = 2.0


def _write(path: Path, document: dict) -> None:
    """Write whole or not at all: a reader sees the old file or the new one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
    temporary.write_bytes(json.dumps(document).encode())
    os.replace(temporary, path)


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


class SharedAttempts:
    """The folder where the master tells the workers what each reload attempt found."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.asked, self.answers = self.folder / "asked", self.folder / "answers"
        for path in (self.asked, self.answers):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.last = self.folder / "last-attempt.json"
        self._latest = None  # (the file's inode, time and size, the attempt it holds)

    # -- in a worker --------------------------------------------------------------------------------

    def ask(self) -> str:
        """Ask for a reload (then wake the master); the ticket its answer will carry."""
        ticket = f"{os.getpid()}-{uuid.uuid4().hex}"
        (self.asked / ticket).touch(exist_ok=False)
        return ticket

    def answer(self, ticket: str, within: float) -> tuple[Attempt, dict] | None:
        """The attempt that began after ``ticket`` was asked for, and the master's status after it; None when
        it has not ended within ``within`` seconds."""
        path, deadline = self.answers / f"{ticket}.json", time.monotonic() + within
        while True:
            document = _read(path)
            if document is not None:
                path.unlink(missing_ok=True)
                return Attempt.from_json(document["attempt"]), document["status"]
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_S)

    def latest(self) -> Attempt | None:
        """The master's last attempt (read again only when the file has changed)."""
        try:
            stat = self.last.stat()
        except OSError:
            return None
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._latest is None or self._latest[0] != version:
            document = _read(self.last)
            self._latest = (version, Attempt.from_json(document)) if document is not None else None
        return self._latest[1] if self._latest else None

    # -- in the master ------------------------------------------------------------------------------

    def claim(self) -> list[str]:
        """The reloads asked for so far: the attempt about to begin answers them."""
        tickets = []
        for entry in os.scandir(self.asked):
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            tickets.append(entry.name)
        return tickets

    def publish(self, attempt: Attempt, tickets: list[str], status) -> None:
        """Tell the workers: the last attempt, and to each ticket the attempt and ``status()``, the master's."""
        _write(self.last, attempt.as_json())
        if tickets:
            answer = {"attempt": attempt.as_json(), "status": status()}
            for ticket in tickets:
                _write(self.answers / f"{ticket}.json", answer)
        stale = time.time() - STALE_S
        for entry in os.scandir(self.answers):
            try:
                if entry.stat().st_mtime < stale:
                    os.unlink(entry.path)
            except FileNotFoundError:
                pass


class Reloads:
    """The master's reloads: checked one at a time in a thread, taken by the main loop (``take``) when done."""

    def __init__(self, live, shared: SharedAttempts, wake, refresh=None):
        self.live, self.shared, self.wake = live, shared, wake  # wake: bring the master's main loop round
        # refresh: with a policy source, read the set in force there into the folders before a reload asked
        # for here (SIGHUP, POST /v1/admin/reload); the follower's own reloads come after it has read it.
        self.refresh = refresh
        self._state = threading.Condition()
        self._reasons: list[str] = []
        self._done = None  # (attempt, candidate, tickets), until the main loop has put it in force
        self._stopped = False
        self._follow = False
        # The SIGHUPs still to come for POST /v1/admin/reload tickets claimed before their signal arrived: each is
        # that reload's, already under way, not a new one (until the deadline: signals sent together may merge).
        self._hups_to_come, self._hups_until = 0, 0.0
        self._stale = lambda: self.request(WATCHED)
        self._thread = threading.Thread(target=self._run, name="supportpolicy-reloads", daemon=True)

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def start(self, follow: bool, stale=None) -> None:
        """Start loading beside the main loop; ``follow``: the folders are watched (a change made while the
        server started, before its watcher was there, is then loaded too: through ``stale``, the watcher's
        wait for the folders to be quiet, when given)."""
        self._follow = follow
        self._stale = stale or (lambda: self.request(WATCHED))
        self._thread.start()

    def request(self, reason: str) -> None:
        """Ask for a reload (any thread, the signal loop too): returns at once."""
        with self._state:
            if reason == "SIGHUP" and self._hups_to_come and time.monotonic() < self._hups_until:
                self._hups_to_come -= 1  # the signal of a ticket an attempt has already answered or is answering
                return
            if not self._stopped and reason not in self._reasons:
                self._reasons.append(reason)
            self._state.notify_all()

    def stop(self) -> None:
        """SIGTERM: nothing pending or under way is put in force (the thread ends with the process)."""
        with self._state:
            self._stopped = True
            self._reasons.clear()
            self._done = None
            self._state.notify_all()

    def take(self):
        """A finished attempt for the main loop: (attempt, candidate, tickets), or None. The next attempt
        waits until ``taken()``, so that the master never forks while this thread loads."""
        with self._state:
            return None if self._stopped else self._done

    def taken(self) -> None:
        with self._state:
            self._done = None
            self._state.notify_all()

    def _run(self) -> None:
        if not self.live.warm() and self._follow:
            self._stale()
        while True:
            with self._state:
                while not self._stopped and (self._done is not None or not (self._reasons or self._asked())):
                    self._state.wait(timeout=1.0)
                if self._stopped:
                    return
                reasons, self._reasons = self._reasons, []
            tickets = self.shared.claim()
            if tickets:  # the SIGHUP that woke the master came with them, or is still to come
                with self._state:
                    self._hups_to_come = max(0, len(tickets) - ("SIGHUP" in reasons))
                    self._hups_until = time.monotonic() + HUP_GRACE_S
                reasons = [ADMIN] + [r for r in reasons if r not in ("SIGHUP", ADMIN)]
            reason = ", ".join(reasons) or ADMIN
            if self.refresh is not None and reasons != [PUBLISHED]:
                self.refresh()
            attempt, candidate = self._check(reason)
            with self._state:
                if self._stopped:
                    return
                if attempt is None:
                    continue
                self._done = (attempt, candidate, tickets)
            self.wake()

    def _check(self, reason: str):
        try:
            return self.live.check(reason, unchanged_is_news=reason != WATCHED)
        except Exception as exc:  # a bug, not the files: say so, and go on reloading
            log.exception("the reload failed")
            return Attempt(datetime.now(timezone.utc), reason, False, None, (PolicyError(
                ", ".join(map(str, self.live.roots)), 1, 1, "reload_failed",
                f"the server failed to reload ({type(exc).__name__}); the set in force is unchanged"),)), None

    def _asked(self) -> bool:
        """A POST /v1/admin/reload whose SIGHUP came while an attempt was under way waits in the folder."""
        return any(True for _ in os.scandir(self.shared.asked))
