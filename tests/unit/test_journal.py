"""The SQLite decision log's journal: what it acknowledged is committed once, whole, whatever happened to its writer.

Each case writes through the log (server.storage.sqlite.SQLiteLog, whose write() appends to the journal)
and reads through a log opened anew, as the next process does; the journal's files are then looked at
directly. The committer thread is slowed down so that what a case reads is what the reader committed.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3

import pytest

from supportpolicy.server.storage import journal
from supportpolicy.server.storage.decisionlog import LogRecord, open_log
from supportpolicy.server.storage.sqlite import SQLiteLog

from support import make_request


@pytest.fixture(autouse=True)
def slow_committer(monkeypatch):
    monkeypatch.setattr(SQLiteLog, "COMMIT_BEHIND_EVERY", 3600.0)


def records(policy_set, count: int) -> list[LogRecord]:
    made = []
    for n in range(count):
        body = make_request("2026-11-28T23:00:00-06:00", ticket_id=f"T-{n}")
        made.append(LogRecord.of(body, policy_set.decide(body)))
    return made


def files(data, suffix: str = journal.SUFFIX) -> list:
    folder = data / "decisions.sqlite3.journal"
    return sorted(p for p in folder.iterdir() if p.name.endswith(suffix)) if folder.exists() else []


def table_ids(data) -> list[str]:
    with sqlite3.connect(data / "decisions.sqlite3") as connection:
        return [row[0] for row in connection.execute("SELECT decision_id FROM decisions ORDER BY seq")]


def read_anew(data) -> list[str]:
    log = open_log(None, data)
    try:
        return [r.decision_id for r in log.find(limit=1000)]
    finally:
        log.close()


def test_a_write_is_in_the_journal_when_it_returns_and_in_the_table_once_read(tmp_path, policy_set):
    log = open_log(None, tmp_path)
    written = records(policy_set, 3)
    for record in written:
        log.write(record)
    assert table_ids(tmp_path) == []  # acknowledged, not yet committed
    assert len(files(tmp_path)) == 1
    # Another log (another process, as far as locks go) sees every one at once, in the order written.
    assert read_anew(tmp_path) == [r.decision_id for r in written]
    assert table_ids(tmp_path) == [r.decision_id for r in written]
    # The writer is still there: its file stays. Once it has let go, the next commit removes it.
    assert len(files(tmp_path)) == 1
    log.close()
    assert read_anew(tmp_path) == [r.decision_id for r in written] and files(tmp_path) == []


def test_each_record_is_committed_once_however_often_the_journal_is_read(tmp_path, policy_set):
    log = open_log(None, tmp_path)
    written = records(policy_set, 5)
    log.write_many(written[:2])
    assert len(read_anew(tmp_path)) == 2
    log.write_many(written[2:])
    assert read_anew(tmp_path) == read_anew(tmp_path) == [r.decision_id for r in written]
    log.close()


def _write_then_die(data, count: int, ids) -> None:
    from supportpolicy.engine import load_policy_set

    SQLiteLog.COMMIT_BEHIND_EVERY = 3600.0  # nothing committed behind: all of it is left in the journal
    log = open_log(None, data)
    for record in records(load_policy_set(), count):
        log.write(record)
        ids.put(record.decision_id)
    ids.close()
    ids.join_thread()
    os.kill(os.getpid(), signal.SIGKILL)


def test_what_a_killed_process_acknowledged_is_committed_by_the_next_to_open_the_log(tmp_path):
    processes = multiprocessing.get_context("spawn")
    ids = processes.Queue()
    writer = processes.Process(target=_write_then_die, args=(tmp_path, 40, ids))
    writer.start()
    acknowledged = [ids.get(timeout=60) for _ in range(40)]
    writer.join(timeout=60)
    assert writer.exitcode == -signal.SIGKILL
    assert table_ids(tmp_path) == []
    log = open_log(None, tmp_path)
    log.setup()  # as serve does at start
    log.close()
    assert table_ids(tmp_path) == acknowledged and files(tmp_path) == []


def test_a_frame_cut_short_commits_none_of_its_batch(tmp_path, policy_set):
    # The writer killed in the middle of its write(): it never answered for that batch.
    log = open_log(None, tmp_path)
    first, batch = records(policy_set, 1), records(policy_set, 3)
    log.write_many(first)
    log.write_many(batch)
    log._journal.close()  # the writer is gone
    (path,) = files(tmp_path)
    os.truncate(path, path.stat().st_size - 10)
    assert read_anew(tmp_path) == [first[0].decision_id]
    assert files(tmp_path) == []  # its end is no frame: nothing more will come
    log.close()


def test_a_frame_that_fails_its_check_is_set_aside_with_what_follows(tmp_path, policy_set):
    log = open_log(None, tmp_path)
    written = records(policy_set, 3)
    for record in written:
        log.write(record)
    log._journal.close()
    (path,) = files(tmp_path)
    data = bytearray(path.read_bytes())
    second = journal.HEADER.size + journal.HEADER.unpack_from(data)[0]
    data[second + journal.HEADER.size + 5] ^= 0xFF
    path.write_bytes(bytes(data))
    assert read_anew(tmp_path) == [written[0].decision_id]
    assert files(tmp_path) == [] and [p.name for p in files(tmp_path, journal.DAMAGED)] == [path.name + ".damaged"]
    log.close()


def test_a_writer_starts_a_new_file_past_the_limit_and_every_record_is_kept_in_order(tmp_path, policy_set,
                                                                                   monkeypatch):
    monkeypatch.setattr(journal, "ROTATE_AT", 4096)
    monkeypatch.setattr(journal, "READ_AT_MOST", 3000)  # less than a frame of the batch: read whole anyway
    log = open_log(None, tmp_path)
    written = records(policy_set, 12)
    for record in written[:10]:
        log.write(record)
    log.write_many(written[10:])
    assert len(files(tmp_path)) >= 2
    assert read_anew(tmp_path) == [r.decision_id for r in written]
    assert len(files(tmp_path)) <= 1  # the files let go of are removed once committed
    log.close()


def test_a_table_that_cannot_be_written_acknowledges_nothing_more(tmp_path, policy_set, monkeypatch):
    log = open_log(None, tmp_path)
    first, second, third = records(policy_set, 3)
    log.write(first)
    commit = journal.commit

    def full(*args):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(journal, "commit", full)  # the commit behind fails, as on a full disk
    with pytest.raises(Exception) as failed:
        log.find()
    assert failed.value.status == 503
    with pytest.raises(Exception) as refused:
        log.write(second)  # tries to catch up first: it cannot, so the decision is not acknowledged
    assert refused.value.status == 503 and "full" in refused.value.detail
    monkeypatch.setattr(journal, "commit", commit)  # space again
    log.write(third)
    assert read_anew(tmp_path) == [first.decision_id, third.decision_id]
    log.close()
