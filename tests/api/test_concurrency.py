"""Decisions from many threads at once never see each other's facts.

The engine asserts each request's facts into one long-lived durable-rules
session, fires the rules and retracts the facts again, under one process-wide
lock. If that lock or the clean-up were wrong, a concurrent request would fire
another request's rules (a wrong route, deadline or trace) or fail with "a
previous request's facts are still asserted". Each thread here decides its own
requests and checks every answer against the answer computed for that request
single-threaded beforehand, through the engine and through the Flask app.
"""
from __future__ import annotations

import itertools
import sys
import threading
from contextlib import contextmanager

import pytest

from support import CATEGORIES, CHANNELS, DESIGNATED, OTHER, make_request

THREADS = 8
PER_THREAD = 500

# Local times on both sides of every boundary the rules look at: in and out of
# business hours, weekends, a holiday, the opening and closing instants, both
# UTC offsets of America/Chicago, and offsets other than the schedule's.
TIMES = (
    "2026-11-27T10:00:00-06:00",  # Friday, in hours (row 1, 2, 3)
    "2026-11-27T07:00:00-06:00",  # opening instant: inside
    "2026-11-27T18:00:00-06:00",  # an hour before closing
    "2026-11-27T19:00:00-06:00",  # closing instant: outside
    "2026-11-28T23:00:00-06:00",  # Saturday night (rows 1, 4, 5)
    "2026-11-26T11:00:00-06:00",  # Thanksgiving: a holiday, closed
    "2026-07-15T14:30:00-05:00",  # a Wednesday in daylight saving time
    "2026-07-15T03:15:00Z",       # the night before it, given in UTC
    "2027-03-05T12:00:00+01:00",  # 05:00 on a Friday in Chicago (before opening), given in CET
)
EMAILS = (DESIGNATED, "WebMaster@Demo-City.gov", OTHER)

# Requests the engine refuses, each with a different error.
INVALID = (
    make_request("2026-11-27T10:00:00-06:00", "fax"),                        # unknown channel
    make_request("2026-11-27T10:00:00-06:00", "email", "coffee"),            # unknown category
    dict(make_request("2026-11-27T10:00:00-06:00"), customer="nobody"),      # unknown customer
    make_request("2026-11-27T10:00:00"),                                     # no UTC offset
    make_request("2025-06-01T10:00:00-05:00"),                               # before the contract
    {"customer": "demo-city", "channel": "email"},                           # fields missing
)


def _requests() -> list[dict]:
    """THREADS * PER_THREAD different requests: every combination, each with its own ticket id."""
    valid = [make_request(t, ch, cat, email)
             for t, ch, cat, email in itertools.product(TIMES, CHANNELS, CATEGORIES, EMAILS)]
    result = []
    for n in range(THREADS * PER_THREAD):
        if n % 9 == 4:
            result.append(dict(INVALID[n // 9 % len(INVALID)], ticket_id=f"T-{n}"))
        else:
            result.append(dict(valid[(n * 7) % len(valid)], ticket_id=f"T-{n}"))
    return result


REQUESTS = _requests()


def _without_id(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "decision_id"}


def _engine_answer(policy_set, body: dict):
    """What the engine says: the decision without its (unique) id, or the error it raises."""
    try:
        return _without_id(policy_set.decide(body).as_json())
    except Exception as error:  # noqa: BLE001 - the kind of error is part of the answer
        return (type(error).__name__, str(error), [(e.pointer, e.message) for e in getattr(error, "errors", ())])


def _http_answer(client, body: dict):
    response = client.post("/v1/decisions", json=body)
    document = response.get_json()
    return response.status_code, response.mimetype, _without_id(document), document.get("decision_id")


@contextmanager
def _switch_often():
    """Make the interpreter switch threads as often as it can, so requests interleave."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _run_threads(work) -> list:
    """Run work(thread_index) on THREADS threads started together; every failure they report."""
    barrier = threading.Barrier(THREADS)
    failures: list = []
    done = [0] * THREADS

    def run(index):
        try:
            barrier.wait(timeout=30)
            for problem in work(index, done):
                failures.append(problem)
        except Exception as error:  # noqa: BLE001 - report it in the main thread
            failures.append((index, "raised", repr(error)))

    threads = [threading.Thread(target=run, args=(i,), name=f"decider-{i}") for i in range(THREADS)]
    with _switch_often():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread did not finish within two minutes"
    assert done == [PER_THREAD] * THREADS, f"decisions made per thread: {done}"
    return failures


def _slice(index: int) -> range:
    return range(index * PER_THREAD, (index + 1) * PER_THREAD)


def test_the_requests_cover_every_row_of_the_decision_table_and_errors(policy_set):
    rows, errors = set(), set()
    for body in REQUESTS:
        answer = _engine_answer(policy_set, body)
        if isinstance(answer, tuple):
            errors.add(answer[0])
            continue
        if answer["emergency_support"]:
            rows.add(1)
        elif answer["in_business_hours"]:
            rows.add(2 if body["channel"] == "phone" else 3)
        else:
            rows.add(4 if answer["billable"] else 5)
    assert rows == {1, 2, 3, 4, 5}
    assert errors == {"InvalidRequest", "UnknownCustomer", "NoPolicyInEffect"}
    assert len({b["ticket_id"] for b in REQUESTS}) == THREADS * PER_THREAD


@pytest.mark.slow
def test_concurrent_engine_decisions_equal_the_single_threaded_ones(policy_set):
    expected = [_engine_answer(policy_set, body) for body in REQUESTS]

    def work(index, done):
        for n in _slice(index):
            answer = _engine_answer(policy_set, REQUESTS[n])
            done[index] += 1
            if answer != expected[n]:
                yield index, n, REQUESTS[n], answer, expected[n]

    failures = _run_threads(work)
    assert not failures, f"{len(failures)} wrong answers under concurrency; first: {failures[0]}"


@pytest.mark.slow
def test_concurrent_http_decisions_equal_the_single_threaded_ones(app):
    reference = app.test_client()
    expected = [_http_answer(reference, body)[:3] for body in REQUESTS]
    assert {e[0] for e in expected} == {200, 404, 422}
    ids: list = []

    def work(index, done):
        client = app.test_client()
        for n in _slice(index):
            status, mimetype, document, decision_id = _http_answer(client, REQUESTS[n])
            done[index] += 1
            if decision_id is not None:
                ids.append(decision_id)
            if (status, mimetype, document) != expected[n]:
                yield index, n, REQUESTS[n], (status, mimetype, document), expected[n]

    failures = _run_threads(work)
    assert not failures, f"{len(failures)} wrong answers under concurrency; first: {failures[0]}"
    assert len(ids) == sum(e[0] == 200 for e in expected)
    assert len(set(ids)) == len(ids), "two concurrent decisions got the same decision_id"


def test_one_request_decided_by_many_threads_at_once_always_gets_the_same_answer(policy_set):
    # The same facts asserted from every thread at once: if two assertions met in
    # the session, the second would be refused as "already asserted".
    body = make_request("2026-11-28T23:00:00-06:00", "phone", "website_down", DESIGNATED)
    expected = _engine_answer(policy_set, body)

    def work(index, done):
        for _ in range(PER_THREAD):
            answer = _engine_answer(policy_set, body)
            done[index] += 1
            if answer != expected:
                yield index, answer

    failures = _run_threads(work)
    assert not failures, f"{len(failures)} wrong answers under concurrency; first: {failures[0]}"
