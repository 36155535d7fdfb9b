"""`supportpolicy serve --decision-log URL` never shows the PostgreSQL password: not in the start-up banner,
not in GET /v1/status, not when it refuses the option; whichever form the password is given in."""
from __future__ import annotations

import os
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from support import http, run_cli, serving

POSTGRES_VARIABLE = "SUPPORTPOLICY_TEST_POSTGRES"


def postgres_url() -> str:
    url = os.environ.get(POSTGRES_VARIABLE, "").strip()
    if not url:
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(f"{POSTGRES_VARIABLE} is not set (CI=true: the PostgreSQL tests must run in CI)")
        pytest.skip(f"{POSTGRES_VARIABLE} is not set: no PostgreSQL server to test against")
    return url


@pytest.fixture()
def password_in_the_query():
    """The test server's URL with its password moved from user:password@ to ?password=, in a fresh schema."""
    import psycopg

    url = postgres_url()
    parts = urlsplit(url)
    if not parts.password:
        pytest.skip(f"{POSTGRES_VARIABLE} has no password to hide")
    schema = f"supportpolicy_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    netloc = f"{quote(parts.username or '', safe='')}@{parts.hostname}:{parts.port or 5432}"
    query = f"password={quote(parts.password, safe='')}&options={quote(f'-c search_path={schema}', safe='')}"
    try:
        yield urlunsplit(parts._replace(netloc=netloc, query=query)), parts.password
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_a_password_in_the_query_string_is_shown_neither_in_the_banner_nor_in_status(password_in_the_query,
                                                                                   tmp_path):
    url, password = password_in_the_query
    with serving(["--workers", "1", "--no-watch", "--decision-log", url], tmp_path) as server:
        status, document = http("GET", f"{server.base}/v1/status")
        assert status == 200 and document["decision_log"]["store"] == "PostgresLog"
        assert password not in str(document) and quote(password, safe="") not in str(document)
    banner = server.stderr()
    assert "decision log PostgresLog at " in banner
    assert password not in banner and quote(password, safe="") not in banner


def test_a_key_value_connection_string_is_refused_without_repeating_its_password(tmp_path):
    result = run_cli("serve", "--no-watch", "--decision-log", "host=db.internal dbname=decisions password=s3cret-Pw",
                     cwd=tmp_path, env_extra={"HOME": str(tmp_path)})
    assert result.returncode == 2 and "postgresql://" in result.stderr_text
    assert "s3cret-Pw" not in result.stderr_text + result.stdout_text
