"""The decision log as a feed, and as a store that fails well.

A follower reads ``find(after=<the last decision it saw>)`` (what
``GET /v1/decisions?after=`` serves) or ``find(since=<its time>)`` again and
again while several processes write: it must see every decision exactly
once. A decision's id and time are made before it is written, as a server
does, so ids and commits come in different orders. Then: a full disk leaks
neither descriptors nor threads, and a log written by version 1 is upgraded
in place.
"""
from __future__ import annotations

import multiprocessing
import random
import sqlite3
import threading
import time
from datetime import datetime

import psutil
import pytest

from supportpolicy.server.storage import sqlite as sqlite_store
from supportpolicy.server.storage.decisionlog import DecisionLogUnavailable, LogRecord, open_log

from support import make_request

WRITERS = 4
EACH = 150


def _record(policy_set) -> LogRecord:
    decision = policy_set.decide(make_request("2026-11-28T23:00:00-06:00"))
    return LogRecord.of(make_request("2026-11-28T23:00:00-06:00"), decision)


def _write(url, data_dir, seed, written):
    """A writer process: makes each record, then pauses a little before writing it, as a server does
    between deciding and logging."""
    from supportpolicy.engine import load_policy_set

    policy_set, rng = load_policy_set(), random.Random(seed)
    log = open_log(url, data_dir)
    for _ in range(EACH):
        record = _record(policy_set)
        time.sleep(rng.random() * 0.004)
        log.write(record)
        written.put(record.decision_id)
    log.close()


def _follow(log, how: str, stop: threading.Event, seen: list) -> None:
    after, since = None, None
    while True:
        finished = stop.is_set()  # read before the last pass, so it sees everything written before
        page = log.find(after=after, limit=1000) if how == "after" else log.find(since=since, limit=1000)
        for record in page:
            if not seen or record.decision_id not in seen[-1000:]:  # since is inclusive: the last may repeat
                seen.append(record.decision_id)
        if page:
            after = page[-1].decision_id if how == "after" else None
            since = datetime.fromisoformat(page[-1].decided_at) if how == "since" else None
        if finished:
            return
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["after", "since"])
def test_a_follower_sees_every_decision_once_while_several_processes_write(store, how):
    log = store.open()
    log.setup()
    # Spawned, not forked: a fork while this process's checkpointer is inside SQLite would leave the child
    # holding SQLite's mutex.
    processes = multiprocessing.get_context("spawn")
    written = processes.Queue()
    writers = [processes.Process(target=_write, args=(store.url, store.data_dir, n, written))
               for n in range(WRITERS)]
    seen, stop = [], threading.Event()
    follower = threading.Thread(target=_follow, args=(log, how, stop, seen))
    follower.start()
    for writer in writers:
        writer.start()
    ids = [written.get(timeout=120) for _ in range(WRITERS * EACH)]
    for writer in writers:
        writer.join(timeout=60)
        assert writer.exitcode == 0
    stop.set()
    follower.join(timeout=60)
    assert len(seen) == len(set(seen)), "a decision was seen twice"
    missed = set(ids) - set(seen)
    assert not missed, f"the follower missed {len(missed)} of {len(ids)} decisions"
    # The log's order is the one a follower reads: every decision, once, in commit order.
    assert [r.decision_id for r in _everything(log)] == seen


def _everything(log) -> list:
    records, after = [], None
    while page := log.find(after=after, limit=1000):
        records += page
        after = page[-1].decision_id
    return records


def test_a_time_never_goes_back_along_the_log(store, policy_set):
    # A decision made before another but written after it takes that one's time: since never misses it.
    log = store.open()
    first, second = _record(policy_set), _record(policy_set)
    log.write(second)
    log.write(first)
    stored = [r.decided_at for r in log.find()]
    assert stored == sorted(stored) and stored[0] == second.decided_at
    assert [r.decision_id for r in log.find(since=datetime.fromisoformat(stored[0]))] == \
        [second.decision_id, first.decision_id]


def test_an_unknown_after_is_refused_naming_it(store):
    log = store.open()
    with pytest.raises(Exception) as caught:
        log.find(after="no-such-decision")
    assert caught.value.status == 422 and caught.value.errors[0].pointer == "after"


def _open_files(path) -> int:
    return sum(1 for f in psutil.Process().open_files() if f.path.startswith(str(path)))


def test_a_full_disk_leaks_no_descriptor_and_no_thread(tmp_path, policy_set, monkeypatch):
    # SQLite's max_page_count makes the database "full" as a full disk does (SQLITE_FULL).
    limited = {"pages": 40}

    def setup(connection):
        sqlite_setup(connection)
        connection.execute(f"PRAGMA max_page_count = {limited['pages']}")

    sqlite_setup = sqlite_store._setup_sqlite
    monkeypatch.setattr(sqlite_store, "_setup_sqlite", setup)
    monkeypatch.setattr(sqlite_store.SQLiteLog, "CHECKPOINT_EVERY", 0.05)
    log = open_log(None, tmp_path)
    record = _record(policy_set)
    log.write(record)
    time.sleep(0.5)  # the checkpointer has opened its own connection
    threads, files = threading.active_count(), _open_files(tmp_path)
    acknowledged = [record.decision_id]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        written = _record(policy_set)
        try:
            log.write(written)
        except DecisionLogUnavailable as error:
            assert "full" in error.detail
            break
        acknowledged.append(written.decision_id)
        time.sleep(0.001)  # time passes between requests, and the journal is committed behind them
    else:
        pytest.fail("the table is full, yet 30 s of writes were all acknowledged")
    # The journal takes writes until a commit finds the table full; from then on every write is refused.
    for _ in range(200):
        with pytest.raises(DecisionLogUnavailable, match="full"):
            log.write(_record(policy_set))
    assert threading.active_count() <= threads and _open_files(tmp_path) <= files
    # Space comes back: the same log writes again, and nothing acknowledged was lost.
    log._connection.execute("PRAGMA max_page_count = 1000000")
    later = _record(policy_set)
    log.write(later)
    assert all(log.get(decision_id) is not None for decision_id in acknowledged + [later.decision_id])
    log.close()


V1_TABLE = """CREATE TABLE decisions (
    decision_id TEXT PRIMARY KEY, decided_at TEXT NOT NULL, customer TEXT NOT NULL, received_at TEXT NOT NULL,
    policy_digest TEXT NOT NULL, request TEXT NOT NULL, decision TEXT NOT NULL)"""


def test_a_version_1_log_is_upgraded_in_place(tmp_path, policy_set):
    path = tmp_path / "decisions.sqlite3"
    old = [_record(policy_set) for _ in range(5)]
    with sqlite3.connect(path) as connection:
        connection.execute(V1_TABLE)
        connection.execute("CREATE INDEX decisions_by_time ON decisions (decided_at)")
        for r in sorted(old, key=lambda r: r.decision_id, reverse=True):
            row = r.row()  # version 1 had neither ticket_id nor privacy
            connection.execute("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?)", row[:3] + row[4:8])
    log = open_log(None, tmp_path)
    assert [r.decision_id for r in log.find()] == sorted(r.decision_id for r in old)  # version 1's order
    new = _record(policy_set)
    log.write(new)
    assert log.find()[-1].decision_id == new.decision_id
    assert log.get(old[0].decision_id) == old[0]
    log.close()
