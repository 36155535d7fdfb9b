#!/usr/bin/env python
"""How fast a ticket's work is priced, in process: ``price_work`` on a ticket with 20 work entries.

    python benchmarks/bench_charges.py [--rounds N] [--json]

The ticket is a premium-24x7 severity-3 question from a designated contact of
harbor-county, received on a Friday evening, with 20 entries of 40 minutes an
hour and a half apart: weeknight, weekend and business hours, cut at midnights
and openings, the minimum and increment applied per call-out. Reports the
median and p99 microseconds per charge over ``rounds`` charges after a warm-up.
"""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta, timezone

import common
from common import log

common.make_engine_importable()

from supportpolicy.engine.charge.price import price_work  # noqa: E402
from supportpolicy.engine.decide.build import load_policy_set  # noqa: E402

RECEIVED = datetime(2026, 11, 20, 17, 0, tzinfo=timezone(timedelta(hours=-8)))


def charge(count: int = 20) -> dict:
    entries = [{"entry_id": f"w-{n}", "start": (RECEIVED + timedelta(minutes=10 + 90 * n)).isoformat(),
                "end": (RECEIVED + timedelta(minutes=50 + 90 * n)).isoformat()} for n in range(count)]
    return {"request": {"customer": "harbor-county", "received_at": RECEIVED.isoformat(), "channel": "phone",
                        "requester": {"email": "cio@harbor-county.gov"}, "category": "question",
                        "attributes": {"severity": 3}},
            "notice": {"given_at": (RECEIVED + timedelta(minutes=5)).isoformat(), "response": "accepted"},
            "entries": entries}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    policy_set, body, now = load_policy_set(), charge(), datetime.now(timezone.utc)
    figures = common.time_calls(lambda: price_work(policy_set, body, now), args.rounds, warm_up=20)
    result = {"entries": len(body["entries"]), "charges": args.rounds, **figures}
    if args.json:
        print(json.dumps(result))
    else:
        log(f"price_work, {result['entries']} entries: median {result['median_us']} µs, p99 {result['p99_us']} µs "
            f"over {result['charges']} charges")
    return 0


if __name__ == "__main__":
    common.run(main)
