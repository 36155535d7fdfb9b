"""The embedded decision log: SQLite in WAL mode, shared by a server's worker processes."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from supportpolicy.server.storage.log import INDEXES, TABLE, DecisionLog


class SQLiteLog(DecisionLog):
    """SQLite in WAL mode, shared by the server's worker processes.

    Two things kept SQLite off the request path's fast track: writers from
    several processes waited for each other in SQLite's busy handler, which
    sleeps in steps of milliseconds, and every thousand pages a write stopped
    to checkpoint the WAL into the database. So writers take turns on a file
    lock (the kernel wakes the next one at once), and checkpoints run in a
    background thread of each writing process.
    """

    CHECKPOINT_EVERY = 1.0  # seconds
    WAL_LIMIT = 32 * 1024 * 1024  # bytes of WAL at which writers pause for it to start over
    FRAMES_LEFT = 256  # pages written since the last pass, few enough to copy while writers wait

    def __init__(self, path: Path, retain_days: int | None = None):
        super().__init__(retain_days)
        self.path = Path(path)
        self.where = str(self.path)
        self._turns = None  # the writers' lock file, per process
        self._generation = 0
        self._inode = None

    def _open(self, busy_timeout: float = 30):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout)

    def _connect(self):
        connection = self._open()
        _retry_while_locked(lambda: _setup_sqlite(connection))
        self._inode = os.stat(self.path).st_ino
        self._turns = open(self.path.with_name(self.path.name + ".lock"), "a+b")
        self._generation += 1
        threading.Thread(target=self._checkpoint, args=(self._generation,), daemon=True,
                         name="decision-log-checkpoint").start()
        return connection

    def _closed(self) -> None:
        self._generation += 1  # stops the checkpointer

    def _checkpoint(self, generation: int) -> None:
        """Runs while this connection is the process's (closing, reconnecting or forking ends it).

        A passive checkpoint copies the WAL into the database without stopping
        writers, but under constant writes it never catches up with them, and
        SQLite starts the WAL over only once one has: the WAL (and the index
        every process maps) would grow for as long as the load lasts. So once
        the WAL passes WAL_LIMIT, the checkpointer takes the writers' turn, on
        a lock file of its own, and finishes the job with a truncating
        checkpoint: only the frames written since the passive one are left.
        """
        # A reader in the way makes a checkpoint give up at once rather than hold the writers up.
        connection = self._open(busy_timeout=0.1)
        wal = self.path.with_name(self.path.name + "-wal")
        pid = os.getpid()
        while self._generation == generation and os.getpid() == pid:
            time.sleep(self.CHECKPOINT_EVERY)  # nothing touches the files before this: a new log may be removed
            try:
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
            except (sqlite3.Error, OSError):
                pass  # a busy, failing or removed database: the next round tries again
        connection.close()

    @contextmanager
    def _turn(self):
        self._ensure()
        fcntl.flock(self._turns, fcntl.LOCK_EX)
        try:
            if _inode(self.path) != self._inode:
                # The file was moved or deleted under us: a write now would be lost with it.
                with self._lock:
                    self._pid = None
                fcntl.flock(self._turns, fcntl.LOCK_UN)
                self._ensure()
                fcntl.flock(self._turns, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(self._turns, fcntl.LOCK_UN)


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
    connection.execute(TABLE)
    for index in INDEXES:
        connection.execute(index)


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
