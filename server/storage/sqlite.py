"""The embedded decision log: SQLite in WAL mode, shared by a server's worker processes, with a journal
(server.storage.journal) that acknowledges decisions before they are committed to it."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from supportpolicy.server.storage import journal
from supportpolicy.server.storage.idempotency import STATEMENTS as KEY_STATEMENTS
from supportpolicy.server.storage.log import INDEXES, DecisionLog, DecisionLogUnavailable, append, table
from supportpolicy.server.storage.migrate import upgrade
from supportpolicy.server.storage.privacy import KEEP_ALL, LogPrivacy
from supportpolicy.server.storage.tickets import STATEMENTS as TICKET_STATEMENTS
from supportpolicy.server.storage.work import STATEMENTS as WORK_STATEMENTS


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
        self.connection.executemany(sql, rows)


class SQLiteLog(DecisionLog):
    """SQLite in WAL mode, shared by the server's worker processes.

    Two things kept SQLite off the request path's fast track: writers from
    several processes waited for each other in SQLite's busy handler, which
    sleeps in steps of milliseconds, and every thousand pages a write stopped
    to checkpoint the WAL into the database. So writers take turns on a file
    lock (the kernel wakes the next one at once), and checkpoints run in one
    background thread of each writing process.
    """

    CHECKPOINT_EVERY = 1.0  # seconds
    COMMIT_BEHIND_EVERY = 0.05  # seconds between commits of what this process's journal took
    CATCH_UP_ROUNDS = 64  # transactions of journal.READ_AT_MOST bytes a read waits for at most
    WAL_LIMIT = 32 * 1024 * 1024  # bytes of WAL at which writers pause for it to start over
    FRAMES_LEFT = 256  # pages written since the last pass, few enough to copy while writers wait

    def __init__(self, path: Path, retain_days: int | None = None, privacy: LogPrivacy = KEEP_ALL):
        super().__init__(retain_days, privacy)
        self.path = Path(path)
        self.where = str(self.path)
        self._turns = None  # the writers' lock file, opened once per process
        self._turns_pid = None
        self._inode = None
        self._checkpointing = None  # (pid, Event that stops it) of this process's checkpointer
        self._journal = journal.Journal(journal.folder_of(self.path))
        self._committing = None  # (pid, Event that stops it) of this process's committer of the journal
        self._behind: DecisionLogUnavailable | None = None  # why the last commit of the journal failed

    def _open(self, busy_timeout: float = 30):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout)

    def _connect(self):
        connection = self._open()
        try:
            _retry_while_locked(lambda: _setup_sqlite(connection))
            self._inode = os.stat(self.path).st_ino
        except BaseException:
            connection.close()
            raise
        # One checkpointer per process, however often the connection is opened again.
        self._checkpointing = _in_this_process(self._checkpointing, self._checkpoint, "decision-log-checkpoint")
        return connection

    # -- the journal: acknowledged when appended, committed behind -------------
    def _store(self, records):
        if any(record.idempotency is not None for record in records):
            # Every worker must see a key at once (a retry may reach another): committed before answering.
            return super()._store(records)
        if self._pid != os.getpid() or self._behind is not None:
            self._catch_up()  # the table can be written (or a failure is over): else nothing is acknowledged
        self._committing = _in_this_process(self._committing, self._commit_behind, "decision-log-journal")
        try:
            self._journal.append([record.row() for record in records])
        except OSError as exc:
            raise DecisionLogUnavailable(f"the decision log failed: its journal: {exc}") from None
        return [None] * len(records)

    def _catch_up(self) -> bool:
        committed, more, rounds = False, True, 0
        while more and rounds < self.CATCH_UP_ROUNDS:
            try:
                with self.turn() as transaction:
                    found, more = journal.commit(transaction, self._journal.folder,
                                                 lambda t, rows: append(t, self.placeholder, rows))
            except DecisionLogUnavailable as exc:
                self._behind = exc
                raise
            self._behind = None
            journal.finished(self._journal.folder, found)
            committed, rounds = committed or any(file.rows for file in found), rounds + 1
        return committed

    def setup(self) -> None:
        super().setup()
        self._catch_up()  # what a server killed before committing its journal acknowledged

    def _commit_behind(self, stop: threading.Event) -> None:
        """Runs until the log is closed in this process: commits what the journal took since the last round."""
        pid, seen = os.getpid(), 0
        while not stop.wait(self.COMMIT_BEHIND_EVERY) and os.getpid() == pid:
            appended = self._journal.appends
            if appended == seen:
                continue
            try:
                self._catch_up()
                seen = appended
            except DecisionLogUnavailable:  # kept in _behind: the next write tries again, and says why
                pass

    def close(self) -> None:
        if _stop_in_this_process(self._committing):
            try:
                self._catch_up()  # what this process took, committed now rather than by the next to read
            except DecisionLogUnavailable:
                pass
        self._committing = None
        self._journal.close()
        super().close()

    def _broken(self, exc: Exception) -> bool:
        # A full disk or a busy database fails the transaction, not the connection: keep it.
        message = str(exc).lower()
        return not (isinstance(exc, (sqlite3.OperationalError, sqlite3.IntegrityError))
                    and any(word in message for word in ("full", "locked", "busy", "unique", "constraint")))

    def _closed(self) -> None:
        _stop_in_this_process(self._checkpointing)
        self._checkpointing = None
        if self._turns is not None and self._turns_pid == os.getpid():
            self._turns.close()
        self._turns = self._turns_pid = None

    @contextmanager
    def _transaction(self):
        turns = self._turn_file()
        fcntl.flock(turns, fcntl.LOCK_EX)
        try:
            if _inode(self.path) != self._inode:
                self._drop()  # the file was moved or deleted under us: a write now would be lost with it
            connection = self._db()
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield _Transaction(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        finally:
            fcntl.flock(turns, fcntl.LOCK_UN)

    def _turn_file(self):
        if self._turns_pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._turns = open(self.path.with_name(self.path.name + ".lock"), "a+b")
            self._turns_pid = os.getpid()
        return self._turns

    def _checkpoint(self, stop: threading.Event) -> None:
        """Runs until the log is closed in this process.

        A passive checkpoint copies the WAL into the database without stopping
        writers, but under constant writes it never catches up with them, and
        SQLite starts the WAL over only once one has: the WAL (and the index
        every process maps) would grow for as long as the load lasts. So once
        the WAL passes WAL_LIMIT, the checkpointer takes the writers' turn, on
        a lock file of its own, and finishes the job with a truncating
        checkpoint: only the frames written since the passive one are left.
        """
        connection = None
        wal = self.path.with_name(self.path.name + "-wal")
        pid = os.getpid()
        # Nothing touches the files before the first wait: a new log may be removed at once.
        while not stop.wait(self.CHECKPOINT_EVERY) and os.getpid() == pid:
            try:
                # A reader in the way makes a checkpoint give up at once rather than hold the writers up.
                connection = connection or self._open(busy_timeout=0.1)
                self._checkpoint_once(connection, wal)
            except (sqlite3.Error, OSError):
                if connection is not None:  # a failing or removed database: the next round opens it again
                    connection.close()
                connection = None
        if connection is not None:
            connection.close()

    def _checkpoint_once(self, connection, wal: Path) -> None:
        # Each passive pass copies what was written during the one before, so a few leave
        # little for the writers to wait on.
        for _ in range(4):
            _, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames - copied < self.FRAMES_LEFT:
                break
        if _size(wal) > self.WAL_LIMIT:
            with open(self.path.with_name(self.path.name + ".lock"), "a+b") as turns:
                fcntl.flock(turns, fcntl.LOCK_EX)  # released when closed
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _in_this_process(running, target, name: str):
    """``running`` when it is this process's (pid, stop Event), else a new daemon thread's: ``target(stop)`` runs
    until the Event is set (threads do not survive gunicorn's fork; each worker starts its own)."""
    if running is not None and running[0] == os.getpid():
        return running
    stop = threading.Event()
    threading.Thread(target=target, args=(stop,), daemon=True, name=name).start()
    return os.getpid(), stop


def _stop_in_this_process(running) -> bool:
    """Tell ``running``'s thread (see _in_this_process) to stop, if it is this process's; whether it was."""
    if running is None or running[0] != os.getpid():
        return False
    running[1].set()
    return True


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _setup_sqlite(connection) -> None:
    if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        connection.execute("PRAGMA journal_mode=WAL")
    # NORMAL: a commit is in the WAL file when it returns, so it survives the
    # process being killed (not the machine losing power).
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does it
    columns = [row[1] for row in connection.execute("PRAGMA table_info(decisions)")]
    connection.execute("BEGIN IMMEDIATE")
    try:
        upgrade(connection.execute, columns, "INTEGER PRIMARY KEY AUTOINCREMENT",
                "json_extract(decision, '$.ticket_id')")
        connection.execute(table("INTEGER PRIMARY KEY AUTOINCREMENT"))
        for statement in INDEXES + KEY_STATEMENTS + TICKET_STATEMENTS + WORK_STATEMENTS + journal.STATEMENTS:
            connection.execute(statement)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _retry_while_locked(setup, seconds: float = 10.0) -> None:
    """Set-up statements that meet another process setting up fail at once with "locked": try again."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return setup()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
