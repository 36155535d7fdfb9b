"""Policy sets published to PostgreSQL, the set in force, and the fleet's heartbeats.

A set is stored content-addressed: one row per set (its digest, who published
it and when), one per file of it (its path below ``policies/`` or ``rules/``
and the sha256 of its bytes), and the bytes once per content whatever the
number of sets that hold them. ``policy_in_force`` is the history of what was
put in force; its last row is the set in force. Publishing or rolling back
is one transaction, ended by a NOTIFY on the fleet's channel: a replica that
reads the set in force reads every file of it, never part of one.

LISTEN/NOTIFY channels are database-wide, not per schema: the channel is
named after the schema the connection uses, so that two fleets in one
database (each test in its own schema) never hear each other.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from supportpolicy.server.storage.postgres import SECRETS, _parsed, shown

SETUP_LOCK = 7411016380  # servers and publishers creating the tables together
PUBLISH_LOCK = 7411016381  # one publish or rollback at a time: the history follows one order
CONNECT_TIMEOUT_S = 5
FLEET_WINDOW_S = 60  # a replica is in the fleet while its last heartbeat is this recent

STATEMENTS = (
    "CREATE TABLE IF NOT EXISTS policy_sets (digest TEXT PRIMARY KEY, published_at TIMESTAMPTZ NOT NULL, "
    "published_by TEXT NOT NULL, files INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS policy_file_contents (sha256 TEXT PRIMARY KEY, content BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS policy_set_files (digest TEXT NOT NULL REFERENCES policy_sets (digest), "
    "path TEXT NOT NULL, sha256 TEXT NOT NULL REFERENCES policy_file_contents (sha256), PRIMARY KEY (digest, path))",
    "CREATE TABLE IF NOT EXISTS policy_in_force (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "digest TEXT NOT NULL REFERENCES policy_sets (digest), put_at TIMESTAMPTZ NOT NULL, put_by TEXT NOT NULL, "
    "action TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS policy_replicas (replica TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, "
    "digest TEXT NOT NULL, seen_at TIMESTAMPTZ NOT NULL)",
)
IN_FORCE = "SELECT digest FROM policy_in_force ORDER BY seq DESC LIMIT 1"


class SourceUnreachable(Exception):
    """The database cannot be reached (or refused the connection): the message names it without its password."""


class NotFound(Exception):
    """No published set has that digest (or prefix), or more than one has that prefix."""


@dataclass(frozen=True)
class StoredFile:
    path: str  # below the set's root: "policies/customers/acme.yaml", "rules/routing.yaml"
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Published:
    digest: str
    published_at: datetime
    published_by: str
    files: int
    in_force: bool


@dataclass(frozen=True)
class Replica:
    replica: str
    host: str
    pid: int
    digest: str
    seen_at: datetime


def channel_for(schema: str) -> str:
    """The NOTIFY channel of the fleet whose tables live in ``schema`` (an identifier of at most 63 bytes)."""
    return "supportpolicy_policy_" + hashlib.sha256(schema.encode()).hexdigest()[:24]


def without_password(url: str) -> str:
    """The URL as status and banners show it: its password, and any password in its query, left out."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in SECRETS]
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[2]}" if netloc[1] else netloc[2],
                                     query=urlencode(query, quote_via=quote)))


def source_url(url: str) -> str:
    """``url`` when it is a PostgreSQL URL libpq reads; ValueError saying why not (without quoting a password)."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"not a postgresql:// URL: {shown(url)}")
    _parsed(url)
    return url


class PolicyStore:
    """One connection to the database that holds the published sets (not shared between threads)."""

    def __init__(self, url: str, connect_timeout: float = CONNECT_TIMEOUT_S):
        self.url = source_url(url)
        self.where = without_password(url)
        self.connect_timeout = connect_timeout
        self.connection = None
        self.channel = None

    def connect(self) -> "PolicyStore":
        """Open the connection and make the tables; SourceUnreachable when the database cannot be used."""
        import psycopg

        try:
            # A database gone silent (a cut link, not a refused connection) is found within seconds: TCP
            # keepalives while idle, and a timeout on data sent but not acknowledged.
            self.connection = psycopg.connect(self.url, autocommit=True,
                                              connect_timeout=max(1, round(self.connect_timeout)),
                                              keepalives=1, keepalives_idle=5, keepalives_interval=1,
                                              keepalives_count=3, tcp_user_timeout=5000)
            with self.connection.transaction():
                self.connection.execute("SELECT pg_advisory_xact_lock(%s)", (SETUP_LOCK,))
                for statement in STATEMENTS:
                    self.connection.execute(statement)
            self.channel = channel_for(self.connection.execute("SELECT current_schema()").fetchone()[0])
        except psycopg.Error as exc:
            self.close()
            raise SourceUnreachable(f"cannot use the policy source {self.where}: {_reason(exc)}") from None
        return self

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None

    def __enter__(self) -> "PolicyStore":
        return self.connect() if self.connection is None else self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- publishing -------------------------------------------------------------------------------------

    def publish(self, digest: str, files: list[StoredFile], by: str) -> tuple[bool, bool]:
        """Store the set (once: content-addressed) and put it in force, in one transaction ending with NOTIFY.
        Whether it was new, and whether it was put in force (False: it was in force already)."""
        connection = self.connection
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (PUBLISH_LOCK,))
            new = connection.execute(
                "INSERT INTO policy_sets (digest, published_at, published_by, files) VALUES (%s, now(), %s, %s) "
                "ON CONFLICT (digest) DO NOTHING", (digest, by, len(files))).rowcount == 1
            if new:
                with connection.cursor() as cursor:
                    cursor.executemany("INSERT INTO policy_file_contents (sha256, content) VALUES (%s, %s) "
                                       "ON CONFLICT (sha256) DO NOTHING", [(f.sha256, f.content) for f in files])
                    cursor.executemany("INSERT INTO policy_set_files (digest, path, sha256) VALUES (%s, %s, %s)",
                                       [(digest, f.path, f.sha256) for f in files])
            put = self._put_in_force(digest, by, "publish")
        return new, put

    def roll_back(self, digest: str, by: str) -> bool:
        """Put a published set back in force (one transaction, then NOTIFY); False when it was in force."""
        with self.connection.transaction():
            self.connection.execute("SELECT pg_advisory_xact_lock(%s)", (PUBLISH_LOCK,))
            return self._put_in_force(digest, by, "rollback")

    def _put_in_force(self, digest: str, by: str, action: str) -> bool:
        row = self.connection.execute(IN_FORCE).fetchone()
        if row is not None and row[0] == digest:
            return False
        self.connection.execute("INSERT INTO policy_in_force (digest, put_at, put_by, action) "
                                "VALUES (%s, now(), %s, %s)", (digest, by, action))
        self.connection.execute("SELECT pg_notify(%s, %s)", (self.channel, digest))
        return True

    def published(self) -> list[Published]:
        """Every published set, newest first."""
        in_force = self.in_force()
        rows = self.connection.execute("SELECT digest, published_at, published_by, files FROM policy_sets "
                                       "ORDER BY published_at DESC, digest").fetchall()
        return [Published(d, at, by, n, d == in_force) for d, at, by, n in rows]

    def resolve(self, prefix: str) -> str:
        """The one published digest ``prefix`` starts (with or without ``sha256:``); NotFound otherwise."""
        wanted = prefix.strip().lower()
        wanted = wanted if wanted.startswith("sha256:") else "sha256:" + wanted
        pattern = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        found = [r[0] for r in self.connection.execute(
            "SELECT digest FROM policy_sets WHERE digest LIKE %s ORDER BY digest LIMIT 3", (pattern,))]
        if not found or len(prefix.strip()) == 0:
            raise NotFound(f"no published policy set has the digest {prefix!r}: `supportpolicy publish --list` "
                           "shows those there are")
        if len(found) > 1:
            raise NotFound(f"{prefix!r} is the start of more than one published digest ({', '.join(found[:2])}, "
                           "...): give more of it")
        return found[0]

    # -- following ------------------------------------------------------------------------------------

    def in_force(self) -> str | None:
        row = self.connection.execute(IN_FORCE).fetchone()
        return row[0] if row else None

    def files(self, digest: str) -> list[StoredFile]:
        rows = self.connection.execute(
            "SELECT f.path, c.content FROM policy_set_files f JOIN policy_file_contents c USING (sha256) "
            "WHERE f.digest = %s ORDER BY f.path", (digest,)).fetchall()
        return [StoredFile(path, bytes(content)) for path, content in rows]

    def in_force_set(self) -> tuple[str | None, list[StoredFile]]:
        """The set in force and its files, read in one snapshot (a publish meanwhile is seen whole or not)."""
        with self.connection.transaction():
            self.connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            digest = self.in_force()
            return digest, (self.files(digest) if digest else [])

    def listen(self) -> None:
        from psycopg import sql

        self.connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))

    def notified(self, timeout: float) -> list[str]:
        """The digests notified within ``timeout`` seconds (empty when none came)."""
        return [n.payload for n in self.connection.notifies(timeout=timeout, stop_after=1)] + \
            [n.payload for n in self.connection.notifies(timeout=0.001)]

    def heartbeat(self, replica: str, host: str, pid: int, digest: str) -> None:
        self.connection.execute(
            "INSERT INTO policy_replicas (replica, host, pid, digest, seen_at) VALUES (%s, %s, %s, %s, now()) "
            "ON CONFLICT (replica) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, digest = EXCLUDED.digest, "
            "seen_at = EXCLUDED.seen_at", (replica, host, pid, digest))

    def leave(self, replica: str) -> None:
        self.connection.execute("DELETE FROM policy_replicas WHERE replica = %s", (replica,))

    def fleet(self, within_s: int = FLEET_WINDOW_S) -> list[Replica]:
        rows = self.connection.execute(
            "SELECT replica, host, pid, digest, seen_at FROM policy_replicas "
            "WHERE seen_at > now() - make_interval(secs => %s) ORDER BY replica", (within_s,)).fetchall()
        return [Replica(*row) for row in rows]


def _reason(exc: Exception) -> str:
    """The first line of a psycopg error (libpq's messages name the host, never the password)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
