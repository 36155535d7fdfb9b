"""The two decision log stores as the tests open them: SQLite in a temporary folder, and PostgreSQL.

PostgreSQL is the server named by ``SUPPORTPOLICY_TEST_POSTGRES``
(``postgresql://user:password@host:port/db``; ``.ci/run`` starts one). Each test gets a schema of its
own, created for it and dropped after it (the URL handed to the code under test sets ``search_path`` to
it), so tests never see each other's decisions. Without the variable the PostgreSQL cases are skipped,
except under CI (``CI=true``), where they fail: CI must not pass without having run them.
"""
from __future__ import annotations

import os
import sqlite3
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest

from supportpolicy.server.storage.decisionlog import COLUMNS, open_log
from supportpolicy.server.storage.privacy import KEEP_ALL, LogPrivacy

POSTGRES_VARIABLE = "SUPPORTPOLICY_TEST_POSTGRES"


# ---- PostgreSQL: the test server, one fresh schema per test --------------------------

def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def postgres_url() -> str:
    """The test server's URL; skips the test locally without one, fails it in CI."""
    url = os.environ.get(POSTGRES_VARIABLE, "").strip()
    if not url:
        message = f"{POSTGRES_VARIABLE} is not set: no PostgreSQL server to test the decision log against"
        if in_ci():
            pytest.fail(f"{message} (CI=true: the PostgreSQL tests must run in CI; .ci/run starts a server)")
        pytest.skip(message)
    return url


def password_of(url: str) -> str | None:
    return urlsplit(url).password


def assert_no_password(url: str, text: str) -> None:
    """``text`` does not show the password of ``url`` (alone, when it is not also a name in the URL)."""
    password = password_of(url)
    if not password:
        return
    assert f":{password}@" not in text, "the PostgreSQL password is shown"
    if password not in url.replace(f":{password}@", "@"):
        assert password not in text, "the PostgreSQL password is shown"


def in_schema(url: str, schema: str) -> str:
    """The URL, its connections using only ``schema`` (search_path) and named after it (application_name)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("options", "application_name")]
    query += [("options", f"-c search_path={schema}"), ("application_name", schema)]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def admin_connection(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


@contextmanager
def postgres_schema():
    """A new, empty schema on the test server; yields (the URL that uses it, its name). Dropped afterwards."""
    url = postgres_url()
    name = f"supportpolicy_test_{uuid.uuid4().hex[:16]}"
    with admin_connection(url) as connection:
        connection.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield in_schema(url, name), name
    finally:
        with admin_connection(url) as connection:
            # Connections the code under test left open would keep the schema's locks.
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE usename = current_user AND pid <> pg_backend_pid() "
                               "AND application_name = %s", (name,))
            connection.execute(f'DROP SCHEMA "{name}" CASCADE')


# ---- the two stores ----------------------------------------------------------------------

@dataclass
class Store:
    """One decision log store for one test: how to open it, name it on the command line, and read it raw."""

    kind: str                 # "sqlite" or "postgresql"
    data_dir: Path            # the --data-dir (the SQLite file lives here)
    url: str | None = None    # the --decision-log URL (PostgreSQL)
    schema: str | None = None
    opened: list = field(default_factory=list)

    def open(self, retain_days: int | None = None, privacy: LogPrivacy = KEEP_ALL):
        log = open_log(self.url, self.data_dir, retain_days, privacy)
        self.opened.append(log)
        return log

    def cli_args(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        return args + (["--decision-log", self.url] if self.url else [])

    @contextmanager
    def raw(self):
        """A connection of the test's own to the store (not the code under test's)."""
        if self.kind == "sqlite":
            connection = sqlite3.connect(self.data_dir / "decisions.sqlite3", isolation_level=None)
            try:
                yield connection, "?"
            finally:
                connection.close()
        else:
            with admin_connection(self.url) as connection:
                yield connection, "%s"

    def rows(self, sql: str) -> list:
        """The rows of ``sql``, read raw."""
        with self.raw() as (connection, _):
            return connection.execute(sql).fetchall()

    def ids(self) -> list[str]:
        """Every decision id in the table, read raw once a log opened anew has committed everything acknowledged
        (SQLite acknowledges a decision once its journal has it: server.storage.journal)."""
        fresh = open_log(self.url, self.data_dir)
        fresh.find(limit=1)
        fresh.close()
        with self.raw() as (connection, _):
            return sorted(row[0] for row in connection.execute("SELECT decision_id FROM decisions").fetchall())

    def insert_many(self, records) -> None:
        """Insert records in one transaction (the table is created by opening the log once)."""
        self.open().find(limit=1)
        with self.raw() as (connection, mark):
            marks = ", ".join([mark] * len(COLUMNS.split(",")))
            sql = f"INSERT INTO decisions ({COLUMNS}) VALUES ({marks})"
            if self.kind == "sqlite":
                connection.execute("BEGIN")
                connection.executemany(sql, [r.row() for r in records])
                connection.execute("COMMIT")
            else:
                with connection.transaction(), connection.cursor() as cursor:
                    cursor.executemany(sql, [r.row() for r in records])

    def close(self) -> None:
        for log in self.opened:
            log.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        opened = Store("sqlite", tmp_path / "data")
        yield opened
        opened.close()
    else:
        with postgres_schema() as (url, schema):
            opened = Store("postgresql", tmp_path / "data", url, schema)
            yield opened
            opened.close()
