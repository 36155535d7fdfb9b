"""The decision log, against both stores: SQLite in a temporary data folder, and PostgreSQL.

PostgreSQL is the server named by ``SUPPORTPOLICY_TEST_POSTGRES``
(``postgresql://user:password@host:port/db``; ``.ci/run`` starts one). Each test gets a schema of its
own, created for it and dropped after it (the URL handed to the code under test sets ``search_path`` to
it), so tests never see each other's decisions. Without the variable the PostgreSQL cases are skipped,
except under CI (``CI=true``), where they fail: CI must not pass without having run them.

The log is exercised directly (``engine.decisionlog``), through the Flask test client (``POST`` and
``GET /v1/decisions``), and through the command line run as a separate process (``serve --retain-days``,
``log export``, and ``impact --requests`` reading an export), as test_cli.py runs it.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import orjson
import pytest
from logstores import admin_connection, assert_no_password, postgres_schema

from supportpolicy.engine.decide.decision import new_decision_id
from supportpolicy.server import create_app
from supportpolicy.server.storage.decisionlog import (
    MAX_PAGE,
    DecisionLogUnavailable,
    LogRecord,
    open_log,
    utc_text,
)

from support import DESIGNATED, OTHER, REPO, command, free_port, http, make_request, serving

UTC = timezone.utc
SATURDAY_NIGHT = "2026-11-28T23:00:00-06:00"      # billable for a designated contact
FRIDAY_IN_HOURS = "2026-11-27T10:00:00-06:00"     # in business hours: not billable
PLAN = "policies/plans/central-standard/2026.1.yaml"


# ---- records -------------------------------------------------------------------------------

def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def record(policy_set, decided_at: datetime, customer: str = "demo-city", received_at: str = SATURDAY_NIGHT,
           **request_fields) -> LogRecord:
    """A real decision, logged as made at ``decided_at`` (for another customer: renamed in request and decision)."""
    body = make_request(received_at, **request_fields)
    decision = policy_set.decide(body).as_json()
    body["customer"] = decision["customer"] = customer
    return LogRecord(decision["decision_id"], utc_text(decided_at), customer, decision["received_at"],
                     decision["policy"]["digest"], body, decision)


def copy_of(template: LogRecord, decided_at: datetime, customer: str | None = None) -> LogRecord:
    """The same decision again under a new id (for many records quickly)."""
    decision_id = new_decision_id()
    customer = customer or template.customer
    return LogRecord(decision_id, utc_text(decided_at), customer, template.received_at, template.policy_digest,
                     dict(template.request, customer=customer),
                     dict(template.decision, decision_id=decision_id, customer=customer))


def ids(records) -> list[str]:
    return [r.decision_id for r in records]


# ---- the log itself -------------------------------------------------------------------------

def test_write_then_get_gives_back_the_request_and_decision_exactly(store, policy_set):
    body = make_request("2026-07-15T20:30:00.123456Z", "portal", "application_error", DESIGNATED,
                        ticket_id="T-\u00fc-\u4e2d-\U0001F600-\"quoted\"\\",
                        summary="Line one\nline two\ttabbed \u2014 \U0001F4A5 " + "x" * 5000)
    body["requester"].update({"name": "Zo\u00eb O'Brien", "employee_no": 2**63 - 1, "score": 0.1,
                              "tags": ["a", {"nested": [None, True, False, -1.5e300]}]})
    sent = orjson.dumps(body)
    decided = policy_set.decide(orjson.loads(sent))
    decision = decided.as_json()
    answered = orjson.dumps(decision)
    store.open().write(LogRecord.of(orjson.loads(sent), decided, orjson.loads(answered)))

    # Read back through a log opened afresh (another connection), as a restarted server would.
    got = store.open().get(decision["decision_id"])
    assert got is not None
    assert orjson.dumps(got.decision) == answered  # the same fields, values and order
    assert orjson.dumps(got.request) == sent
    assert (got.decision_id, got.customer, got.received_at, got.policy_digest) == \
        (decision["decision_id"], "demo-city", decision["received_at"], decision["policy"]["digest"])
    decided = datetime.fromisoformat(got.decided_at)
    assert decided.utcoffset() == timedelta(0) and got.decided_at.endswith("Z")
    assert abs(datetime.now(UTC) - decided) < timedelta(minutes=1)
    assert got.as_json()["decision"] == decision and got.as_json()["request"] == body


def test_the_sqlite_wal_starts_over_under_constant_writes(tmp_path, policy_set, monkeypatch):
    # Under a steady stream of writes a passive checkpoint never catches up, and the WAL (with the
    # index every worker maps) would grow for as long as the load lasts: gigabytes in a day.
    from supportpolicy.server.storage.decisionlog import SQLiteLog
    monkeypatch.setattr(SQLiteLog, "WAL_LIMIT", 1024 * 1024, raising=False)
    monkeypatch.setattr(SQLiteLog, "CHECKPOINT_EVERY", 0.05)
    log = open_log(data_dir=tmp_path)
    template = record(policy_set, datetime.now(UTC))
    wal = Path(log.where + "-wal")
    largest = 0
    try:
        for n in range(2500):  # about 50 MB of WAL if it never started over
            log.write(copy_of(template, datetime.now(UTC)))
            if n % 100 == 0:
                largest = max(largest, wal.stat().st_size)
                time.sleep(0.01)  # a steady stream, not one burst: the checkpointer gets its turns
        assert log.get(template.decision_id) is None and len(log.find(limit=MAX_PAGE)) == MAX_PAGE
    finally:
        log.close()
    assert largest < 16 * 1024 * 1024, f"the WAL reached {largest / 2**20:.0f} MiB"


def test_get_of_an_unknown_id_is_none(store, policy_set):
    log = store.open()
    log.write(record(policy_set, datetime.now(UTC)))
    assert log.get(new_decision_id()) is None
    assert log.get("") is None
    assert log.get("'; DROP TABLE decisions; --") is None
    assert len(store.ids()) == 1


def test_two_logs_on_one_store_see_each_others_decisions(store, policy_set):
    first, second = store.open(), store.open()
    a = record(policy_set, datetime.now(UTC))
    b = record(policy_set, datetime.now(UTC), channel="phone")
    first.write(a)
    second.write(b)
    assert first.get(b.decision_id) == b and second.get(a.decision_id) == a
    assert store.ids() == sorted([a.decision_id, b.decision_id])


@contextmanager
def new_store(kind: str, folder: Path):
    """(--decision-log URL or None, data folder) of a store never used before."""
    if kind == "sqlite":
        yield None, folder
    else:
        with postgres_schema() as (url, _):
            yield url, folder


def test_logs_using_a_new_store_at_the_same_moment_all_write(store, policy_set, tmp_path):
    # Two workers (serve's default) or two servers whose first decisions come at the same moment, on a
    # store never used before: each sets the store up as it connects, and both decisions must be logged.
    # The moment is a race, so it is tried again on new stores for a few seconds, or until it fails.
    template = record(policy_set, datetime.now(UTC))
    started, rounds, failures = time.monotonic(), 0, []
    while not failures and (rounds == 0 or time.monotonic() - started < 5):
        rounds += 1
        with new_store(store.kind, tmp_path / f"round-{rounds}") as (url, folder):
            logs = [open_log(url, folder) for _ in range(2)]
            records = [copy_of(template, datetime.now(UTC)) for _ in logs]
            barrier = threading.Barrier(len(logs))

            def first_write(log, r):
                barrier.wait(timeout=30)
                try:
                    log.write(r)
                except DecisionLogUnavailable as error:
                    failures.append(error.detail)

            threads = [threading.Thread(target=first_write, args=pair) for pair in zip(logs, records)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            try:
                if not failures:
                    check = open_log(url, folder)
                    assert sorted(ids(check.find())) == sorted(ids(records))
                    check.close()
            finally:
                for log in logs:
                    log.close()
    assert failures == [], f"on a new store (try {rounds}), a first decision could not be logged: {failures[0]}"


@pytest.fixture()
def timeline(store, policy_set):
    """Decisions of two customers at known times (UTC), written in time order; returns (log, records)."""
    times = ["2026-03-01T00:00:00Z", "2026-03-01T05:59:59.999999Z", "2026-03-01T06:00:00Z",
             "2026-03-01T12:00:00Z", "2026-03-02T00:00:00Z", "2026-03-02T00:00:00.000001Z",
             "2026-03-03T23:59:59Z"]
    customers = ["demo-city", "acme", "demo-city", "acme", "demo-city", "demo-city", "acme"]
    log = store.open()
    records = []
    for when, customer in zip(times, customers):
        records.append(record(policy_set, at(when), customer))
        log.write(records[-1])
        time.sleep(0.002)  # ids are ordered by the millisecond
    assert ids(records) == sorted(ids(records))
    return log, records


def test_find_by_customer_oldest_first(timeline):
    log, records = timeline
    assert ids(log.find()) == ids(records)
    assert ids(log.find("demo-city")) == ids(r for r in records if r.customer == "demo-city")
    assert ids(log.find("acme")) == ids(r for r in records if r.customer == "acme")
    assert log.find("nobody") == []
    assert log.find("demo-city")[0] == records[0]  # whole records, request and decision included


def test_find_since_is_inclusive_and_until_exclusive(timeline):
    log, records = timeline
    six = at("2026-03-01T06:00:00Z")
    assert ids(log.find(since=six)) == ids(records[2:])
    assert ids(log.find(until=six)) == ids(records[:2])  # 05:59:59.999999 is before; 06:00 is not
    second = at("2026-03-02T00:00:00Z")
    assert ids(log.find(since=six, until=second)) == ids(records[2:4])
    assert ids(log.find(since=second, until=second + timedelta(microseconds=1))) == ids(records[4:5])
    assert ids(log.find("acme", since=six, until=at("2026-03-04T00:00:00Z"))) == ids([records[3], records[6]])
    assert log.find(since=at("2026-03-04T00:00:00Z")) == []
    assert log.find(since=second, until=six) == []


def test_find_converts_other_offsets_to_utc(timeline):
    log, records = timeline
    # 00:00 in Chicago (UTC-6) is 06:00 UTC; 05:30 in Kolkata (UTC+5:30) is 00:00 UTC.
    assert ids(log.find(since=at("2026-03-01T00:00:00-06:00"))) == ids(records[2:])
    assert ids(log.find(until=at("2026-03-02T05:30:00+05:30"))) == ids(records[:4])


def test_paging_with_after_gives_every_record_once_in_commit_order(store, policy_set):
    template = record(policy_set, datetime.now(UTC))
    start = at("2026-05-01T00:00:00Z")
    # Ids, times and commits in different orders (ids made in one millisecond are not ordered among
    # themselves): paging follows the commit order, the log's own.
    records = [copy_of(template, start + timedelta(minutes=(37 * n) % 53), "acme" if n % 3 == 0 else "demo-city")
               for n in range(53)]
    store.insert_many(records)
    log = store.open()
    for customer, limit in [(None, 7), (None, 1), (None, 53), (None, 100), ("acme", 5), ("demo-city", 6)]:
        expected = [r.decision_id for r in records if customer in (None, r.customer)]
        seen, after = [], None
        for _ in range(len(records) + 2):
            page = log.find(customer, after=after, limit=limit)
            assert len(page) <= limit
            seen += ids(page)
            if len(page) < limit:
                break
            after = page[-1].decision_id
        assert seen == expected, (customer, limit)
    # Paging within a time window.
    since, until = start + timedelta(minutes=10), start + timedelta(minutes=40)
    expected = [r.decision_id for r in records if since <= at(r.decided_at) < until]
    pages, after = [], None
    while True:
        page = log.find(since=since, until=until, after=after, limit=4)
        pages.append(ids(page))
        if len(page) < 4:
            break
        after = page[-1].decision_id
    assert sum(pages, []) == expected and all(len(p) == 4 for p in pages[:-1])


def test_a_page_is_at_most_max_page(store, policy_set):
    template = record(policy_set, datetime.now(UTC))
    store.insert_many([copy_of(template, datetime.now(UTC)) for _ in range(MAX_PAGE + 5)])
    log = store.open()
    assert len(log.find(limit=MAX_PAGE + 100)) == MAX_PAGE


# ---- retention -------------------------------------------------------------------------------

NOW = datetime(2026, 6, 30, 12, 0, 0, tzinfo=UTC)


def test_prune_deletes_only_what_is_older_than_the_retention(store, policy_set):
    cutoff = NOW - timedelta(days=30)
    template = record(policy_set, NOW)
    older = {"a year": cutoff - timedelta(days=365), "a day": cutoff - timedelta(days=1),
             "a second": cutoff - timedelta(seconds=1), "a microsecond": cutoff - timedelta(microseconds=1)}
    younger = {"exactly 30 days old": cutoff, "a microsecond": cutoff + timedelta(microseconds=1),
               "a second": cutoff + timedelta(seconds=1), "a day": cutoff + timedelta(days=1), "now": NOW,
               "in the future": NOW + timedelta(hours=1)}
    kept = {name: copy_of(template, when) for name, when in younger.items()}
    gone = {name: copy_of(template, when) for name, when in older.items()}
    store.insert_many(list(kept.values()) + list(gone.values()))

    assert store.open().prune(NOW) == 0  # no retention: nothing is ever deleted
    assert len(store.ids()) == len(kept) + len(gone)

    log = store.open(retain_days=30)
    assert log.prune(NOW) == len(gone)
    assert store.ids() == sorted(r.decision_id for r in kept.values())
    for name, r in kept.items():
        assert log.get(r.decision_id) == r, f"the decision younger than the cutoff by {name} was deleted"
    assert log.prune(NOW) == 0
    # One day later, the day-younger decision is still kept; the rest passes the cutoff.
    assert log.prune(NOW + timedelta(days=1)) == 3
    assert store.ids() == sorted([kept["a day"].decision_id, kept["now"].decision_id,
                                  kept["in the future"].decision_id])


def test_prune_uses_the_current_time_by_default(store, policy_set):
    now = datetime.now(UTC)
    fresh = record(policy_set, now)
    store.insert_many([fresh, copy_of(fresh, now - timedelta(days=7, seconds=60)),
                       copy_of(fresh, now - timedelta(days=7) + timedelta(seconds=60))])
    log = store.open(retain_days=7)
    assert log.prune() == 1
    assert len(store.ids()) == 2 and fresh.decision_id in store.ids()


def test_writing_with_a_retention_prunes_old_decisions(store, policy_set):
    now = datetime.now(UTC)
    template = record(policy_set, now)
    old, recent = copy_of(template, now - timedelta(days=3, seconds=5)), copy_of(template, now - timedelta(days=2))
    store.insert_many([old, recent])
    log = store.open(retain_days=3)
    new = record(policy_set, now)
    log.write(new)
    assert store.ids() == sorted([recent.decision_id, new.decision_id])


# ---- the command line -------------------------------------------------------------------------

def run(*args, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    argv, env = command()
    env["HOME"] = str(cwd)
    result = subprocess.run(argv + [str(a) for a in args], cwd=cwd, capture_output=True, timeout=timeout, env=env)
    result.stdout_text = result.stdout.decode("utf-8")
    result.stderr_text = result.stderr.decode("utf-8")
    assert "Traceback" not in result.stderr_text, f"a traceback on stderr:\n{result.stderr_text}"
    return result


def output(result) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout_text[-5000:]}--- stderr\n{result.stderr_text}"


def test_serve_with_retain_days_prunes_old_decisions_at_start(store, policy_set, tmp_path):
    now = datetime.now(UTC)
    template = record(policy_set, now)
    # The server starts within seconds of now; an hour either side of the cutoff leaves no doubt.
    old = [copy_of(template, now - timedelta(days=30, hours=1)), copy_of(template, now - timedelta(days=400))]
    young = [copy_of(template, now - timedelta(days=30) + timedelta(hours=1)), template]
    store.insert_many(old + young)
    with serving(store.cli_args() + ["--workers", "1", "--retain-days", "30", "--no-watch"], tmp_path) as server:
        assert store.ids() == sorted(ids(young))
        for r in young:
            status, document = http("GET", f"{server.base}/v1/decisions/{r.decision_id}")
            assert status == 200 and document["decision"] == r.decision
        status, _ = http("GET", f"{server.base}/v1/decisions/{old[0].decision_id}")
        assert status == 404
    if store.url:
        assert_no_password(store.url, server.stderr())


@pytest.fixture()
def exported(store, policy_set, tmp_path):
    """A log of 2,001 decisions over three days, two customers; returns (records in commit order, run export)."""
    demo = [record(policy_set, at("2026-03-01T00:00:00Z"), received_at=SATURDAY_NIGHT),  # billable
            record(policy_set, at("2026-03-01T00:00:00Z"), received_at=FRIDAY_IN_HOURS),  # not billable
            record(policy_set, at("2026-03-01T00:00:00Z"), received_at=SATURDAY_NIGHT, email=OTHER)]
    start = at("2026-03-01T00:00:00Z")
    records = []
    for n in range(2001):
        customer = "acme" if n % 4 == 3 else "demo-city"
        records.append(copy_of(demo[n % 3], start + timedelta(seconds=n * 129), customer))
    store.insert_many(records)

    def export(*args):
        result = run("log", "export", *args, *store.cli_args(), cwd=tmp_path)
        assert result.returncode == 0, output(result)
        lines = result.stdout_text.splitlines()
        assert all(lines), "a blank line in the export"
        return result, [json.loads(line) for line in lines]

    return records, export


def test_log_export_writes_every_decision_as_a_json_line_oldest_first(exported):
    records, export = exported
    _, lines = export()
    assert [line["decision_id"] for line in lines] == ids(records)  # 2,001: more than two pages, each once
    assert lines[0] == records[0].as_json() and lines[-1] == records[-1].as_json()
    for line, r in zip(lines, records):
        assert (line["request"], line["decision"], line["customer"], line["decided_at"]) == \
            (r.request, r.decision, r.customer, r.decided_at)


def test_log_export_filters_by_customer_since_and_until(exported):
    records, export = exported
    _, lines = export("--customer", "acme")
    assert [line["decision_id"] for line in lines] == ids(r for r in records if r.customer == "acme")
    # Dates are UTC days; --until is exclusive.
    _, lines = export("--since", "2026-03-02", "--until", "2026-03-03")
    expected = [r for r in records if "2026-03-02T" <= r.decided_at < "2026-03-03T"]
    assert 500 < len(expected) < 1000
    assert [line["decision_id"] for line in lines] == ids(expected)
    # An RFC 3339 time with an offset: 2026-03-02T00:00:00-06:00 is 06:00 UTC.
    _, lines = export("--customer", "demo-city", "--since", "2026-03-02T00:00:00-06:00")
    expected = [r for r in records if r.customer == "demo-city" and r.decided_at >= "2026-03-02T06:00:00"]
    assert [line["decision_id"] for line in lines] == ids(expected)
    result, lines = export("--since", "2027-01-01")
    assert lines == [] and result.stdout_text == ""


@pytest.mark.parametrize("option, value", [("--since", "0001-01-01T00:00:00+01:00"),
                                           ("--until", "9999-12-31T23:59:59-01:00")])
def test_log_export_of_times_at_the_ends_of_the_calendar(store, policy_set, tmp_path, option, value):
    # Valid times whose UTC form falls outside year 1..9999: everything is after the one and before the
    # other, or the option is refused as a usage error naming it; never a traceback (run() checks).
    r = record(policy_set, datetime.now(UTC))
    store.open().write(r)
    result = run("log", "export", option, value, *store.cli_args(), cwd=tmp_path)
    if result.returncode == 0:
        assert [json.loads(line)["decision_id"] for line in result.stdout_text.splitlines()] == [r.decision_id]
    else:
        assert result.returncode == 2 and option in result.stderr_text, output(result)


def test_impact_replays_a_log_export_directly(store, policy_set, tmp_path):
    log = store.open()
    requests = [make_request(SATURDAY_NIGHT, email=DESIGNATED, ticket_id="T-1"),        # billable: changes
                make_request(FRIDAY_IN_HOURS, email=DESIGNATED, ticket_id="T-2"),       # in hours, not billed
                make_request(SATURDAY_NIGHT, "phone", "suggestion", "webmaster@demo-city.gov"),  # billable
                make_request(SATURDAY_NIGHT, email=OTHER),                              # not designated
                make_request(SATURDAY_NIGHT, category="website_down", email=DESIGNATED)]  # emergency: free
    billable = []
    for body in requests:
        decided = policy_set.decide(json.loads(json.dumps(body)))
        decision = decided.as_json()
        log.write(LogRecord.of(body, decided, decision))
        billable.append(decision["billable"])
    assert billable == [True, False, True, False, False]

    for folder in ("base", "current"):
        (tmp_path / folder).mkdir()
        shutil.copytree(REPO / "policies", tmp_path / folder / "policies")
        shutil.copytree(REPO / "rules", tmp_path / folder / "rules")
    plan = tmp_path / "current" / PLAN
    text = plan.read_text(encoding="utf-8")
    old = 'rate: {amount: "200.00", currency: USD}'
    assert text.count(old) == 1
    plan.write_text(text.replace(old, 'rate: {amount: "250.00", currency: USD}'), encoding="utf-8")

    result = run("log", "export", "--customer", "demo-city", *store.cli_args(), cwd=tmp_path)
    assert result.returncode == 0, output(result)
    (tmp_path / "export.jsonl").write_bytes(result.stdout)
    assert len(result.stdout_text.splitlines()) == len(requests)

    result = run("impact", "--base", "base", "--requests", "export.jsonl", "--policies", "current/policies",
                 "--rules", "current/rules", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, output(result)
    document = json.loads(result.stdout_text)
    assert document["requests"] == len(requests) and document["unreadable"] == [], document
    assert document["changed"] == billable.count(True), document
    (changed,) = document["fields"]
    assert changed["field"] == "hourly_rate" and changed["count"] == billable.count(True)
    assert [e["request"] for e in changed["examples"]] == [requests[0], requests[2]]


# ---- through the HTTP API (Flask test client) ------------------------------------------------

@pytest.fixture()
def api(store, policy_set):
    """(test client, log) for an app logging to the store."""
    log = store.open()
    app = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log})
    return app.test_client(), log


def grid():
    for n, (received_at, channel, category, email) in enumerate([
            (SATURDAY_NIGHT, "email", "usage_question", DESIGNATED),
            (FRIDAY_IN_HOURS, "phone", "website_down", OTHER),
            ("2026-11-26T12:00:00-06:00", "portal", "application_error", DESIGNATED),
            ("2026-03-06T18:30:00.25-06:00", "voicemail", "suggestion", OTHER),
            ("2026-07-15t15:00:00z", "email", "other", DESIGNATED),
            ("2026-07-15 20:30:00+05:30", "phone", "additional_services", "webmaster@demo-city.gov")]):
        yield make_request(received_at, channel, category, email, ticket_id=f"T-{n}",
                           summary=None if n % 2 else f"r\u00e9sum\u00e9 {n} \U0001F600")


def problem_of(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    document = json.loads(text)
    assert document["type"] == f"/problems/{slug}" and document["status"] == status
    assert document["title"] and document["detail"]
    return document


def test_every_decision_answered_200_is_at_its_url(api):
    client, _ = api
    answered = []
    for body in list(grid()) * 3:
        response = client.post("/v1/decisions", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        answered.append((body, response.get_data()))
    assert len({json.loads(raw)["decision_id"] for _, raw in answered}) == len(answered)
    for body, raw in answered:
        decision = json.loads(raw)
        response = client.get(f"/v1/decisions/{decision['decision_id']}")
        assert response.status_code == 200 and response.mimetype == "application/json"
        logged = json.loads(response.get_data(as_text=True))
        assert logged["decision"] == decision and list(logged["decision"]) == list(decision)
        assert logged["request"] == body
        assert (logged["decision_id"], logged["customer"], logged["received_at"], logged["policy_digest"]) == \
            (decision["decision_id"], "demo-city", decision["received_at"], decision["policy"]["digest"])


def test_an_unknown_decision_id_is_a_404_problem(api, policy_set):
    client, log = api
    log.write(record(policy_set, datetime.now(UTC)))
    problem_of(client.get(f"/v1/decisions/{new_decision_id()}"), 404, "not-found")
    problem_of(client.get("/v1/decisions/not-a-uuid"), 404, "not-found")


def test_a_server_without_a_log_has_no_decisions_to_show(policy_set):
    client = create_app({"POLICY_SET": policy_set}).test_client()
    assert client.post("/v1/decisions", json=make_request(SATURDAY_NIGHT)).status_code == 200
    problem_of(client.get(f"/v1/decisions/{new_decision_id()}"), 404, "not-found")
    problem_of(client.get("/v1/decisions"), 404, "not-found")


def follow(client, path: str, query: dict | None = None, pages: int = 100) -> list[list[dict]]:
    """Every page from ``path``, following ``next`` (at most ``pages`` pages)."""
    found = []
    response = client.get(path, query_string=query)
    for _ in range(pages):
        assert response.status_code == 200, response.get_data(as_text=True)
        document = response.get_json()
        assert set(document) == {"decisions", "next"}
        found.append(document["decisions"])
        if document["next"] is None:
            return found
        assert document["next"].startswith("/v1/decisions?")
        response = client.get(document["next"])
    pytest.fail(f"more than {pages} pages")


def test_listing_pages_through_every_decision_with_next(api):
    client, _ = api
    posted = []
    for body in grid():
        response = client.post("/v1/decisions", json=body)
        assert response.status_code == 200
        posted.append(response.get_json())
    # Posted one after another: the log's (commit) order is the order they were posted in (two decided in
    # one millisecond need not have their ids in that order).
    pages = follow(client, "/v1/decisions", {"limit": "4"})
    assert [len(p) for p in pages] == [4, 2]
    listed = sum(pages, [])
    assert [d["decision_id"] for d in listed] == [d["decision_id"] for d in posted]
    assert [d["decision"] for d in listed] == posted
    # A last page that is exactly full leads to an empty page without a next link.
    pages = follow(client, "/v1/decisions", {"limit": "3"})
    assert [len(p) for p in pages] in ([3, 3, 0], [3, 3])
    assert [d["decision_id"] for d in sum(pages, [])] == [d["decision_id"] for d in posted]
    # Without limit: all of them, no next link.
    document = client.get("/v1/decisions").get_json()
    assert len(document["decisions"]) == len(posted) and document["next"] is None


def test_listing_filters_by_customer_since_and_until_and_keeps_them_in_next(api, policy_set):
    client, log = api
    start = at("2026-04-01T00:00:00Z")
    records = []
    for n in range(12):
        records.append(record(policy_set, start + timedelta(hours=n), "acme" if n % 3 == 0 else "demo-city"))
        log.write(records[-1])
        time.sleep(0.002)
    records.sort(key=lambda r: r.decision_id)

    def listed(query: dict, pages_of: int | None = None) -> list[str]:
        if pages_of:
            query = dict(query, limit=str(pages_of))
        pages = follow(client, "/v1/decisions", query)
        if pages_of:
            assert all(len(p) == pages_of for p in pages[:-1]) and len(pages[-1]) <= pages_of
        found = [d["decision_id"] for d in sum(pages, [])]
        return found

    def expected(customer=None, since=None, until=None) -> list[str]:
        return [r.decision_id for r in records if customer in (None, r.customer)
                and (since is None or at(r.decided_at) >= since) and (until is None or at(r.decided_at) < until)]

    assert listed({"customer": "acme"}) == expected("acme") and len(expected("acme")) == 4
    assert listed({"customer": "demo-city"}, pages_of=3) == expected("demo-city")
    since, until = start + timedelta(hours=2), start + timedelta(hours=9)
    query = {"since": "2026-04-01T02:00:00Z", "until": "2026-04-01T09:00:00+00:00"}
    assert listed(query) == expected(since=since, until=until) and len(expected(since=since, until=until)) == 7
    assert listed(dict(query, customer="demo-city"), pages_of=2) == expected("demo-city", since, until)
    # Offsets other than UTC, and the forms RFC 3339 allows (lower-case z, a space for the T).
    assert listed({"since": "2026-03-31T20:00:00-06:00"}) == expected(since=start + timedelta(hours=2))
    assert listed({"until": "2026-04-01 09:00:00z"}) == expected(until=until)
    assert listed({"customer": "nobody"}) == []


@pytest.mark.parametrize("name, value", [
    ("since", "yesterday"), ("since", "2026-04-01T00:00:00"), ("since", "2026-13-01T00:00:00Z"),
    ("since", ""), ("until", "2026-02-30"), ("until", "2026-4-01"), ("until", "tomorrow"),
    ("order", "newest"), ("order", ""),
    ("limit", "0"), ("limit", "-1"), ("limit", "abc"), ("limit", str(MAX_PAGE + 1)), ("limit", "1.5"),
    ("limit", ""), ("limit", "\u00b2"),  # a superscript two: str.isdigit() says yes, int() says no
])
def test_invalid_query_parameters_are_a_422_naming_the_parameter(api, name, value):
    client, _ = api
    document = problem_of(client.get("/v1/decisions", query_string={name: value}), 422, "invalid-request")
    assert [e.get("parameter") for e in document["errors"]] == [name], document
    assert name in document["detail"]


@pytest.mark.parametrize("name, value", [("since", "0001-01-01T00:00:00+01:00"),
                                         ("until", "9999-12-31T23:59:59-01:00")])
def test_times_at_the_ends_of_the_calendar_are_no_server_error(api, policy_set, name, value):
    # Valid RFC 3339 times whose UTC form falls outside year 1..9999: everything is after the one and
    # before the other, or the parameter is refused by name; never a 500.
    client, log = api
    r = record(policy_set, datetime.now(UTC))
    log.write(r)
    response = client.get("/v1/decisions", query_string={name: value})
    if response.status_code == 200:
        assert [d["decision_id"] for d in response.get_json()["decisions"]] == [r.decision_id]
    else:
        document = problem_of(response, 422, "invalid-request")
        assert [e.get("parameter") for e in document["errors"]] == [name], document


# ---- a store that fails ---------------------------------------------------------------------------

def post_while_failing(client, body: dict, must_be_logged_in) -> str:
    """POST a decision: a 503 problem, or a 200 whose decision is in ``must_be_logged_in`` (a fresh log)."""
    response = client.post("/v1/decisions", json=body)
    if response.status_code == 200:
        decision = response.get_json()
        fresh = must_be_logged_in()
        try:
            logged = fresh.get(decision["decision_id"])
        finally:
            fresh.close()
        assert logged is not None and logged.decision == decision, \
            "a decision was answered 200 but is not in the decision log"
        return "logged"
    document = problem_of(response, 503, "decision-log-unavailable")
    assert "decision_id" not in document
    return "refused"


def failing_app(policy_set, log):
    return create_app({"POLICY_SET": policy_set, "DECISION_LOG": log}).test_client()


@pytest.mark.parametrize("obstacle", ["data folder is a file", "database is a folder"])
def test_sqlite_that_cannot_be_opened_refuses_with_503_then_recovers(policy_set, tmp_path, obstacle):
    data = tmp_path / "data"
    if obstacle == "data folder is a file":
        data.write_text("not a folder")
    else:
        (data / "decisions.sqlite3").mkdir(parents=True)
    client = failing_app(policy_set, open_log(None, data))
    for body in list(grid())[:3]:
        response = client.post("/v1/decisions", json=body)
        document = problem_of(response, 503, "decision-log-unavailable")
        assert "decision_id" not in document
    problem_of(client.get(f"/v1/decisions/{new_decision_id()}"), 503, "decision-log-unavailable")
    problem_of(client.get("/v1/decisions"), 503, "decision-log-unavailable")
    assert client.get("/healthz").status_code == 200  # the server itself is fine

    # The store is back: decisions are logged and answered again.
    if data.is_file():
        data.unlink()
    else:
        shutil.rmtree(data)
    response = client.post("/v1/decisions", json=make_request(SATURDAY_NIGHT))
    assert response.status_code == 200, response.get_data(as_text=True)
    fresh = open_log(None, data)
    assert fresh.get(response.get_json()["decision_id"]) is not None
    fresh.close()


def test_sqlite_data_folder_removed_while_serving_never_acknowledges_an_unlogged_decision(policy_set, tmp_path):
    data = tmp_path / "data"
    client = failing_app(policy_set, open_log(None, data))
    response = client.post("/v1/decisions", json=make_request(SATURDAY_NIGHT))
    assert response.status_code == 200
    shutil.rmtree(data)
    # Every decision answered from now on must be in the log a restarted server reads (at the same path).
    for body in grid():
        post_while_failing(client, body, lambda: open_log(None, data))


def test_postgres_that_cannot_be_reached_refuses_with_503(policy_set):
    port = free_port()  # nothing listens there
    url = f"postgresql://someone:s3cret-pw@127.0.0.1:{port}/nowhere"
    client = failing_app(policy_set, open_log(url))
    for body in list(grid())[:2]:
        document = problem_of(client.post("/v1/decisions", json=body), 503, "decision-log-unavailable")
        assert "s3cret-pw" not in json.dumps(document)
    document = problem_of(client.get("/v1/decisions"), 503, "decision-log-unavailable")
    assert "s3cret-pw" not in json.dumps(document)
    status = client.get("/v1/status").get_json()["decision_log"]
    assert status["store"] == "PostgresLog" and "s3cret-pw" not in json.dumps(status)


def test_postgres_with_a_wrong_password_refuses_with_503(policy_set):
    with postgres_schema() as (url, _):
        parts = urlsplit(url)
        wrong = "wrong-" + uuid.uuid4().hex
        netloc = f"{quote(parts.username or '', safe='')}:{wrong}@{parts.hostname}:{parts.port or 5432}"
        client = failing_app(policy_set, open_log(urlunsplit(parts._replace(netloc=netloc))))
        document = problem_of(client.post("/v1/decisions", json=make_request(SATURDAY_NIGHT)), 503,
                              "decision-log-unavailable")
        assert wrong not in json.dumps(document)
        assert_no_password(url, json.dumps(document))


@pytest.mark.parametrize("failure", ["table dropped", "connection terminated"])
def test_postgres_failing_while_serving_never_acknowledges_an_unlogged_decision(policy_set, failure):
    with postgres_schema() as (url, schema):
        client = failing_app(policy_set, open_log(url))
        assert client.post("/v1/decisions", json=make_request(SATURDAY_NIGHT)).status_code == 200
        with admin_connection(url) as admin:
            if failure == "table dropped":
                admin.execute("DROP TABLE decisions")
            else:
                terminated = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s "
                    "AND pid <> pg_backend_pid()", (schema,)).fetchall()
                assert terminated == [(True,)]
                time.sleep(0.2)
        outcomes = [post_while_failing(client, body, lambda: open_log(url)) for body in grid()]
        assert outcomes[-1] == "logged", outcomes  # the log recovers once the store is back
        logs = client.get("/v1/decisions").get_json()["decisions"]
        assert len(logs) == outcomes.count("logged") + (1 if failure == "connection terminated" else 0)
