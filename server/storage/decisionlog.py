"""The decision log: every decision, kept so it can be shown months later.

A decision is written before its response is sent, and acknowledged only
once written. The embedded store is SQLite in WAL mode (``sqlite``); several
servers share a PostgreSQL database instead (``postgres``); the table and
the record are the same (``log``).
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from supportpolicy.server.storage.log import COLUMNS, MAX_PAGE, DecisionLog, DecisionLogUnavailable, LogRecord, utc_text
from supportpolicy.server.storage.postgres import PostgresLog, shown
from supportpolicy.server.storage.privacy import KEEP_ALL, LogPrivacy
from supportpolicy.server.storage.sqlite import SQLiteLog

__all__ = ["COLUMNS", "MAX_PAGE", "DecisionLog", "DecisionLogUnavailable", "LogRecord", "PostgresLog", "SQLiteLog",
           "data_dir_for", "default_data_dir", "open_log", "sqlite_path",
           "utc_text"]


SQLITE_NAME = "decisions.sqlite3"


def default_data_dir() -> Path:
    """The user's data folder for supportpolicy (XDG_DATA_HOME, or ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "supportpolicy"


def data_dir_for(policies: Path) -> Path:
    """The SQLite log's default folder for a policy source: one per policy folder, named after its real path.

    Two servers of different policies (a clone, a policy repository, a fresh install's shipped policy)
    never share a log, and ``log export`` run where ``serve`` ran finds the log ``serve`` wrote:
    ``<data folder>/logs/<the folder holding policies/>-<hash of the policies folder's real path>``.
    """
    real = os.path.realpath(policies)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", os.path.basename(os.path.dirname(real))).strip("-.") or "policies"
    return default_data_dir() / "logs" / f"{name[:40]}-{hashlib.sha256(real.encode()).hexdigest()[:12]}"


def sqlite_path(data_dir: Path) -> Path:
    return Path(data_dir) / SQLITE_NAME


def open_log(target: str | None = None, data_dir: Path | None = None, retain_days: int | None = None,
             privacy: LogPrivacy = KEEP_ALL) -> DecisionLog:
    """``target``: a postgresql:// URL, or None for SQLite in ``data_dir`` (default: the user's data folder).

    ``privacy``: what records keep of personal data (by default, as a library, everything; `serve` masks it
    unless told otherwise)."""
    if target and target.startswith(("postgresql://", "postgres://")):
        return PostgresLog(target, retain_days, privacy)
    if target:
        # Not repeated as given: a key=value connection string may hold a password.
        raise ValueError(f"not a postgresql:// URL: {shown(target)}; give one, or leave it out for SQLite in the "
                         "data folder")
    return SQLiteLog(sqlite_path(data_dir or default_data_dir()), retain_days, privacy)
