"""The decision log for several servers: one PostgreSQL table, the same as SQLite's."""
from __future__ import annotations

from supportpolicy.server.storage.log import INDEXES, TABLE, DecisionLog


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
