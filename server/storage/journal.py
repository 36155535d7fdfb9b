"""The SQLite decision log's journal: a decision is acknowledged once appended to a file of its process's own,
and committed to the log's table behind it, many at a time.

Why: committing every decision to SQLite before answering made the workers
take turns on the database's one write lock, each request waiting for its
group's commit, and cost a logged request about 280 µs of CPU over HTTP
(docs/speed.md). One ``write()`` to a file no other process writes waits on
nothing, and SQLite then takes hundreds of records in one transaction.

What is kept is the same: a ``write()`` that has returned is in the kernel's
page cache, and survives the process being killed, as a commit to SQLite's
WAL with ``synchronous=NORMAL`` does; neither survives the machine losing
power.

A journal is a folder beside the database (``decisions.sqlite3.journal``)
holding a file per writing process. A file is a sequence of frames: a header
(the payload's length and CRC-32, four bytes each, big-endian) and the
payload, a JSON array of record rows. One ``write_many`` is one frame written
with one ``write()``, so a batch is committed whole or not at all: a frame cut
short (its process killed in the middle of the write, before it answered) is
never committed.

A writer holds a shared flock on its file for as long as it may append to it.
A committer (any process, holding the log's write turn) that can take an
exclusive one knows the writer is gone: once it has committed the file to its
end, the file is removed. How far each file is committed is kept in the
database (``journal_positions``), in the transaction that commits its rows,
so each frame is committed exactly once.
"""
from __future__ import annotations

import errno
import fcntl
import os
import secrets
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import orjson

HEADER = struct.Struct(">II")  # payload length, CRC-32 of the payload
SUFFIX = ".journal"
DAMAGED = ".damaged"  # a gone writer's file with a frame that fails its check: set aside, never removed
ROTATE_AT = 64 * 1024 * 1024  # bytes: a writer starts a new file, and its committed old one is removed
READ_AT_MOST = 8 * 1024 * 1024  # bytes committed in one transaction, a bound on how long it holds the turn

STATEMENTS = ("""
CREATE TABLE IF NOT EXISTS journal_positions (
    journal  TEXT PRIMARY KEY,  -- a file's name in the journal folder
    position INTEGER NOT NULL   -- how many of its bytes are committed to the decisions table
)""",)


def folder_of(database: Path) -> Path:
    return database.with_name(database.name + SUFFIX)


def frame(rows: list[tuple]) -> bytes:
    payload = orjson.dumps(rows)
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


class Journal:
    """This process's file in the journal folder, opened at its first append (after gunicorn forks)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.appends = 0  # frames appended by this process, so a committer knows when there is something new
        self._lock = threading.Lock()
        self._fd = None
        self._pid = None
        self._size = 0

    def append(self, rows: list[tuple]) -> None:
        """Append one frame of ``rows``, in the page cache when this returns; OSError when it could not be."""
        data = frame(rows)
        with self._lock:
            for _ in range(2):  # once more, into a new file, when this one was removed under it
                fd = self._file()
                try:
                    written = os.write(fd, data)
                except OSError:
                    self._let_go()
                    raise
                if written != len(data):  # a frame cut short ends the file: the next append starts another
                    self._let_go()
                    raise OSError(errno.ENOSPC, "the journal took only part of the decision (is the disk full?)")
                self._size += written
                if os.fstat(fd).st_nlink:
                    break
                self._let_go()  # its folder was removed: the frame went nowhere
            else:
                raise OSError(errno.ENOENT, f"the journal folder {self.folder} was removed while writing to it")
            self.appends += 1
            if self._size >= ROTATE_AT:
                self._let_go()

    def close(self) -> None:
        with self._lock:
            self._let_go()

    def _file(self) -> int:
        if self._pid != os.getpid():
            if self._fd is not None:
                os.close(self._fd)  # the parent's, inherited by fork: the parent's lock stays the parent's
            self._fd, self._pid = None, os.getpid()
        if self._fd is None:
            self._fd, self._size = _new_file(self.folder), 0
        return self._fd

    def _let_go(self) -> None:
        """Close the file (releasing its lock): committers remove it once they have committed it."""
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


def _new_file(folder: Path) -> int:
    """A new file, locked before it has its name, so that no committer ever takes it for a gone writer's."""
    folder.mkdir(parents=True, exist_ok=True)
    # Named to sort in the order files are made, so that one writer's files are committed in its order.
    name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}"
    temporary = folder / f"{name}.new"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        os.rename(temporary, folder / f"{name}{SUFFIX}")
    except BaseException:
        os.close(fd)
        raise
    return fd


@dataclass(frozen=True)
class Pending:
    """What one file holds past its committed position."""

    name: str
    start: int
    end: int  # the position once ``rows`` are committed
    rows: tuple
    gone: bool  # its writer has let go of it
    ended: bool  # read to the end of the file (a frame cut short at its end is no frame)
    damaged: bool  # a frame failed its check


def pending(folder: Path, positions: dict[str, int]) -> tuple[list[Pending], bool]:
    """What the journal's files hold that is not committed, about READ_AT_MOST bytes of it at most, and whether
    there is more."""
    try:
        names = sorted(entry.name for entry in os.scandir(folder) if entry.name.endswith(SUFFIX))
    except FileNotFoundError:
        return [], False
    found, budget = [], READ_AT_MOST
    for name in names:
        if budget <= 0:
            return found, True
        try:
            with open(folder / name, "rb") as file:
                found.append(_read(file, name, positions.get(name, 0), budget))
        except FileNotFoundError:  # removed by another committer since it was listed
            continue
        budget -= found[-1].end - found[-1].start
        if not found[-1].ended:  # the rest of it first: one writer's records are committed in its order
            return found, True
    return found, False


def _read(file, name: str, start: int, budget: int) -> Pending:
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released when the file is closed
        gone = True
    except BlockingIOError:
        gone = False
    # Read after the lock is tried: a writer found gone has appended its last frame already.
    file.seek(start)
    data = file.read(budget)
    first = HEADER.size + HEADER.unpack_from(data)[0] if len(data) >= HEADER.size else 0
    if first > len(data):
        data += file.read(first - len(data))  # one frame at least, whatever its size
    rows, used, damaged = _frames(data)
    ended = start + len(data) >= os.fstat(file.fileno()).st_size
    return Pending(name, start, start + used, tuple(rows), gone, ended, damaged)


def _frames(data) -> tuple[list, int, bool]:
    """The rows of the whole frames at the start of ``data``, the bytes they take, and whether a frame failed
    its check (where reading stopped)."""
    rows, at = [], 0
    while at + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, at)
        payload = data[at + HEADER.size:at + HEADER.size + length]
        if len(payload) < length:
            break  # being written, or cut short
        if zlib.crc32(payload) != crc:
            return rows, at, True
        rows.extend(tuple(row) for row in orjson.loads(bytes(payload)))
        at += HEADER.size + length
    return rows, at, False


def finished(folder: Path, found: list[Pending]) -> None:
    """After the commit of ``found``: remove the files whose writers are gone and which are committed to their
    end, and set aside a gone writer's file whose frame failed its check."""
    for file in found:
        if not file.gone:
            continue
        try:
            if file.damaged:
                os.rename(folder / file.name, folder / (file.name + DAMAGED))
            elif file.ended:
                os.unlink(folder / file.name)
        except FileNotFoundError:  # another committer got there first
            pass


def commit(transaction, folder: Path, append) -> tuple[list[Pending], bool]:
    """Within ``transaction`` (holding the log's write turn): commit what the journal holds beyond its committed
    positions (at most about READ_AT_MOST bytes; also returned: whether there is more), with
    ``append(transaction, rows)``, and move the positions on. Call ``finished`` once it has committed."""
    positions = dict(transaction.rows("SELECT journal, position FROM journal_positions"))
    found, more = pending(folder, positions)
    append(transaction, [row for file in found for row in file.rows])
    moved = [(file.name, file.end) for file in found if file.end > file.start]
    if moved:
        transaction.insert("INSERT INTO journal_positions (journal, position) VALUES (?, ?) "
                           "ON CONFLICT (journal) DO UPDATE SET position = excluded.position", moved)
    gone = [(name,) for name in positions if not (folder / name).exists()]
    if gone:  # removed once committed (or set aside): their positions are of no more use
        transaction.insert("DELETE FROM journal_positions WHERE journal = ?", gone)
    return found, more
