"""What a PostgreSQL decision log shows of where it is (GET /v1/status, the start-up banner, errors):
never a password, in whatever form libpq reads one."""
from __future__ import annotations

import pytest

from supportpolicy.server.storage.decisionlog import open_log
from supportpolicy.server.storage.postgres import PostgresLog, shown

SECRET = "s3cret-Pw"

# Every form in which libpq takes a password: the URL's userinfo, its query string (the key may be
# percent-encoded, as libpq decodes it), the password of an SSL key, and a key=value connection string.
FORMS = [
    ("userinfo", f"postgresql://ops:{SECRET}@db.internal:5433/decisions", {"db.internal", "5433", "decisions", "ops"}),
    ("query", f"postgresql://db.internal/decisions?password={SECRET}", {"db.internal", "decisions"}),
    ("query, encoded key", f"postgres://db.internal/decisions?pass%77ord={SECRET}&sslmode=require",
     {"db.internal", "decisions", "require"}),
    ("query and userinfo", f"postgresql://ops:{SECRET}@db.internal/decisions?password={SECRET}x", {"db.internal"}),
    ("ssl key password", f"postgresql://db.internal/decisions?sslpassword={SECRET}", {"db.internal"}),
    ("several hosts", f"postgresql://ops:{SECRET}@h1:5432,h2:5433/decisions", {"h1,h2", "5432,5433"}),
    ("key=value", f"host=db.internal dbname=decisions password={SECRET}", {"db.internal", "decisions"}),
    ("key=value, quoted", f"host=db.internal password='{SECRET} x' dbname=decisions", {"db.internal", "decisions"}),
]


@pytest.mark.parametrize("form,conninfo,kept", FORMS, ids=[f[0] for f in FORMS])
def test_the_password_is_hidden_in_every_form_libpq_accepts(form, conninfo, kept):
    text = shown(conninfo)
    assert SECRET not in text and "password" not in text
    for part in kept:  # what tells an operator which database it is stays
        assert part in text, (form, text)


@pytest.mark.parametrize("form,conninfo,kept", [f for f in FORMS if f[1].startswith("postgres")],
                         ids=[f[0] for f in FORMS if f[1].startswith("postgres")])
def test_a_postgres_log_says_where_it_is_without_the_password(form, conninfo, kept):
    assert SECRET not in open_log(conninfo).where


def test_a_connection_string_libpq_cannot_read_is_refused_without_repeating_it():
    with pytest.raises(ValueError) as refused:
        PostgresLog(f"postgresql://db.internal/decisions?passwrd={SECRET}")
    assert SECRET not in str(refused.value) and "PostgreSQL" in str(refused.value)


def test_a_decision_log_that_is_no_postgresql_url_is_refused_without_repeating_its_password():
    with pytest.raises(ValueError) as refused:
        open_log(f"host=db.internal password={SECRET}")
    assert SECRET not in str(refused.value) and "postgresql://" in str(refused.value)
