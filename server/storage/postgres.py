"""The decision log for several servers: one PostgreSQL table, the same as SQLite's."""
from __future__ import annotations

from contextlib import contextmanager

from supportpolicy.server.storage.log import INDEXES, DecisionLog, table
from supportpolicy.server.storage.migrate import v1_to_v2

# Advisory lock keys: one while servers starting together create or upgrade the table, one that every
# commit holds from its start until it commits, so commits (and seq) follow one order across the fleet.
SETUP_LOCK = 7411016372
COMMIT_LOCK = 7411016373


class _Transaction:
    def __init__(self, connection):
        self.connection = connection

    def scalar(self, sql: str, parameters=()):
        row = self.connection.execute(sql, parameters).fetchone()
        return row[0] if row else None

    def insert(self, sql: str, rows: list) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(sql, rows)


class PostgresLog(DecisionLog):
    placeholder = "%s"

    def __init__(self, url: str, retain_days: int | None = None):
        super().__init__(retain_days)
        self.url = url
        self.where = url.split("@")[-1]  # without the password

    def _connect(self):
        import psycopg  # only needed for this store

        connection = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        try:
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (SETUP_LOCK,))
                columns = {row[0] for row in connection.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = 'decisions' "
                    "AND table_schema = current_schema()")}
                if columns and "seq" not in columns:
                    v1_to_v2(connection.execute, "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                             "(decision::json ->> 'ticket_id')")
                connection.execute(table("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"))
                for index in INDEXES:
                    connection.execute(index)
        except BaseException:
            connection.close()
            raise
        return connection

    def _broken(self, exc: Exception) -> bool:
        import psycopg

        # A constraint or data error fails the transaction; a lost connection needs a new one.
        return not isinstance(exc, (psycopg.errors.IntegrityError, psycopg.errors.DataError)) or \
            self._connection is None or self._connection.closed

    @contextmanager
    def _transaction(self):
        connection = self._db()
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (COMMIT_LOCK,))
            yield _Transaction(connection)
