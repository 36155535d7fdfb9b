"""The decision log for several servers: one PostgreSQL table, the same as SQLite's."""
from __future__ import annotations

import os
import re
from contextlib import contextmanager

from supportpolicy.server.storage.idempotency import STATEMENTS as KEY_STATEMENTS
from supportpolicy.server.storage.log import INDEXES, DecisionLog, in_order, table
from supportpolicy.server.storage.migrate import upgrade
from supportpolicy.server.storage.privacy import KEEP_ALL, LogPrivacy
from supportpolicy.server.storage.record import COLUMNS
from supportpolicy.server.storage.tickets import STATEMENTS as TICKET_STATEMENTS
from supportpolicy.server.storage.work import STATEMENTS as WORK_STATEMENTS

# Advisory lock keys: one while servers starting together create or upgrade the table, one that every
# commit holds from its start until it commits, so commits (and seq) follow one order across the fleet.
SETUP_LOCK = 7411016372
COMMIT_LOCK = 7411016373
# The records of a commit, appended in one round trip: a function that takes the log's turn, then appends
# (log.append's rule in SQL: none takes a time earlier than the last in the log). Each statement of a volatile
# function reads a snapshot of its own, so the append sees every commit made before the turn was taken. The
# time is compared byte by byte, as the text it is (UTC, one format), whatever the database's collation; seq
# follows the order given.
APPEND_FUNCTION = f"""CREATE OR REPLACE FUNCTION supportpolicy_append(
    {", ".join(f"given_{column} text[]" for column in COLUMNS.split(", "))}) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({COMMIT_LOCK});
    INSERT INTO decisions ({COLUMNS})
    SELECT v.decision_id, GREATEST(v.decided_at COLLATE "C",
                                  COALESCE((SELECT d.decided_at FROM decisions d ORDER BY d.seq DESC LIMIT 1), '')),
           v.customer, v.ticket_id, v.received_at, v.policy_digest, v.request, v.decision, v.privacy
    FROM unnest({", ".join(f"given_{column}" for column in COLUMNS.split(", "))}) WITH ORDINALITY AS v({COLUMNS}, n)
    ORDER BY v.n
    ON CONFLICT (decision_id) DO NOTHING;
END $$"""
APPEND = f"SELECT supportpolicy_append({', '.join(['%b'] * len(COLUMNS.split(', ')))})"


class _Transaction:
    def __init__(self, connection):
        self.connection = connection

    def scalar(self, sql: str, parameters=()):
        row = self.connection.execute(sql, parameters).fetchone()
        return row[0] if row else None

    def rows(self, sql: str, parameters=()) -> list:
        return self.connection.execute(sql, parameters).fetchall()

    def execute(self, sql: str, parameters=()) -> int:
        return self.connection.execute(sql, parameters).rowcount

    def insert(self, sql: str, rows: list) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(sql, rows)

# What libpq reads as a secret: the password, and the password of an SSL client key.
SECRETS = ("password", "sslpassword")
# The keys an operator looks for first, in this order; any others follow as libpq gave them.
FIRST = ("host", "hostaddr", "port", "dbname", "user")


def _parsed(conninfo: str) -> dict:
    """The connection parameters, read by libpq itself (through psycopg), so that every form it accepts
    is read alike: a URL's userinfo and query string (keys percent-decoded) or key=value pairs.
    Raises ValueError naming the problem, without quoting any of the text (it may hold a password)."""
    try:
        from psycopg import ProgrammingError
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        raise ValueError("a PostgreSQL decision log needs psycopg: pip install 'supportpolicy[postgres]'") from None
    try:
        return conninfo_to_dict(conninfo)
    except ProgrammingError as exc:
        # libpq quotes the offending piece, which may be part of a password: only the kind of problem is said.
        problem = re.sub(r'"[^"]*"', '"..."', str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        raise ValueError(f"not a PostgreSQL connection URL libpq accepts ({problem})") from None


def shown(conninfo: str) -> str:
    """What may be shown of a connection string (status, the banner, errors): every parameter libpq
    reads from it except the secrets, as key=value pairs; a placeholder if it cannot be read."""
    try:
        parameters = _parsed(conninfo)
    except ValueError:
        return "(not shown: libpq cannot read it)"
    keys = [k for k in FIRST if k in parameters] + [k for k in parameters if k not in FIRST]
    return " ".join(f"{k}={parameters[k]}" for k in keys if k not in SECRETS)


class PostgresLog(DecisionLog):
    placeholder = "%s"

    def __init__(self, url: str, retain_days: int | None = None, privacy: LogPrivacy = KEEP_ALL):
        super().__init__(retain_days, privacy)
        self._tables_made_by = None  # the process whose connection made (or checked) the tables, once one has
        _parsed(url)  # a URL libpq cannot read is refused now, saying why, rather than at the first decision
        self.url = url
        self.where = shown(url)  # without any password

    def _connect(self):
        import psycopg  # only needed for this store

        connection = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        if self._tables_made_by not in (None, os.getpid()):
            # Forked from the process that made the tables (serve's master, before its workers): they are there.
            # Making them again on each worker's first connection took a SHARE lock on the table (CREATE INDEX
            # IF NOT EXISTS locks before it looks), which waits for the commits of every server sharing the log
            # and holds up those behind it, each time a reload replaces the workers.
            self._tables_made_by = os.getpid()
            return connection
        try:
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (SETUP_LOCK,))
                columns = {row[0] for row in connection.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = 'decisions' "
                    "AND table_schema = current_schema()")}
                upgrade(connection.execute, columns, "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                        "(decision::json ->> 'ticket_id')")
                connection.execute(table("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"))
                for statement in INDEXES + KEY_STATEMENTS + TICKET_STATEMENTS + WORK_STATEMENTS:
                    connection.execute(statement)
                connection.execute(APPEND_FUNCTION)
        except BaseException:
            connection.close()
            raise
        self._tables_made_by = os.getpid()
        return connection

    def _broken(self, exc: Exception) -> bool:
        import psycopg

        # A constraint or data error fails the transaction; a lost connection needs a new one, which makes the
        # tables again (a table dropped under the server is how some connections are lost).
        broken = not isinstance(exc, (psycopg.errors.IntegrityError, psycopg.errors.DataError)) or \
            self._connection is None or self._connection.closed
        if broken:
            self._tables_made_by = None
        return broken

    def _commit(self, records):
        """Records without idempotency keys (nearly all) in one statement, its own transaction
        (APPEND_FUNCTION): one round trip to the database. Keys need their earlier uses read first: the general
        commit."""
        if any(record.idempotency is not None for record in records):
            return super()._commit(records)
        columns = [list(column) for column in zip(*in_order([record.row() for record in records]))]
        with self._lock, self._failures():
            self._db().execute(APPEND, columns)  # binary arrays (%b): no text escaping of the JSON
        return [None] * len(records)

    @contextmanager
    def _transaction(self):
        connection = self._db()
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (COMMIT_LOCK,))
            yield _Transaction(connection)
