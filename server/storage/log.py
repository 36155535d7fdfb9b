"""The decision log's record and the behaviour every store shares.

A decision is written before its response is sent, and acknowledged only
once written. The embedded store is SQLite in WAL mode: each decision is its
own transaction, on disk in the write-ahead log when the call returns, so a
killed process loses nothing it acknowledged. Several servers share a
PostgreSQL database instead; the table is the same.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import orjson

from supportpolicy.engine.decide.decision import Decision
from supportpolicy.engine.errors import EngineError

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
    def of(cls, request: dict, decision: Decision, document: dict | None = None) -> "LogRecord":
        """The record of a decision (``document``: its JSON form, when the caller has it already)."""
        return cls(decision.decision_id, utc_text(datetime.now(timezone.utc)), decision.customer,
                   decision.facts.received_at.isoformat(), decision.policy.digest, request,
                   document if document is not None else decision.as_json())

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
