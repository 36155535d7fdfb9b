"""Memory and threads stay flat over many decisions.

A server process decides requests for weeks. durable-rules leaks a session per
decision when it is not cleaned up (and crashes at 1,024 of them), and its
Python host starts timer threads; the engine must do neither. Refused requests
are in the mix too: they go through the engine and raise.
"""
from __future__ import annotations

import gc
import itertools
import threading
import time

import psutil
import pytest

from supportpolicy.engine import EngineError, load_policy_set

from support import CATEGORIES, CHANNELS, DESIGNATED, OTHER, make_request

WARM_UP = 5_000
DECISIONS = 100_000
MAX_GROWTH = 5 * 1024 * 1024  # bytes of RSS

TIMES = (
    "2026-11-27T10:00:00-06:00",  # Friday, in hours
    "2026-11-27T07:00:00-06:00",  # opening instant
    "2026-11-27T18:59:59-06:00",  # a second before closing
    "2026-11-28T23:00:00-06:00",  # Saturday night
    "2026-11-26T11:00:00-06:00",  # Thanksgiving
    "2026-07-15T14:30:00-05:00",  # daylight saving time
    "2026-12-31T23:30:00Z",       # New Year's Eve afternoon in Chicago, given in UTC
    "2027-01-01T09:00:00-06:00",  # New Year's Day, a holiday
)
EMAILS = (DESIGNATED, "WEBMASTER@demo-city.gov", OTHER)

INVALID = (
    make_request("2026-11-27T10:00:00-06:00", "fax"),                      # unknown channel
    make_request("2026-11-27T10:00:00-06:00", "email", "coffee"),          # unknown category
    dict(make_request("2026-11-27T10:00:00-06:00"), customer="nobody"),    # unknown customer
    make_request("2026-11-27T10:00:00"),                                   # no UTC offset
    make_request("2026-02-30T10:00:00-06:00"),                             # no such day
    make_request("2025-06-01T10:00:00-05:00"),                             # before the contract
    {"customer": "demo-city", "channel": "email", "extra": [1, 2, 3]},     # missing and unknown fields
    make_request("2026-11-27T10:00:00-06:00", summary="x" * 10_001),       # summary too long
    [],                                                                    # not an object
)


def _mix() -> list:
    """About one request in eight is refused; the rest cover every row of the decision table."""
    valid = [make_request(t, ch, cat, email, ticket_id=f"T-{n}")
             for n, (t, ch, cat, email) in enumerate(itertools.product(TIMES, CHANNELS, CATEGORIES, EMAILS))]
    mix = []
    for n, body in enumerate(valid):
        mix.append(body)
        if n % 7 == 0:
            mix.append(INVALID[n // 7 % len(INVALID)])
    return mix


def _decide(policy_set, mix: list, count: int) -> tuple[int, int]:
    decided = refused = 0
    for body in itertools.islice(itertools.cycle(mix), count):
        try:
            policy_set.decide(body).as_json()
            decided += 1
        except EngineError:
            refused += 1
    return decided, refused


def _timers() -> list:
    return [t for t in threading.enumerate() if isinstance(t, threading.Timer)]


@pytest.mark.slow
def test_memory_and_threads_stay_flat_over_many_decisions():
    process = psutil.Process()
    threads_at_start = process.num_threads()
    # Loaded here, not from a fixture, so a thread started while loading counts too.
    policy_set = load_policy_set()
    mix = _mix()

    _decide(policy_set, mix, WARM_UP)
    gc.collect()
    rss_before = process.memory_info().rss
    started = time.monotonic()
    decided, refused = _decide(policy_set, mix, DECISIONS)
    elapsed = time.monotonic() - started
    gc.collect()
    rss_after = process.memory_info().rss

    growth = rss_after - rss_before
    summary = (f"{decided} decided and {refused} refused in {elapsed:.1f} s; "
               f"RSS {rss_before / 2**20:.1f} MB -> {rss_after / 2**20:.1f} MB")
    assert decided and refused > DECISIONS // 20, summary
    assert growth < MAX_GROWTH, f"RSS grew by {growth / 2**20:.2f} MB: {summary}"
    assert process.num_threads() <= threads_at_start, \
        f"threads: {threads_at_start} before, {process.num_threads()} after ({threading.enumerate()})"
    assert not _timers(), f"timer threads are running: {_timers()}"
    print(summary)
