"""The decision log's table, and the behaviour every store shares.

A decision is written before its response is sent, and acknowledged only
once it is stored. Writers of one process share commits (group commit:
whoever finds no commit under way commits everything queued, the others wait
for it), and every store serialises commits across processes and servers,
so the log has one order: its commit order. ``seq`` numbers records in that
order, and ``decided_at`` never goes back along it, so a follower reading
"after the last decision I saw" (or "since its time") never misses one that
commits later. A store may acknowledge a record once it is safe elsewhere and
commit it behind (SQLite's journal, server.storage.journal): it then brings
the table up to date before every read that must see it (``_catch_up``).

What a record keeps of a request's personal data is the log's ``privacy``
(server.storage.privacy): each record is masked as it is written, and names
the fields it masked. The record itself is server.storage.record.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from supportpolicy.engine.errors import EngineError, FieldError, InvalidRequest
from supportpolicy.server.storage import idempotency
from supportpolicy.server.storage.groupcommit import GroupCommit
from supportpolicy.server.storage.idempotency import Earlier, IdempotencyKey, IdempotencyKeyReused
from supportpolicy.server.storage.privacy import KEEP_ALL, LogPrivacy
from supportpolicy.server.storage.record import COLUMNS, LogRecord, kept_key, utc_text

__all__ = ["COLUMNS", "DecisionLog", "DecisionLogUnavailable", "LogRecord", "MAX_PAGE", "kept_key", "table",
           "utc_text"]

INDEXES = ("CREATE INDEX IF NOT EXISTS decision_log_by_time ON decisions (decided_at)",
           "CREATE INDEX IF NOT EXISTS decision_log_by_customer ON decisions (customer, seq)",
           "CREATE INDEX IF NOT EXISTS decision_log_by_ticket ON decisions (ticket_id, seq) "
           "WHERE ticket_id IS NOT NULL")
PRUNE_EVERY = 3600.0  # seconds between retention passes in one process
MAX_PAGE = 1000


def table(seq: str) -> str:
    """The table, with ``seq`` the store's own auto-numbering column type."""
    return f"""
CREATE TABLE IF NOT EXISTS decisions (
    seq           {seq},              -- commit order
    decision_id   TEXT NOT NULL UNIQUE,  -- a UUIDv7
    decided_at    TEXT NOT NULL,      -- UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ (sorts as text); never back along seq
    customer      TEXT NOT NULL,
    ticket_id     TEXT,               -- the caller's own id, when it gave one
    received_at   TEXT NOT NULL,      -- as the request gave it
    policy_digest TEXT NOT NULL,
    request       TEXT NOT NULL,      -- JSON, as received, less what privacy names
    decision      TEXT NOT NULL,      -- JSON, as answered
    privacy       TEXT                -- JSON: the request's fields masked; NULL when it is kept as received
)"""


class DecisionLogUnavailable(EngineError):
    status = 503
    slug = "decision-log-unavailable"
    title = "The decision could not be logged"


def append(transaction, placeholder: str, rows: list[tuple]) -> list[tuple]:
    """Within ``transaction``: record rows (LogRecord.row) at the end of the log, in the order given; returns
    the rows as written.

    Commit order is the log's order: a record decided earlier but committed later takes the time of the one
    before it, so decided_at never goes back. A record already in the log (the same decision_id) stays as it is.
    """
    if not rows:
        return []
    ordered = in_order(rows, transaction.scalar("SELECT decided_at FROM decisions ORDER BY seq DESC LIMIT 1"))
    marks = ", ".join([placeholder] * len(COLUMNS.split(",")))
    transaction.insert(f"INSERT INTO decisions ({COLUMNS}) VALUES ({marks}) ON CONFLICT (decision_id) DO NOTHING",
                       ordered)
    return ordered


def in_order(rows: list[tuple], last: str | None = None) -> list[tuple]:
    """The rows, each taking the time of the one before it (or ``last``) when its own is earlier."""
    ordered = []
    for row in rows:
        if last and row[1] < last:
            row = (row[0], last) + tuple(row[2:])
        last = row[1]
        ordered.append(row)
    return ordered


class DecisionLog:
    """Shared behaviour; a store opens connections, says how commits take turns, and names its placeholder."""

    placeholder = "?"

    def __init__(self, retain_days: int | None = None, privacy: LogPrivacy = KEEP_ALL):
        self.retain_days = retain_days
        self.privacy = privacy  # what records keep of a request's personal data
        self._lock = threading.Lock()  # one connection per process, used by one thread at a time
        self._connection = None
        self._pid = None
        self._next_prune = 0.0
        self._commits = GroupCommit(self._commit)

    # -- connections: one per process, opened after gunicorn forks ------------
    def _db(self):
        if self._pid != os.getpid():
            self._connection, self._pid = self._connect(), os.getpid()
        return self._connection

    def _connect(self):
        raise NotImplementedError

    def _drop(self) -> None:
        """Let go of a connection that failed (closing it, so nothing leaks), to open a new one next time."""
        if self._connection is not None and self._pid == os.getpid():
            try:
                self._connection.close()
            except Exception:  # already broken: closing is all that was left to do
                pass
        self._connection = self._pid = None

    def _broken(self, exc: Exception) -> bool:
        """Whether the connection itself is unusable after ``exc`` (else the transaction alone failed)."""
        return True

    @contextmanager
    def _failures(self):
        try:
            yield
        except EngineError:
            raise
        except Exception as exc:  # a store that fails must not take the process down
            if self._broken(exc):
                self._drop()
            raise DecisionLogUnavailable(f"the decision log failed: {type(exc).__name__}: {exc}") from None

    def _run(self, sql: str, parameters=(), fetch: bool = False):
        sql = sql.replace("?", self.placeholder)
        with self._lock, self._failures():
            cursor = self._db().execute(sql, parameters)
            return cursor.fetchall() if fetch else cursor.rowcount

    # -- writing ----------------------------------------------------------------
    def write(self, record: LogRecord) -> LogRecord:
        """Store the decision, and return the record that stands for it in the log: ``record``, or, when its
        idempotency key was used before with the same body, the decision that use was given (and nothing is
        written). Raises IdempotencyKeyReused when the key came with another body, DecisionLogUnavailable
        when the decision cannot be stored."""
        return self.write_many([record])[0]

    def write_many(self, records: list[LogRecord]) -> list[LogRecord]:
        """Store these decisions, all or none; stored when this returns (committed, or, by SQLite's journal, safe
        to be committed behind). Returns the record standing for each (see write); an IdempotencyKeyReused is
        raised once the transaction has committed."""
        kept = [record.kept(self.privacy) for record in records]
        uses = self._store(kept)
        if self.retain_days is not None and time.monotonic() >= self._next_prune:
            self.prune()
        return [record if use is None else self._first_given(stored.idempotency, use)
                for record, stored, use in zip(records, kept, uses)]

    def _store(self, records: list[LogRecord]) -> list[Earlier | None]:
        """Store records kept as the log keeps them, acknowledged once safe: by default, in the table."""
        return self._commits.submit(records)

    def _commit(self, records: list[LogRecord]) -> list[Earlier | None]:
        """One transaction for every record given (the group commit's leader calls it); for each record, None
        when it was written, else the earlier use of its idempotency key, which kept it from being written."""
        with self._lock, self._failures():
            with self._transaction() as transaction:
                uses = idempotency.earlier_uses(transaction, self.placeholder, records)
                written = [record for record, use in zip(records, uses) if use is None]
                rows = append(transaction, self.placeholder, [record.row() for record in written])
                keys = [idempotency.key_row(replace(record, decided_at=row[1]))
                        for record, row in zip(written, rows) if record.idempotency is not None]
                if keys:
                    transaction.insert(idempotency.insert_sql(self.placeholder), keys)
        return uses

    def _first_given(self, key: IdempotencyKey, use: Earlier) -> LogRecord:
        if use.fingerprint != key.fingerprint:
            raise IdempotencyKeyReused(key)
        first = self.get(use.decision_id)
        if first is None:  # removed by retention between the commit and now: the key went with it
            raise DecisionLogUnavailable("the decision this Idempotency-Key gave has just been removed by "
                                         "retention; send the request again")
        return first

    def _transaction(self):
        """A context giving a transaction (``scalar(sql)``, ``rows(sql, parameters)``, ``insert(sql, rows)``,
        ``execute(sql, parameters)``: the rows it changed) on this process's
        connection, which holds the log's write turn (across processes and servers) from its start until
        it commits, and rolls back on any error."""
        raise NotImplementedError

    @contextmanager
    def turn(self):
        """A transaction holding the log's write turn (see _transaction); a failure is DecisionLogUnavailable."""
        with self._lock, self._failures(), self._transaction() as transaction:
            yield transaction

    # -- reading ----------------------------------------------------------------
    def read(self, sql: str, parameters=()) -> list:
        return self._run(sql, parameters, fetch=True)

    def get(self, decision_id: str) -> LogRecord | None:
        sql = f"SELECT {COLUMNS} FROM decisions WHERE decision_id = ?"
        rows = self._run(sql, (decision_id,), fetch=True)
        if not rows and self._catch_up():
            rows = self._run(sql, (decision_id,), fetch=True)
        return LogRecord.from_row(rows[0]) if rows else None

    def _catch_up(self) -> bool:
        """Commit what was acknowledged but not yet committed to the table; whether there was any."""
        return False

    def keyed(self, key: IdempotencyKey) -> LogRecord | None:
        """The decision this idempotency key gave, None when it gave none; IdempotencyKeyReused when it came with
        another body."""
        columns = ", ".join(f"d.{c.strip()}" for c in COLUMNS.split(","))
        rows = self._run(f"SELECT k.fingerprint, {columns} FROM idempotency_keys k JOIN decisions d "
                         "ON d.decision_id = k.decision_id WHERE k.scope = ? AND k.key = ?", (key.scope, key.key),
                         fetch=True)
        if not rows:
            return None
        if rows[0][0] not in (key.fingerprint, kept_key(key, self.privacy).fingerprint):
            raise IdempotencyKeyReused(key)
        return LogRecord.from_row(rows[0][1:])

    def find(self, customer: str | None = None, since: datetime | None = None, until: datetime | None = None,
             after: str | None = None, limit: int = 100, *, ticket_id: str | None = None,
             newest_first: bool = False) -> list[LogRecord]:
        """Decisions made in [since, until), in the log's (commit) order or, ``newest_first``, the reverse of it,
        after the decision ``after`` in that order."""
        where, parameters = [], []
        self._catch_up()
        if after is not None:
            position = self._run("SELECT seq FROM decisions WHERE decision_id = ?", (after,), fetch=True)
            if not position:
                raise InvalidRequest(f"no logged decision has the id {after!r} given as after",
                                     [FieldError("after", "names no logged decision (it may have been removed "
                                                          "by retention); start again with since", "parameter")])
            where.append("seq < ?" if newest_first else "seq > ?")
            parameters.append(position[0][0])
        for clause, value in (("customer = ?", customer), ("ticket_id = ?", ticket_id),
                              ("decided_at >= ?", since and utc_text(since)),
                              ("decided_at < ?", until and utc_text(until))):
            if value is not None:
                where.append(clause)
                parameters.append(value)
        sql = f"SELECT {COLUMNS} FROM decisions {'WHERE ' + ' AND '.join(where) if where else ''} " \
              f"ORDER BY seq {'DESC' if newest_first else ''} LIMIT {min(max(limit, 1), MAX_PAGE)}"
        return [LogRecord.from_row(row) for row in self._run(sql, tuple(parameters), fetch=True)]

    # -- upkeep -------------------------------------------------------------------
    def prune(self, now: datetime | None = None) -> int:
        """Delete entries older than the retention period, and the idempotency keys that gave them (in one
        transaction); never a younger one. Returns how many decisions were deleted."""
        if self.retain_days is None:
            return 0
        cutoff = utc_text((now or datetime.now(timezone.utc)) - timedelta(days=self.retain_days))
        self._next_prune = time.monotonic() + PRUNE_EVERY
        with self._lock, self._failures():
            with self._transaction() as transaction:
                removed = transaction.execute(f"DELETE FROM decisions WHERE decided_at < {self.placeholder}",
                                              (cutoff,))
                transaction.execute(f"DELETE FROM idempotency_keys WHERE decided_at < {self.placeholder}", (cutoff,))
        return removed

    def setup(self) -> None:
        """Connect, creating (or upgrading) the table if needed, before a server forks its workers."""
        with self._lock, self._failures():
            self._db()

    def close(self) -> None:
        with self._lock:
            self._drop()
            self._closed()

    def _closed(self) -> None:
        """A hook for stores that keep more than a connection."""
