"""Following the policy set in force in PostgreSQL (`serve --policy-source`), and telling the fleet about it.

The set in force is written to a folder of the replica's own, named by its
digest (``Cache``), under a temporary name renamed into place: never
half-written. A link names the folder of the set this replica follows, and
the server loads the set through that link with the same code that loads
folders (server.live), so a reload is the reload of a folder: checked whole
off to the side, put in force only when valid, the last good set kept
otherwise. The folder is also what the replica starts from when the
database cannot be reached.

The ``Follower`` runs in the master, in a thread with its own connection: it
LISTENs on the fleet's channel, re-checks every ``RECHECK_S`` in case a
notification was missed, writes a heartbeat with the digest this replica
decides with every ``HEARTBEAT_S``, and reconnects with backoff when the
database goes away (the replica keeps deciding with the last set it
verified meanwhile). What it knows (its state, the fleet) goes to a file the
workers read for GET /v1/status, /healthz and /metrics: no request waits on
the database for it.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from supportpolicy.server.storage.policysource import (
    FLEET_WINDOW_S,
    PolicyStore,
    SourceUnreachable,
    StoredFile,
)

log = logging.getLogger("supportpolicy.policysource")

RECHECK_S = 10.0  # a re-read of the set in force, for a notification missed while disconnected
HEARTBEAT_S = 2.0
TICK_S = 0.25  # the longest the follower waits for a notification before looking at its timers
BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 4.0)  # waits between reconnections, the last repeated
KEEP_SETS = 2  # sets kept in the cache besides those a replica's link names


class CannotStart(Exception):
    """The replica can neither reach the database nor start from a set it cached."""


def replica_name(given: str | None, port: int) -> str:
    return given or f"{socket.gethostname()}:{port}"


class Cache:
    """The sets a replica has loaded, one folder each (``<folder>/<digest>/{policies,rules}``), and a link
    naming the one it follows."""

    def __init__(self, folder: Path, replica: str):
        self.folder = Path(folder)
        self.link = self.folder / ("following-" + re.sub(r"[^A-Za-z0-9._-]+", "_", replica))

    @property
    def roots(self) -> tuple[Path, Path]:
        return self.link / "policies", self.link / "rules"

    def digest(self) -> str | None:
        """The digest of the set the link names; None when there is none (nothing loaded here yet)."""
        try:
            name = os.readlink(self.link)
        except OSError:
            return None
        return name if (self.folder / name / "policies").is_dir() else None

    def adopt(self) -> str | None:
        """Follow the set the newest link in the folder names (this replica's own under another name, when it
        was started on another port); its digest, or None when there is none."""
        links = sorted((p for p in self.folder.glob("following-*") if p.is_symlink()),
                       key=lambda p: p.lstat().st_mtime, reverse=True)
        for link in links:
            name = os.readlink(link)
            if (self.folder / name / "policies").is_dir():
                temporary = self.folder / f".link-{os.getpid()}-{uuid.uuid4().hex}"
                os.symlink(name, temporary)
                os.replace(temporary, self.link)
                return name
        return None

    def put(self, digest: str, files: list[StoredFile]) -> None:
        """Write the set (when not there already), then point the link at it in one rename."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / digest
        if not target.is_dir():
            self._write(target, files)
        temporary = self.folder / f".link-{os.getpid()}-{uuid.uuid4().hex}"
        os.symlink(digest, temporary)
        os.replace(temporary, self.link)
        self._prune(digest)

    def _write(self, target: Path, files: list[StoredFile]) -> None:
        temporary = self.folder / f".{target.name}.{os.getpid()}-{uuid.uuid4().hex}"
        try:
            for root in ("policies", "rules"):
                (temporary / root).mkdir(parents=True)
            for f in files:
                path = (temporary / f.path).resolve()
                if not f.path.startswith(("policies/", "rules/")) or temporary.resolve() not in path.parents:
                    raise ValueError(f"a stored policy file's path leaves its set: {f.path!r}")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(f.content)
            os.rename(temporary, target)
        except OSError:
            if not target.is_dir():  # another replica sharing the folder wrote the same set first: that will do
                raise
        finally:
            shutil.rmtree(temporary, ignore_errors=True)

    def _prune(self, keep: str) -> None:
        """Remove the sets no link names, but the newest ``KEEP_SETS`` (a rollback often wants the last one)."""
        named = {os.readlink(p) for p in self.folder.glob("following-*") if p.is_symlink()} | {keep}
        others = sorted((p for p in self.folder.iterdir() if p.is_dir() and not p.is_symlink()
                         and not p.name.startswith(".") and p.name not in named),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for old in others[KEEP_SETS:]:
            shutil.rmtree(old, ignore_errors=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Follower:
    """The master's view of the policy source: starts the replica, follows the set in force, beats."""

    def __init__(self, url: str, cache: Cache, replica: str, echo=print):
        self.url, self.cache, self.replica, self.echo = url, cache, replica, echo
        self.where = PolicyStore(url).where
        self.live = None  # the LivePolicy whose digest the heartbeat tells (set once the server has one)
        self.report_path: Path | None = None
        self.on_change = None  # asks the master to reload, once a new set is in the cache
        self.state, self.since = "following", _now()
        self.last_checked = self.last_error = self.published = None
        self.fleet: list = []
        self._lock = threading.Lock()  # the cache and the state: the follower's thread and a reload's
        self._stopped = threading.Event()
        self._beat_now = threading.Event()
        self._failures = 0  # reconnections failed in a row
        self._thread = threading.Thread(target=self._run, name="supportpolicy-policy-source", daemon=True)

    # -- at start ---------------------------------------------------------------------------------------

    def begin(self) -> str:
        """Before serving: the set in force, put in the cache; the cache's own when the database cannot be
        reached. What was used, said in a sentence; CannotStart when there is neither."""
        import psycopg

        try:
            with PolicyStore(self.url) as store:
                digest = self._sync(store)
        except (OSError, ValueError) as exc:  # the cache cannot be written (a full disk, a path refused)
            raise CannotStart(f"cannot keep the set in force in {self.cache.folder}: {exc}") from None
        except (SourceUnreachable, psycopg.Error) as exc:  # not reached, or lost while reading
            with self._lock:
                self.state, self.since = "unreachable", _now()
            return self._from_cache(_said(exc, self.where))
        if digest is None:
            return self._from_cache(f"nothing has been published to the policy source {self.where}")
        return f"the set in force at {self.where}"

    def _from_cache(self, why: str) -> str:
        cached = self.cache.digest() or (self.cache.adopt() if self.cache.folder.is_dir() else None)
        if cached is None:
            raise CannotStart(f"{why}, and this replica has no set of its own to start from in {self.cache.folder} "
                              "(it keeps the last set it loaded there). Start it once the database can be reached "
                              "and a set has been published to it (`supportpolicy publish --to ...`)")
        self.last_error = why
        return f"the set it last loaded, {cached} (cached in {self.cache.folder}): {why}"

    # -- in the master ----------------------------------------------------------------------------------

    def start(self, live, on_change, report_path: Path) -> None:
        self.live, self.on_change, self.report_path = live, on_change, Path(report_path)
        self._write_report()
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def beat_soon(self) -> None:
        """The master put a new set in force: tell the fleet without waiting for the next heartbeat."""
        self._beat_now.set()

    def refresh(self) -> None:
        """Read the set in force again, now (POST /v1/admin/reload, SIGHUP), with a connection of its own."""
        try:
            with PolicyStore(self.url) as store:
                self._sync(store)
        except Exception as exc:  # unreachable (or a bug): the reload goes on with the set cached
            with self._lock:
                self.last_error = _said(exc, self.where)
        self._write_report()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._follow()
                return
            except Exception as exc:  # the connection lost (or a bug): say so, keep deciding, reconnect
                self._unreachable(_said(exc, self.where))
                self._write_report()
                self._stopped.wait(BACKOFF_S[min(self._failures, len(BACKOFF_S) - 1)])
                self._failures += 1

    def _follow(self) -> None:
        with PolicyStore(self.url) as store:
            store.listen()
            self._sync(store, tell=True)
            self._failures = 0
            next_check, next_beat = time.monotonic() + RECHECK_S, 0.0
            while not self._stopped.is_set():
                now = time.monotonic()
                if now >= next_beat or self._beat_now.is_set():
                    self._beat_now.clear()
                    self._beat(store)
                    next_beat = now + HEARTBEAT_S
                if now >= next_check:
                    self._sync(store, tell=True)
                    next_check = now + RECHECK_S
                if store.notified(TICK_S):
                    self._sync(store, tell=True)
                    self._write_report()
            # Stopping (SIGTERM): leave the fleet now rather than a minute after the last heartbeat, if the
            # master is still there to say so (it exits once its workers have).
            store.leave(self.replica)

    def _sync(self, store: PolicyStore, tell: bool = False) -> str | None:
        """Read which set is in force; put a new one in the cache (and ask for a reload when ``tell``)."""
        digest = store.in_force()
        with self._lock:
            changed = digest is not None and digest != self.cache.digest()
            if changed:
                started = time.perf_counter()
                self.cache.put(digest, store.files(digest))
                self.echo(f"supportpolicy: policy source: {digest} is in force there; read and written here in "
                          f"{(time.perf_counter() - started) * 1000:.0f} ms")
            if self.state != "following":
                self.state, self.since = "following", _now()
                self.echo(f"supportpolicy: the policy source {self.where} can be reached again")
            self.published, self.last_checked, self.last_error = digest, _now(), None
        if changed and tell and self.on_change is not None:
            self.on_change()
        return digest

    def _beat(self, store: PolicyStore) -> None:
        if self.live is not None:
            store.heartbeat(self.replica, socket.gethostname(), os.getpid(), self.live.current.digest)
        self.fleet = store.fleet(FLEET_WINDOW_S)
        self._write_report()

    def _unreachable(self, why: str) -> None:
        with self._lock:
            if self.state != "unreachable":
                self.state, self.since = "unreachable", _now()
                self.echo(f"supportpolicy: {why}; still deciding with the last set verified, reconnecting")
            self.last_error = why

    # -- what the workers read --------------------------------------------------------------------------

    def report(self) -> dict:
        with self._lock:
            source = {"kind": "postgresql", "where": self.where, "state": self.state, "since": self.since,
                      "last_checked": self.last_checked, "last_error": self.last_error,
                      "published": self.published}
        replicas = [{"replica": r.replica, "host": r.host, "pid": r.pid, "digest": r.digest,
                     "seen_at": r.seen_at.isoformat(), "caught_up": r.digest == self.published} for r in self.fleet]
        digests = {}
        for r in replicas:
            digests[r["digest"]] = digests.get(r["digest"], 0) + 1
        return {"policy_source": source,
                "fleet": {"published": self.published, "replicas": replicas, "digests": digests}}

    def _write_report(self) -> None:
        if self.report_path is None:
            return
        temporary = self.report_path.with_name(f".{self.report_path.name}.{uuid.uuid4().hex}")
        try:
            temporary.write_bytes(json.dumps(self.report()).encode())
            os.replace(temporary, self.report_path)
        except OSError as exc:  # the folder removed under it (the server stopping): the workers keep the last
            log.warning("cannot write the policy source's report: %s", exc)


def _said(exc: Exception, where: str) -> str:
    if isinstance(exc, SourceUnreachable):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"lost the policy source {where}: {text}"


class SourceReport:
    """In a worker: what the master's follower last wrote (read again only when the file changed)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._read = (None, None)

    def latest(self) -> dict | None:
        try:
            stat = self.path.stat()
        except OSError:
            return self._read[1]
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._read[0] != version:
            try:
                self._read = (version, json.loads(self.path.read_bytes()))
            except (OSError, ValueError):
                pass
        return self._read[1]
