"""The decision log: every decision, kept so it can be shown months later.

A decision is written before its response is sent, and acknowledged only
once written. The embedded store is SQLite in WAL mode: each decision is its
own transaction, on disk in the write-ahead log when the call returns, so a
killed process loses nothing it acknowledged. Several servers share a
PostgreSQL database instead; the table is the same.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

from engine.errors import EngineError

TABLE = """
CREATE TABLE IF NOT EXISTS decisions (
    decision_id   TEXT PRIMARY KEY,   -- a UUIDv7: sorts by when it was made
    decided_at    TEXT NOT NULL,      -- UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ (sorts as text)
    customer      TEXT NOT NULL,
    received_at   TEXT NOT NULL,      -- as the request gave it
    policy_digest TEXT NOT NULL,
    request       TEXT NOT NULL,      -- JSON, as received
    decision      TEXT NOT NULL       -- JSON, as answered
)"""
INDEXES = ("CREATE INDEX IF NOT EXISTS decisions_by_time ON decisions (decided_at)",
           "CREATE INDEX IF NOT EXISTS decisions_by_customer ON decisions (customer, decided_at)")
COLUMNS = "decision_id, decided_at, customer, received_at, policy_digest, request, decision"
PRUNE_EVERY = 3600.0  # seconds between retention passes in one process
MAX_PAGE = 1000


class DecisionLogUnavailable(EngineError):
    status = 503
    slug = "decision-log-unavailable"
    title = "The decision could not be logged"


def utc_text(instant: datetime) -> str:
    """The instant in UTC as the log stores it; instants beyond year 1 or 9999 in UTC are clamped to them."""
    try:
        return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except OverflowError:
        return "0001-01-01T00:00:00.000000Z" if instant.year < 5000 else "9999-12-31T23:59:59.999999Z"


@dataclass(frozen=True)
class LogRecord:
    decision_id: str
    decided_at: str
    customer: str
    received_at: str
    policy_digest: str
    request: dict
    decision: dict

    @classmethod
    def of(cls, request: dict, decision: dict) -> "LogRecord":
        return cls(decision["decision_id"], utc_text(datetime.now(timezone.utc)), decision["customer"],
                   decision["received_at"], decision["policy"]["digest"], request, decision)

    def row(self) -> tuple:
        return (self.decision_id, self.decided_at, self.customer, self.received_at, self.policy_digest,
                orjson.dumps(self.request).decode(), orjson.dumps(self.decision).decode())

    @classmethod
    def from_row(cls, row) -> "LogRecord":
        return cls(*row[:5], orjson.loads(row[5]), orjson.loads(row[6]))

    def as_json(self) -> dict:
        return {"decision_id": self.decision_id, "decided_at": self.decided_at, "customer": self.customer,
                "received_at": self.received_at, "policy_digest": self.policy_digest,
                "request": self.request, "decision": self.decision}


class DecisionLog:
    """Shared behaviour; subclasses open connections and name their placeholder."""

    placeholder = "?"

    def __init__(self, retain_days: int | None = None):
        self.retain_days = retain_days
        self._lock = threading.Lock()
        self._connection = None
        self._pid = None
        self._next_prune = 0.0

    # -- connections: one per process, opened after gunicorn forks ------------
    def _db(self):
        if self._pid != os.getpid():
            self._connection, self._pid = self._connect(), os.getpid()
        return self._connection

    def _connect(self):
        raise NotImplementedError

    def _run(self, sql: str, parameters=(), fetch: bool = False):
        sql = sql.replace("?", self.placeholder)
        with self._lock, self._failures():
            cursor = self._db().execute(sql, parameters)
            return cursor.fetchall() if fetch else cursor.rowcount

    def _ensure(self) -> None:
        """Connected, in this process (opening the store on first use)."""
        with self._lock, self._failures():
            self._db()

    @contextmanager
    def _failures(self):
        try:
            yield
        except Exception as exc:  # a store that fails must not take the process down
            self._pid = None
            raise DecisionLogUnavailable(f"the decision log failed: {type(exc).__name__}: {exc}") from None

    # -- the log --------------------------------------------------------------
    def _turn(self):
        """Held while writing: stores whose writers must take turns say how."""
        return nullcontext()

    def write(self, record: LogRecord) -> None:
        """Store the decision; raises DecisionLogUnavailable when it cannot be stored."""
        with self._turn():
            self._run(f"INSERT INTO decisions ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", record.row())
        if self.retain_days is not None and time.monotonic() >= self._next_prune:
            self.prune()

    def get(self, decision_id: str) -> LogRecord | None:
        rows = self._run(f"SELECT {COLUMNS} FROM decisions WHERE decision_id = ?", (decision_id,), fetch=True)
        return LogRecord.from_row(rows[0]) if rows else None

    def find(self, customer: str | None = None, since: datetime | None = None, until: datetime | None = None,
             after: str | None = None, limit: int = 100) -> list[LogRecord]:
        """Decisions made in [since, until), oldest first, after the decision id ``after`` (for paging)."""
        where, parameters = [], []
        for clause, value in (("customer = ?", customer), ("decided_at >= ?", since and utc_text(since)),
                              ("decided_at < ?", until and utc_text(until)), ("decision_id > ?", after)):
            if value is not None:
                where.append(clause)
                parameters.append(value)
        sql = f"SELECT {COLUMNS} FROM decisions {'WHERE ' + ' AND '.join(where) if where else ''} " \
              f"ORDER BY decision_id LIMIT {min(max(limit, 1), MAX_PAGE)}"
        return [LogRecord.from_row(row) for row in self._run(sql, tuple(parameters), fetch=True)]

    def prune(self, now: datetime | None = None) -> int:
        """Delete entries older than the retention period; never a younger one."""
        if self.retain_days is None:
            return 0
        cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=self.retain_days)
        self._next_prune = time.monotonic() + PRUNE_EVERY
        return self._run("DELETE FROM decisions WHERE decided_at < ?", (utc_text(cutoff),))

    def setup(self) -> None:
        """Connect, creating the table if needed (before a server forks its workers)."""
        self._ensure()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = self._pid = None
            self._closed()

    def _closed(self) -> None:
        """A hook for stores that keep more than a connection."""


class SQLiteLog(DecisionLog):
    """SQLite in WAL mode, shared by the server's worker processes.

    Two things kept SQLite off the request path's fast track: writers from
    several processes waited for each other in SQLite's busy handler, which
    sleeps in steps of milliseconds, and every thousand pages a write stopped
    to checkpoint the WAL into the database. So writers take turns on a file
    lock (the kernel wakes the next one at once), and checkpoints run in a
    background thread of each writing process.
    """

    CHECKPOINT_EVERY = 1.0  # seconds
    WAL_LIMIT = 32 * 1024 * 1024  # bytes of WAL at which writers pause for it to start over
    FRAMES_LEFT = 256  # pages written since the last pass, few enough to copy while writers wait

    def __init__(self, path: Path, retain_days: int | None = None):
        super().__init__(retain_days)
        self.path = Path(path)
        self.where = str(self.path)
        self._turns = None  # the writers' lock file, per process
        self._generation = 0
        self._inode = None

    def _open(self, busy_timeout: float = 30):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout)

    def _connect(self):
        connection = self._open()
        _retry_while_locked(lambda: _setup_sqlite(connection))
        self._inode = os.stat(self.path).st_ino
        self._turns = open(self.path.with_name(self.path.name + ".lock"), "a+b")
        self._generation += 1
        threading.Thread(target=self._checkpoint, args=(self._generation,), daemon=True,
                         name="decision-log-checkpoint").start()
        return connection

    def _closed(self) -> None:
        self._generation += 1  # stops the checkpointer

    def _checkpoint(self, generation: int) -> None:
        """Runs while this connection is the process's (closing, reconnecting or forking ends it).

        A passive checkpoint copies the WAL into the database without stopping
        writers, but under constant writes it never catches up with them, and
        SQLite starts the WAL over only once one has: the WAL (and the index
        every process maps) would grow for as long as the load lasts. So once
        the WAL passes WAL_LIMIT, the checkpointer takes the writers' turn, on
        a lock file of its own, and finishes the job with a truncating
        checkpoint: only the frames written since the passive one are left.
        """
        # A reader in the way makes a checkpoint give up at once rather than hold the writers up.
        connection = self._open(busy_timeout=0.1)
        wal = self.path.with_name(self.path.name + "-wal")
        pid = os.getpid()
        while self._generation == generation and os.getpid() == pid:
            time.sleep(self.CHECKPOINT_EVERY)  # nothing touches the files before this: a new log may be removed
            try:
                # Each passive pass copies what was written during the one before, so a few leave
                # little for the writers to wait on.
                for _ in range(4):
                    _, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames - copied < self.FRAMES_LEFT:
                        break
                if _size(wal) > self.WAL_LIMIT:
                    with open(self.path.with_name(self.path.name + ".lock"), "a+b") as turns:
                        fcntl.flock(turns, fcntl.LOCK_EX)  # released when closed
                        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except (sqlite3.Error, OSError):
                pass  # a busy, failing or removed database: the next round tries again
        connection.close()

    @contextmanager
    def _turn(self):
        self._ensure()
        fcntl.flock(self._turns, fcntl.LOCK_EX)
        try:
            if _inode(self.path) != self._inode:
                # The file was moved or deleted under us: a write now would be lost with it.
                with self._lock:
                    self._pid = None
                fcntl.flock(self._turns, fcntl.LOCK_UN)
                self._ensure()
                fcntl.flock(self._turns, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(self._turns, fcntl.LOCK_UN)


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _setup_sqlite(connection) -> None:
    if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        connection.execute("PRAGMA journal_mode=WAL")
    # NORMAL: a commit is in the WAL file when it returns, so it survives the
    # process being killed (not the machine losing power).
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does it
    connection.execute(TABLE)
    for index in INDEXES:
        connection.execute(index)


def _retry_while_locked(setup, seconds: float = 10.0) -> None:
    """Set-up statements that meet another process setting up fail at once with "locked": try again."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return setup()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class PostgresLog(DecisionLog):
    placeholder = "%s"

    def __init__(self, url: str, retain_days: int | None = None):
        super().__init__(retain_days)
        self.url = url
        self.where = url.split("@")[-1]  # without the password

    def _connect(self):
        import psycopg  # only needed for this store

        connection = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        with connection.transaction():
            # Servers starting together would race to create the table; one at a time.
            connection.execute("SELECT pg_advisory_xact_lock(7411016372)")
            connection.execute(TABLE)
            for index in INDEXES:
                connection.execute(index)
        return connection


def default_data_dir() -> Path:
    """The user's data folder for supportpolicy (XDG_DATA_HOME, or ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "supportpolicy"


def open_log(target: str | None = None, data_dir: Path | None = None, retain_days: int | None = None) -> DecisionLog:
    """``target``: a postgresql:// URL, or None for SQLite in ``data_dir`` (default: the user's data folder)."""
    if target and target.startswith(("postgresql://", "postgres://")):
        return PostgresLog(target, retain_days)
    if target:
        raise ValueError(f"{target!r} is not a postgresql:// URL; leave it out for SQLite in the data folder")
    return SQLiteLog((data_dir or default_data_dir()) / "decisions.sqlite3", retain_days)
