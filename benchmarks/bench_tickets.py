#!/usr/bin/env python
"""How fast a ticket's clocks are read, in process: ``evaluate_ticket`` on a ticket with 50 events.

    python benchmarks/bench_tickets.py [--rounds N] [--json]

The ticket is a premium-24x7 severity-2 e-mail from harbor-county (two targets,
the next update paused while waiting for the customer, the escalation ladder),
with 50 events: status changes in and out of pending_customer and on_hold,
agent and customer replies, acknowledgements and a severity change. Reports the
median and p99 microseconds per evaluation (target: a median of 1 ms or less)
over ``rounds`` evaluations after a warm-up; a few seconds in all.
"""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta, timezone

import common
from common import log

common.make_engine_importable()

from supportpolicy.engine.clock.evaluate import evaluate_ticket  # noqa: E402
from supportpolicy.engine.decide.build import load_policy_set  # noqa: E402

RECEIVED = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)
CYCLE = (("status", "open"), ("agent_reply", None), ("status", "pending_customer"), ("customer_reply", None),
         ("status", "open"), ("acknowledged", None), ("status", "on_hold"), ("status", "open"),
         ("agent_reply", None), ("customer_reply", None))


def ticket(count: int = 50) -> dict:
    events = []
    for i in range(count):
        kind, status = CYCLE[i % len(CYCLE)]
        at = (RECEIVED + timedelta(minutes=37 * (i + 1))).isoformat()
        if i == count // 2:
            events.append({"type": "attributes", "at": at, "attributes": {"severity": 1}})
        elif kind == "status":
            events.append({"type": kind, "at": at, "status": status})
        else:
            events.append({"type": kind, "at": at})
    return {"request": {"customer": "harbor-county", "received_at": RECEIVED.isoformat(), "channel": "email",
                        "requester": {"email": "resident@example.org"}, "category": "degraded",
                        "attributes": {"severity": 2}},
            "events": events, "at": (RECEIVED + timedelta(minutes=37 * (count + 1))).isoformat()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    policy_set, body, now = load_policy_set(), ticket(), datetime.now(timezone.utc)
    figures = common.time_calls(lambda: evaluate_ticket(policy_set, body, now), args.rounds, warm_up=200)
    result = {"events": len(body["events"]), "evaluations": args.rounds, **figures}
    if args.json:
        print(json.dumps(result))
    else:
        log(f"evaluate_ticket, {result['events']} events: median {result['median_us']} µs, p99 {result['p99_us']} µs "
            f"over {result['evaluations']} evaluations (target: median <= 1000 µs)")
    return 0


if __name__ == "__main__":
    common.run(main)
