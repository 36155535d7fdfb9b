"""The decision log: every decision, kept so it can be shown months later.

A decision is written before its response is sent, and acknowledged only
once written. The embedded store is SQLite in WAL mode (``sqlite``); several
servers share a PostgreSQL database instead (``postgres``); the table and
the record are the same (``log``).
"""
from __future__ import annotations

import os
from pathlib import Path

from supportpolicy.server.storage.log import COLUMNS, MAX_PAGE, DecisionLog, DecisionLogUnavailable, LogRecord, utc_text
from supportpolicy.server.storage.postgres import PostgresLog, shown
from supportpolicy.server.storage.privacy import KEEP_ALL, LogPrivacy
from supportpolicy.server.storage.sqlite import SQLiteLog

__all__ = ["COLUMNS", "MAX_PAGE", "DecisionLog", "DecisionLogUnavailable", "LogRecord", "PostgresLog", "SQLiteLog",
           "default_data_dir", "open_log", "utc_text"]


def default_data_dir() -> Path:
    """The user's data folder for supportpolicy (XDG_DATA_HOME, or ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "supportpolicy"


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
    return SQLiteLog((data_dir or default_data_dir()) / "decisions.sqlite3", retain_days, privacy)
