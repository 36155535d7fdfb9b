#!/usr/bin/env python
"""Decisions over HTTP as users run them: wrk against four servers side by side, in rounds.

    python benchmarks/bench_http.py [--rounds 3] [--duration 5] [--postgres URL] [--json]

The servers, each under exactly the gunicorn settings of ``supportpolicy serve``
(worker class, threads, workers, preload), started once and driven in turn,
A B C D A B C D ..., by wrk (2 threads, 16 connections, keep-alive) for
``--duration`` seconds each, over a mix of requests covering every row of the
decision table:

- bare: a Flask endpoint that parses the body and answers a fixed document;
- fixed: the supportpolicy app answering one decision made at start (hooks,
  metrics, request log and encoding as served; nothing decided per request);
- no log: ``supportpolicy serve --no-decision-log``;
- SQLite log: ``supportpolicy serve`` as users run it, with its decision log;
- PostgreSQL log: ``supportpolicy serve --decision-log URL``, with --postgres;
- SQLite log, batches (and PostgreSQL log, batches, with --postgres): the same
  server driven with POST /v1/decisions/batch, 100 requests a batch, each
  batch decided and logged in one transaction (--no-batches leaves them out);
- SQLite log, events (and PostgreSQL log, events): the same server driven with
  POST /v1/tickets/{id}/events as a ticketing system's webhooks call it: five
  calls a ticket, one event each (open, a reply, a pause, the customer's
  answer, open again), each with the ticket's decision request as a trigger's
  body template sends it, each answered with the ticket's clocks
  (--no-events leaves them out).

It reports, per server, the median over the rounds of requests per second
and of the 99th percentile latency, decisions per second (100 a request for
batches; events per second for events), and the ratios and rates the targets
are set on.
wrk comes from Debian's packages (apt install wrk). Loopback only.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

from bench_decisions import HOST, Server, _stop_all, request_mix

import common
from client import free_port
from common import log

HERE = Path(__file__).resolve().parent
TARGETS = {"log_over_nolog": 0.8, "log_p99_over_nolog_p99": 2.0, "nolog_over_fixed": 0.9, "fixed_over_bare": 0.85,
           "postgres_over_nolog": 0.7, "batch_decisions_per_s": 10_000}
BATCH = 100  # requests a batch
RECEIVED = "2026-11-23T10:00:00-06:00"  # the tickets driven with events: a Monday morning in the schedule's zone
LIFE = (({"type": "status", "status": "open"}, 5), ({"type": "agent_reply"}, 60),
        ({"type": "status", "status": "pending_customer"}, 65), ({"type": "customer_reply"}, 120),
        ({"type": "status", "status": "open"}, 121))  # (event, minutes after RECEIVED), one call each


def servers(workdir: Path, workers: int, postgres: str | None) -> list[Server]:
    serve = [sys.executable, "-m", "supportpolicy.server.cli", "serve", "--host", HOST, "--workers", str(workers),
             "--no-watch"]
    bare = [sys.executable, str(HERE / "bare_app.py"), "--workers", str(workers)]
    plan = [("bare", bare + ["--app", "bare"], "--bind"), ("fixed", bare + ["--app", "fixed"], "--bind"),
            ("nolog", serve + ["--no-decision-log"], "--port"),
            ("sqlite", serve + ["--data-dir", str(workdir / "data")], "--port")]
    if postgres:
        plan.append(("postgres", serve + ["--decision-log", postgres], "--port"))
    found = []
    for name, argv, option in plan:
        port = free_port()
        found.append(Server(name, argv + [option, f"{HOST}:{port}" if option == "--bind" else str(port)], port,
                            workers, workdir))
    return found


class Drive:
    """One column of the table: a server, driven with these bodies at this path, ``per_request`` decisions each."""

    def __init__(self, name: str, server: Server, bodies: Path, path: str = "/v1/decisions", per_request: int = 1,
                 script: str = "decisions.lua"):
        self.name, self.server, self.bodies, self.path, self.per_request = name, server, bodies, path, per_request
        self.script = script

    def check(self) -> None:
        """Before any timing, the calls answered as they should be: wrk counts a batch whose requests were
        refused as a 200, and a refused call only as a number."""
        lines = self.bodies.read_text(encoding="utf-8").splitlines()
        path = self.path if self.script == "decisions.lua" else f"/v1/tickets/check-{time.time_ns()}/events"
        for line in lines if self.script == "events.lua" else lines[:1]:
            request = urllib.request.Request(f"http://{HOST}:{self.server.port}{path}", data=line.encode(),
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = json.loads(response.read())
            except urllib.error.HTTPError as refusal:
                raise RuntimeError(f"{self.name}: a call refused: {refusal.code} {refusal.read()[:500]!r}") from None
            refused = [r for r in answer.get("results", ()) if r["status"] != 200]
            if refused:
                raise RuntimeError(f"{self.name}: {len(refused)} requests of a body refused: {refused[0]}")

    def run(self, duration: float, connections: int, threads: int) -> dict:
        found = wrk(self.server.port, self.bodies, duration, connections, threads, self.path, self.script)
        found["decisions_per_s"] = found["requests_per_s"] * self.per_request
        return found


def drives(started: list[Server], bodies: Path, batches: Path | None, events: Path | None) -> list[Drive]:
    found = [Drive(server.name, server, bodies) for server in started]
    logging = [server for server in started if server.name in ("sqlite", "postgres")]
    if batches is not None:
        found += [Drive(f"{server.name}_batch", server, batches, "/v1/decisions/batch", BATCH) for server in logging]
    if events is not None:
        found += [Drive(f"{server.name}_events", server, events, "/v1/tickets/{id}/events", script="events.lua")
                  for server in logging]
    return found


def event_lines(first: dict) -> str:
    """One ticket's calls, one a line (see LIFE), each with the ticket's decision request, received on RECEIVED."""
    received = datetime.fromisoformat(RECEIVED)
    request = {k: v for k, v in first.items() if k != "ticket_id"} | {"received_at": RECEIVED}
    lines = []
    for n, (event, minutes) in enumerate(LIFE):
        event = dict(event, id=f"e-{n + 1}", at=(received + timedelta(minutes=minutes)).isoformat())
        lines.append(json.dumps({"request": request, "events": [event]}) + "\n")
    return "".join(lines)


def batch_lines(mix: list[dict]) -> str:
    """Batches of BATCH requests, one a line, taking the mix in turn (each batch starting further on)."""
    lines = []
    for start in range(0, len(mix), 7):
        lines.append(json.dumps({"requests": [mix[(start + n) % len(mix)] for n in range(BATCH)]}) + "\n")
    return "".join(lines)


def wrk(port: int, bodies: Path, duration: float, connections: int, threads: int,
        path: str = "/v1/decisions", script: str = "decisions.lua") -> dict:
    env = dict(os.environ, SUPPORTPOLICY_BODIES=str(bodies), SUPPORTPOLICY_PATH=path,
               SUPPORTPOLICY_RUN=str(time.time_ns()))
    done = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency",
                           "-s", str(HERE / "wrk" / script), f"http://{HOST}:{port}"],
                          capture_output=True, text=True, env=env, timeout=duration + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr.strip()}")
    return parse_wrk(done.stdout)


def parse_wrk(text: str) -> dict:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {"requests_per_s": rate, "p99_ms": float(p99.group(1)) * scale,
            "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sum(map(int, socket.groups())) if socket else 0}


def median_of(runs: list[dict]) -> dict:
    return {"requests_per_s": statistics.median(r["requests_per_s"] for r in runs),
            "decisions_per_s": statistics.median(r["decisions_per_s"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "non_2xx": sum(r["non_2xx"] for r in runs), "socket_errors": sum(r["socket_errors"] for r in runs),
            "rounds": runs}


def ratios(result: dict) -> dict:
    rate = {name: r["requests_per_s"] for name, r in result.items()}
    found = {"log_over_nolog": rate["sqlite"] / rate["nolog"],
             "log_p99_over_nolog_p99": result["sqlite"]["p99_ms"] / result["nolog"]["p99_ms"],
             "nolog_over_fixed": rate["nolog"] / rate["fixed"], "fixed_over_bare": rate["fixed"] / rate["bare"]}
    if "postgres" in rate:
        found["postgres_over_nolog"] = rate["postgres"] / rate["nolog"]
    if "sqlite_batch" in result:  # decisions a second with the log on, in batches of BATCH
        found["batch_decisions_per_s"] = result["sqlite_batch"]["decisions_per_s"]
    return found


def rates(result: dict) -> dict:
    """Figures reported beside the targets, with none of their own: events appended a second, per store."""
    return {f"{name}_per_s": r["decisions_per_s"] for name, r in result.items() if name.endswith("_events")}


def met(name: str, value: float) -> bool:
    return value <= TARGETS[name] if name.startswith("log_p99") else value >= TARGETS[name]


def render(report: dict) -> str:
    lines = [f"supportpolicy over HTTP: wrk {report['threads']} threads, {report['connections']} connections, "
             f"{report['duration']:g} s rounds x {report['rounds']}, {report['workers']} workers each; "
             f"Python {report['python']}, {report['cpus']} CPUs, load average {report['load_average']}",
             f"    {'server':14} {'req/s':>9} {'decisions/s':>12} {'p99':>9} {'errors':>7}   rounds (req/s)"]
    for name, r in report["servers"].items():
        rounds = ", ".join(f"{x['requests_per_s']:,.0f}" for x in r["rounds"])
        lines.append(f"    {name:14} {r['requests_per_s']:>9,.0f} {r['decisions_per_s']:>12,.0f} {r['p99_ms']:>7.1f}ms "
                     f"{r['non_2xx'] + r['socket_errors']:>7}   {rounds}")
    lines.append("")
    for name, value in report["ratios"].items():
        target = TARGETS[name]
        sign = "<=" if name.startswith("log_p99") else ">="
        shown = f"{value:>9,.0f}" if value >= 100 else f"{value:>9.2f}"
        lines.append(f"    {name:26} {shown}   target {sign} {target:g}   {'ok' if met(name, value) else 'MISS'}")
    for name, value in report["rates"].items():
        lines.append(f"    {name:26} {value:>9,.0f}   beside the same store's decisions a second")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run [5]")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", metavar="URL", help="also a server logging to this PostgreSQL database")
    parser.add_argument("--no-batches", action="store_true",
                        help=f"leave out the logging servers driven with batches of {BATCH}")
    parser.add_argument("--no-events", action="store_true",
                        help="leave out the logging servers driven with ticket events")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    common.interrupt_on_signals()
    stop, started = threading.Event(), []
    with tempfile.TemporaryDirectory(prefix="supportpolicy-http-") as scratch:
        workdir = Path(scratch)
        bodies = workdir / "bodies.jsonl"
        bodies.write_text("".join(json.dumps(b) + "\n" for b in request_mix()), encoding="utf-8")
        batches = None if args.no_batches else workdir / "batches.jsonl"
        if batches is not None:
            batches.write_text(batch_lines(request_mix()), encoding="utf-8")
        events = None if args.no_events else workdir / "events.jsonl"
        if events is not None:
            events.write_text(event_lines(request_mix()[0]), encoding="utf-8")
        runs = {}
        with common.Serving("bench_http", stop, lambda: _stop_all(started)) as serving:
            for server in servers(workdir, args.workers, args.postgres):
                started.append(server)
                log(f"starting {server.name} on port {server.port} ...")
                server.start()
            plan = drives(started, bodies, batches, events)
            for drive in plan:  # warm every worker, on every path
                if drive.name.endswith(("_batch", "_events")):
                    drive.check()
                drive.run(1.0, args.connections, args.threads)
            for n in range(args.rounds):
                for drive in plan:
                    log(f"round {n + 1}: {drive.name} ...")
                    runs.setdefault(drive.name, []).append(drive.run(args.duration, args.connections, args.threads))
        if serving.exit_code is not None:
            return serving.exit_code
    result = {name: median_of(r) for name, r in runs.items()}
    report = {"python": platform.python_version(), "cpus": os.cpu_count(),
              "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg()), "rounds": args.rounds,
              "duration": args.duration, "connections": args.connections, "threads": args.threads,
              "workers": args.workers, "servers": result, "ratios": ratios(result), "rates": rates(result)}
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    common.run(main)
