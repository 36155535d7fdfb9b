#!/usr/bin/env python
"""How fast the queue of tracked tickets is read: GET /v1/tickets's first page over many stored tickets.

    python benchmarks/bench_queue.py [--tickets 1000000] [--rounds N] [--json]

Fills a new SQLite decision log in a temporary folder with ``tickets`` tracked
tickets (rows as appending events writes them: ten customers, deadlines spread
over a month, a fifth of the tickets with nothing due), then times
``TicketStore.queue``, the query GET /v1/tickets runs, for its first page of 100:
the whole queue, the tickets due within a day, one customer's, and the breaches
alone. Reports the median and p99 milliseconds of each (target: a median of
50 ms or less at 1,000,000 tickets). Filling a million takes a minute or so.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import common
from common import log

common.make_engine_importable()

from supportpolicy.server.storage.decisionlog import open_log, utc_text  # noqa: E402
from supportpolicy.server.storage.tickets import TICKET_COLUMNS, TicketStore  # noqa: E402

START = datetime(2026, 11, 2, tzinfo=timezone.utc)
CUSTOMERS = [f"customer-{n}" for n in range(10)]


def rows(count: int, seed: int = 17):
    rng = random.Random(seed)
    request = json.dumps({"customer": "customer-0", "received_at": START.isoformat(), "channel": "email",
                          "requester": {"email_hmac": "x", "designated_contact": False}, "category": "other"})
    for n in range(count):
        received = START + timedelta(seconds=rng.randrange(30 * 86400))
        warning = received + timedelta(hours=3)
        breach = received + timedelta(hours=4)
        due = rng.random() >= 0.2
        state = "running" if due else "met"
        marks = (utc_text(warning), "first_response", utc_text(breach), "first_response", utc_text(warning),
                 "warning") if due else (None,) * 6
        yield (f"T-{n:07d}", CUSTOMERS[n % len(CUSTOMERS)], "central-standard 2026.1", request, None,
               f"sha256:{n}", 3, state, *marks, utc_text(received))


def fill(folder: Path, count: int):
    log_ = open_log(None, folder)
    log_.setup()
    with log_.turn() as transaction:
        marks = ", ".join(["?"] * len(TICKET_COLUMNS.split(",")))
        transaction.insert(f"INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ({marks})", rows(count))
    log_.read("ANALYZE")
    return log_


def timed(call, rounds: int) -> dict:
    for _ in range(5):
        call()
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        page = call()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {"median_ms": round(statistics.median(timings), 3), "p99_ms": round(timings[int(len(timings) * 0.99)], 3),
            "page": len(page)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="supportpolicy-queue-") as folder:
        started = time.perf_counter()
        log(f"filling {args.tickets:,} tickets ...")
        store = TicketStore(fill(Path(folder), args.tickets))
        log(f"filled in {time.perf_counter() - started:.1f} s")
        day = START + timedelta(days=15)
        cases = {"whole queue": lambda: store.queue(None, None, None, None, 100),
                 "due within a day": lambda: store.queue(None, day + timedelta(days=1), None, None, 100),
                 "one customer": lambda: store.queue("customer-3", day, None, None, 100),
                 "breaches": lambda: store.queue(None, day, "breach", None, 100)}
        figures = {name: timed(call, args.rounds) for name, call in cases.items()}
        store.log.close()
    if args.json:
        print(json.dumps({"tickets": args.tickets, "first_page": figures}))
    else:
        print(f"queue over {args.tickets:,} tracked tickets, first page of 100 (target: median <= 50 ms)")
        for name, figure in figures.items():
            print(f"  {name:18} median {figure['median_ms']:8.3f} ms   p99 {figure['p99_ms']:8.3f} ms   "
                  f"({figure['page']} tickets)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
