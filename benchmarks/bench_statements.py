#!/usr/bin/env python
"""How fast a month's statements are produced: `billing statement` for 1,000 customers, in process, on SQLite.

    python benchmarks/bench_statements.py [--customers N] [--tickets N] [--rounds N] [--format text|csv|json]
                                         [--json]

Builds a policy folder with ``customers`` customers on central-standard (the
shipped plan and rules), then stores a month of work for each through the API
(in process: POST /v1/tickets/{id}/events, then POST /v1/tickets/{id}/work, each
priced and stored as `serve` does): ``tickets`` tickets a customer, in turn a
Saturday-night question charged after notice, an emergency (free), a weeknight
question with no notice, and a question inside support hours, each with two
entries. Then times producing every customer's November statement, read from
the store and written in ``format``, ``rounds`` times, and checks that each round
gives the same bytes. Reports the seconds to store the work (setup) and the
median seconds for all the statements, and the seconds to price all the stored
work again in process (what statements priced on demand would cost).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import common
from common import log

common.make_engine_importable()

from supportpolicy.engine.charge.price import price_work  # noqa: E402
from supportpolicy.engine.decide.build import load_policy_set  # noqa: E402
from supportpolicy.engine.tools.statement import statement  # noqa: E402
from supportpolicy.server import create_app  # noqa: E402
from supportpolicy.server.cli.billing import REPORTERS  # noqa: E402
from supportpolicy.server.storage.decisionlog import open_log  # noqa: E402
from supportpolicy.server.storage.work import WorkStore  # noqa: E402

MONTH = "2026-11"
CUSTOMER = """customer: {id}
name: Customer {id}
version: "2026.1"
effective_from: 2026-01-01
plan: {{id: central-standard, version: current}}
designated_contacts:
  - {{name: IT, role: IT Director, email: it@{id}.example.gov}}
"""
# (received, category, notice minutes after received or None, entries as (start, end) minutes after received)
TICKETS = (("2026-11-{day:02d}T23:00:00-06:00", "usage_question", 5, ((10, 55), (60, 100))),  # Saturday night
           ("2026-11-{day:02d}T22:00:00-06:00", "website_down", None, ((5, 35), (40, 70))),  # an emergency
           ("2026-11-{wday:02d}T20:00:00-06:00", "usage_question", None, ((5, 35), (40, 60))),  # no notice
           ("2026-11-{wday:02d}T10:00:00-06:00", "application_error", None, ((5, 35), (40, 80))))  # support hours
SATURDAYS, TUESDAYS = (7, 14, 21, 28), (3, 10, 17, 24)


def policy_folder(root: Path, customers: int) -> tuple[Path, Path]:
    shutil.copytree(common.CHECKOUT / "policies", root / "policies", ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(common.CHECKOUT / "rules", root / "rules")
    for n in range(customers):
        (root / "policies" / "customers" / f"c-{n:04d}.yaml").write_text(CUSTOMER.format(id=f"c-{n:04d}"),
                                                                          encoding="utf-8")
    return root / "policies", root / "rules"


def _at(received: str, minutes: int) -> str:
    return (datetime.fromisoformat(received) + timedelta(minutes=minutes)).isoformat()


def store_work(client, customers: int, tickets: int) -> None:
    for n in range(customers):
        customer = f"c-{n:04d}"
        for t in range(tickets):
            received, category, notice, entries = TICKETS[t % len(TICKETS)]
            received = received.format(day=SATURDAYS[(n + t) % 4], wday=TUESDAYS[(n + t) % 4])
            ticket_id = f"{customer}-T{t}"
            request = {"customer": customer, "received_at": received, "channel": "phone", "category": category,
                       "requester": {"email": f"it@{customer}.example.gov"}}
            events = {"request": request, "events": [{"type": "status", "at": received, "status": "open",
                                                      "id": "e-1"}]}
            answer = client.post(f"/v1/tickets/{ticket_id}/events", json=events)
            assert answer.status_code == 200, answer.get_json()
            body = {"entries": [{"entry_id": f"w-{i}", "start": _at(received, a), "end": _at(received, b)}
                                for i, (a, b) in enumerate(entries)]}
            if notice is not None:
                body["notice"] = {"given_at": _at(received, notice), "response": "accepted"}
            answer = client.post(f"/v1/tickets/{ticket_id}/work", json=body)
            assert answer.status_code == 200, answer.get_json()


def statements(log_, policy_set, customers: int, format_: str) -> bytes:
    store, out = WorkStore(log_), []
    for n in range(customers):
        customer = f"c-{n:04d}"
        found = statement(customer, MONTH, policy_set.time_zone(customer).key, store.charges_of(customer, MONTH))
        out.append(REPORTERS[format_](found))
    return "".join(out).encode()


def price_again(log_, policy_set, customers: int, tickets: int) -> float:
    """Seconds to price every ticket's stored work again, in process (what a statement priced on demand would
    cost; statements read the stored charges instead)."""
    store, now = WorkStore(log_), datetime.now(timezone.utc)
    works = [store.get(f"c-{n:04d}-T{t}") for n in range(customers) for t in range(tickets)]
    started = time.perf_counter()
    for work in works:
        request, designated = work.ticket.decidable()
        body = {"request": request, "entries": list(work.entries)}
        if work.notice is not None:
            body["notice"] = work.notice
        price_work(policy_set, body, now, designated)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--tickets", type=int, default=4, help="tickets a customer [default: 4]")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--format", dest="format_", choices=sorted(REPORTERS), default="text")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-statements-") as folder:
        root = Path(folder)
        started = time.perf_counter()
        policy_set = load_policy_set(*policy_folder(root, args.customers))
        loaded = time.perf_counter() - started
        log_ = open_log(None, root / "data")
        try:
            client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log_, "TESTING": True}).test_client()
            started = time.perf_counter()
            store_work(client, args.customers, args.tickets)
            stored = time.perf_counter() - started
            priced = price_again(log_, policy_set, args.customers, args.tickets)
            timings, outputs = [], set()
            for _ in range(args.rounds):
                started = time.perf_counter()
                outputs.add(statements(log_, policy_set, args.customers, args.format_))
                timings.append(time.perf_counter() - started)
        finally:
            log_.close()
    if len(outputs) != 1:
        log("the rounds gave different statements")
        return 1
    result = {"customers": args.customers, "tickets": args.customers * args.tickets, "format": args.format_,
              "policy_load_s": round(loaded, 2), "store_work_s": round(stored, 1),
              "statements_median_s": round(statistics.median(timings), 3),
              "price_again_s": round(priced, 2), "rounds": args.rounds,
              "bytes": len(outputs.pop())}
    if args.json:
        print(json.dumps(result))
    else:
        log(f"{result['customers']} statements ({result['format']}, {result['tickets']} tickets): median "
            f"{result['statements_median_s']} s over {result['rounds']} rounds; storing the work took "
            f"{result['store_work_s']} s, pricing it all again in process {result['price_again_s']} s, loading the "
            f"policy {result['policy_load_s']} s")
    return 0


if __name__ == "__main__":
    common.run(main)
