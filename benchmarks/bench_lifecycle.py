#!/usr/bin/env python
"""What the policy lifecycle costs a serving decision API: the decision log, and reloads.

    python benchmarks/bench_lifecycle.py [--quick] [--json] [--postgres URL]

(a) The decision log. Requests per second of ``POST /v1/decisions`` served by
    ``supportpolicy serve`` with ``--no-decision-log``, with the SQLite log
    (``--data-dir`` in a temporary folder), and with PostgreSQL
    (``--decision-log`` from --postgres or the environment variable
    SUPPORTPOLICY_TEST_POSTGRES; skipped with a note when neither is given):
    the same workers, client, concurrency and duration for each. The servers
    run side by side and take turns, a slice each per round, so that whatever
    else the machine does weighs on all of them alike. Each is shown as a
    ratio to the one without a log; the target is that the SQLite log costs at
    most 15% of the throughput (ratio >= 0.85). The log is counted afterwards:
    every acknowledged decision must be in it.
(b) Reloads under load. ``supportpolicy serve`` on a temporary copy of the
    shipped policy (``--no-decision-log --no-watch``, so the only reloads are
    the ones triggered here). N rounds, each a slice without a reload and a
    slice that starts with one: the reload edits a file of the copy (a comment,
    so every reload puts a new set in force without changing a decision) and
    then, alternately, calls ``POST /v1/admin/reload`` or sends SIGHUP to the
    gunicorn master. Reported: throughput of the reload slices against the
    quiet ones, p99 and worst latency, errors (target: none), the time until
    the new policy digest is served and until every answer carries it, and
    the workers left afterwards.

Every server listens on 127.0.0.1 on a free port and is stopped at the end,
on errors and on Ctrl-C; durations, reload counts and concurrency are bounded.
The servers, the request mix and the answer check come from bench_decisions.py,
the load client (Python threads, one http.client connection each) from
loadloop.py; it keeps every request's start time, so the requests made while
reloads were under way can be told apart.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

import common
from client import HOST, free_port, get_json, request_json
from common import log
from loadloop import Load, Run, combine, summary

common.make_engine_importable()
from bench_decisions import MAX_CONCURRENCY, MAX_DURATION, Server, _stop_all, request_mix, verify_answers  # noqa: E402

from supportpolicy.engine.decide.build import check_policy_set  # noqa: E402
from supportpolicy.engine.resources import default_roots  # noqa: E402

try:
    import psutil
except ImportError:  # optional: only the count of workers left after the reloads needs it
    psutil = None

TARGET_LOG_RATIO = 0.85  # the SQLite log costs at most 15% of throughput
MAX_RELOADS = 50
SETTLE_TIMEOUT = 30.0  # seconds for a reload to be in force in every worker (gunicorn's graceful_timeout is 20)
SETTLED_ANSWERS = 20  # consecutive /healthz answers with the new digest that count as "every worker has it"
POSTGRES_ENV = "SUPPORTPOLICY_TEST_POSTGRES"


# -- the load's figures -----------------------------------------------------------------------------

def figures(run: Run) -> dict:
    worst = max((sample.latency for sample in run.samples), default=None)
    return {**summary(run), "max_ms": 1000 * worst if worst is not None else None, "connections": run.connections}


# -- helpers ----------------------------------------------------------------------------------------

def cli_server(name: str, port: int, workers: int, workdir: Path, *options: str) -> Server:
    argv = [sys.executable, "-m", "supportpolicy.server.cli", "serve", "--host", HOST,
            "--port", str(port), "--workers", str(workers), *options]
    return Server(name, argv, port, workers, workdir)


def digest_of(roots) -> str:
    """The digest the server reports for these folders (labelled as `serve --policies/--rules` labels them)."""
    policy_set, errors = check_policy_set(roots, lambda root, path: os.path.normpath(path))
    if policy_set is None:
        raise RuntimeError("the copied policy is invalid:\n" + "\n".join(map(str, errors)))
    return policy_set.digest


def worker_count(server_: Server) -> int | None:
    if psutil is None or server_.process is None:
        return None
    try:
        return len(psutil.Process(server_.process.pid).children())
    except psutil.Error:
        return None


def server_errors(server_: Server) -> list[str]:
    """Lines of the server's log that tell of a failure (tracebacks, errors, refused reloads)."""
    return [line for line in server_.log().splitlines()
            if "Traceback" in line or "[ERROR]" in line or "reload refused" in line or "[CRITICAL]" in line]


def slices(duration: float, quick: bool) -> tuple[int, float]:
    """How a measurement of ``duration`` seconds is cut into rounds that alternate between servers or phases,
    so that anything else the machine does at the time weighs on each of them alike."""
    rounds = 3 if quick else 5
    return rounds, duration / rounds


# -- (a) the decision log ---------------------------------------------------------------------------

def bench_log(args, workdir: Path, bodies, mix, policy_set, stop, servers: list) -> dict:
    modes = [("none", "--no-decision-log", ["--no-decision-log"]),
             ("sqlite", "SQLite (--data-dir)", ["--data-dir", str(workdir / "sqlite-data")])]
    postgres = args.postgres or os.environ.get(POSTGRES_ENV)
    if postgres:
        modes.append(("postgres", "PostgreSQL (--decision-log)", ["--decision-log", postgres]))
    started, results = {}, {}
    before = count_postgres(postgres) if postgres else None
    for key, label, options in modes:
        port = free_port()
        server_ = cli_server(f"log-{key}", port, args.workers, workdir, *options)
        servers.append(server_)
        log(f"(a) starting supportpolicy serve {' '.join(options)} on {HOST}:{port} ...")
        server_.start()
        started[key] = server_
        results[key] = {"label": label, "wrong_answers": verify_answers(server_.target, policy_set, mix),
                        "worker_class": server_.worker_class()}
    loads = {key: Load(server_.target, bodies, args.concurrency, stop) for key, server_ in started.items()}
    rounds, length = slices(args.duration, args.quick)
    log(f"(a) warm-up {args.warm_up:g} s each, then {rounds} rounds of {length:g} s on each server in turn, "
        f"{args.concurrency} client threads ...")
    warm = {key: figures(load.run(args.warm_up)) for key, load in loads.items()}
    runs = {key: [] for key in loads}
    for _ in range(rounds):
        for key, load in loads.items():
            if stop.is_set():
                raise KeyboardInterrupt
            runs[key].append(load.run(length))
    for key, server_ in started.items():
        result = results[key]
        result.update(figures(combine(runs[key])))
        result["acknowledged"] = warm[key]["ok"] + result["ok"]
        result["server_errors"] = server_errors(server_)
        server_.stop()
        servers.remove(server_)
    if "sqlite" in results:
        with sqlite3.connect(workdir / "sqlite-data" / "decisions.sqlite3") as db:
            results["sqlite"]["logged"] = db.execute("SELECT count(*) FROM decisions").fetchone()[0]
    if postgres and before is not None:
        after = count_postgres(postgres)
        results["postgres"]["logged"] = None if after is None else after - before
    for result in results.values():
        # verify_answers' requests are logged too, and were acknowledged when answered 200
        result["acknowledged"] += 0 if result["wrong_answers"] else min(60, len(mix))
    base = results["none"]["requests_per_s"]
    for result in results.values():
        result["ratio"] = result["requests_per_s"] / base if base else 0.0
    return {"runs": results, "rounds": rounds, "slice_s": length, "postgres": "measured" if postgres else
            f"skipped: give --postgres postgresql://... or set {POSTGRES_ENV}"}


def count_postgres(url: str) -> int | None:
    """Rows in the decision table: 0 before it exists, None when psycopg is not installed here."""
    try:
        import psycopg
    except ImportError:
        return None
    try:
        with psycopg.connect(url, connect_timeout=10) as connection:
            return connection.execute("SELECT count(*) FROM decisions").fetchone()[0]
    except psycopg.errors.UndefinedTable:
        return 0


# -- (b) reloads under load -------------------------------------------------------------------------

def bench_reload(args, workdir: Path, bodies, stop, servers: list) -> dict:
    copy = workdir / "policy-copy"
    policies, rules = default_roots()
    shutil.copytree(policies, copy / "policies")
    shutil.copytree(rules, copy / "rules")
    roots = (copy / "policies", copy / "rules")
    # serve labels files by the paths it was given; verify_answers compares whole decisions, paths included.
    policy_set, _ = check_policy_set(roots, lambda root, path: os.path.normpath(path))
    edited = [copy / "rules" / "billing.yaml", copy / "policies" / "customers" / "demo-city.yaml"]

    port = free_port()
    server_ = cli_server("reload", port, args.workers, workdir, "--no-decision-log", "--no-watch",
                         "--policies", str(roots[0]), "--rules", str(roots[1]))
    servers.append(server_)
    log(f"(b) starting supportpolicy serve on a copy of the policy on {HOST}:{port} ...")
    server_.start()
    wrong = verify_answers(server_.target, policy_set, request_mix())
    load = Load(server_.target, bodies, args.concurrency, stop)
    load.run(args.warm_up)
    # Each reload gets a slice of its own, after a quiet slice of the same length.
    length = max(1.0, args.duration / args.reloads)
    log(f"(b) {args.reloads} rounds: {length:g} s without a reload, then {length:g} s (or until it is in force) "
        f"from a reload on, {args.concurrency} client threads ...")
    quiet, busy, reloads = [], [], []
    for k in range(args.reloads):
        if stop.is_set():
            raise KeyboardInterrupt
        quiet.append(load.run(length))
        slice_stop = threading.Event()
        holder = {}
        sliced = Load(server_.target, bodies, args.concurrency, slice_stop)
        runner = threading.Thread(target=lambda: holder.update(run=sliced.run(MAX_DURATION)), daemon=True)
        runner.start()
        try:
            stop.wait(0.1)
            t0 = time.perf_counter()
            reloads.append(reload_once(server_, roots, edited[k % len(edited)], k))
            rest = t0 + length - time.perf_counter()
            if rest > 0:
                stop.wait(rest)
        finally:
            slice_stop.set()
            while runner.is_alive():
                runner.join(timeout=0.2)
        busy.append(holder["run"])
    windows = [(r["t0"], r["t0"] + r["settled_s"]) for r in reloads if r["settled_s"] is not None]
    in_windows = [s for run in busy for s in run.samples if any(a <= s.start <= b for a, b in windows)]
    time.sleep(0.5)
    workers_after = worker_count(server_)
    errors = server_errors(server_)
    server_.stop()
    servers.remove(server_)
    without, during = figures(combine(quiet)), figures(combine(busy))
    return {"without": without, "during": during, "wrong_answers": wrong, "reloads": reloads, "slice_s": length,
            "while_reloading": {"requests": len(in_windows),
                                "errors": sum(s.error is not None for s in in_windows),
                                "seconds": sum(b - a for a, b in windows)},
            "ratio": during["requests_per_s"] / without["requests_per_s"] if without["requests_per_s"] else 0.0,
            "workers_after": workers_after, "server_errors": errors}


def reload_once(server_: Server, roots, path: Path, k: int) -> dict:
    """Edit ``path``, trigger a reload (POST for even k, SIGHUP for odd), and time until it is in force."""
    with open(path, "a") as out:
        out.write(f"# benchmark edit {k + 1}\n")
    expected = digest_of(roots)
    how = "POST /v1/admin/reload" if k % 2 == 0 else "SIGHUP"
    t0 = time.perf_counter()
    record = {"how": how, "t0": t0, "ok": True, "detail": None, "visible_s": None, "settled_s": None}
    if how == "SIGHUP":
        os.kill(server_.process.pid, signal.SIGHUP)
    else:
        status, body = request_json(server_.target, "POST", "/v1/admin/reload", b"", timeout=30)
        if status != 200 or not body or body.get("digest") != expected:
            record.update(ok=False, detail=f"HTTP {status}: {str(body)[:200]}")
    # In force everywhere: SETTLED_ANSWERS answers in a row (each on a new connection) carry the new digest.
    streak = 0
    deadline = t0 + SETTLE_TIMEOUT
    while time.perf_counter() < deadline:
        try:
            status, body = get_json(server_.target, "/healthz", timeout=5)
            fresh = status == 200 and body and body.get("policy_digest") == expected
        except (OSError, http.client.HTTPException):
            fresh = False
        now = time.perf_counter()
        if fresh and record["visible_s"] is None:
            record["visible_s"] = now - t0
        streak = streak + 1 if fresh else 0
        if streak >= SETTLED_ANSWERS:
            record["settled_s"] = now - t0
            break
        time.sleep(0.005)
    else:
        record.update(ok=False, detail=(record["detail"] or "") + f" not in force within {SETTLE_TIMEOUT:g} s")
    return record


# -- report -----------------------------------------------------------------------------------------

def _mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def _ms(value) -> str:
    return f"{value:.2f}ms" if value is not None else "n/a"


def render(report: dict) -> str:
    env = report["environment"]
    lines = [f"supportpolicy lifecycle benchmark{' (quick)' if report['quick'] else ''}: Python {env['python']}, "
             f"{env['cpus']} CPUs, gunicorn {env['gunicorn']}, {report['workers']} workers, "
             f"{report['concurrency']} client threads, {report['warm_up']:g} s warm-up, on {HOST}"]
    a = report.get("log")
    if a:
        runs = a["runs"]
        lines += ["", f"(a) the decision log: POST /v1/decisions; the servers take turns, {a['rounds']} rounds of "
                      f"{a['slice_s']:g} s each; supportpolicy serve with ...",
                  f"    {'log':28} {'req/s':>8} {'p50':>9} {'p99':>9} {'errors':>7} {'logged/acked':>15}"
                  f" {'vs none':>8}   target"]
        for key, r in runs.items():
            logged = f"{r['logged']}/{r['acknowledged']}" if r.get("logged") is not None else "-"
            target = ""
            if key == "sqlite":
                target = f"ratio >= {TARGET_LOG_RATIO:g}  {_mark(r['ratio'] >= TARGET_LOG_RATIO)}"
            lines.append(f"    {r['label']:28} {r['requests_per_s']:>8,.0f} {_ms(r['p50_ms']):>9} "
                         f"{_ms(r['p99_ms']):>9} {r['errors'] + r['wrong_answers']:>7} {logged:>15} "
                         f"{r['ratio']:>8.2f}   {target}")
        if "postgres" not in runs:
            lines.append(f"    {'PostgreSQL':28} {a['postgres']}")
        for key, r in runs.items():
            if r["error_kinds"] or r["wrong_answers"] or r["server_errors"]:
                lines.append(f"    {key}: errors {r['error_kinds']}, wrong answers {r['wrong_answers']}, "
                             f"server log: {r['server_errors'][:3]}")
            if r.get("logged") is not None and r["logged"] < r["acknowledged"]:
                lines.append(f"    {key}: MISS: {r['acknowledged'] - r['logged']} acknowledged decisions "
                             "are not in the log")
    b = report.get("reload")
    if b:
        reloads = b["reloads"]
        posts = sum(r["how"].startswith("POST") for r in reloads)
        took = sum(r["ok"] for r in reloads)
        settled = [r["settled_s"] for r in reloads if r["settled_s"] is not None]
        visible = [r["visible_s"] for r in reloads if r["visible_s"] is not None]
        lines += ["", f"(b) reloads under load: {len(reloads)} reloads ({posts} POST /v1/admin/reload, "
                      f"{len(reloads) - posts} SIGHUP), each after editing a file of a tmp copy;",
                  f"    each round {b['slice_s']:g} s without a reload, then {b['slice_s']:g} s from a reload on; "
                  "serve --no-decision-log --no-watch",
                  f"    {'phase':28} {'req/s':>8} {'p50':>9} {'p99':>9} {'max':>9} {'errors':>7} {'requests':>9}"]
        for label, r in (("without reloads", b["without"]), ("during reloads", b["during"])):
            lines.append(f"    {label:28} {r['requests_per_s']:>8,.0f} {_ms(r['p50_ms']):>9} {_ms(r['p99_ms']):>9} "
                         f"{_ms(r['max_ms']):>9} {r['errors']:>7} {r['requests']:>9,}")
        w = b["while_reloading"]
        errors = b["during"]["errors"] + b["without"]["errors"] + b["wrong_answers"] + (len(reloads) - took)
        lines += [f"    ratio during/without       {b['ratio']:>8.2f}",
                  f"    reloads in force           {took}/{len(reloads)}; new digest first served after "
                  + (f"{min(visible):.2f}-{max(visible):.2f} s" if visible else "n/a")
                  + ", in every answer after " + (f"{min(settled):.2f}-{max(settled):.2f} s" if settled else "n/a"),
                  f"    while a reload was under way: {w['requests']:,} requests in {w['seconds']:.1f} s, "
                  f"{w['errors']} errors",
                  f"    workers after the reloads  {b['workers_after'] if b['workers_after'] is not None else 'n/a'}"
                  f" (expected {report['workers']})",
                  f"    errors                     {errors:>8}   target 0  {_mark(errors == 0)}"
                  f"   (HTTP and connection errors, wrong answers, reloads not in force)"]
        for label, r in (("without", b["without"]), ("during", b["during"])):
            if r["error_kinds"]:
                lines.append(f"    {label}: {r['error_kinds']}")
        for r in reloads:
            if not r["ok"]:
                lines.append(f"    {r['how']}: {r['detail']}")
        if b["server_errors"]:
            lines.append(f"    server log: {b['server_errors'][:5]}")
    lines.append(f"    note: client and servers share {env['cpus']} CPUs; the client's threads take part of them")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the decision log and reloads under load.")
    parser.add_argument("--quick", action="store_true", help="3 s per run and 4 reloads instead of 10 s and 10")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--duration", type=float, help="seconds per run (at most 60)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads [8] (at most 64)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers [2] (at most 8)")
    parser.add_argument("--reloads", type=int, help=f"reloads in (b) [4 quick, 10] (at most {MAX_RELOADS})")
    parser.add_argument("--postgres", metavar="postgresql://...",
                        help=f"measure the PostgreSQL log too [default: ${POSTGRES_ENV}]")
    parser.add_argument("--only", choices=["log", "reload"], help="run only (a) or only (b)")
    args = parser.parse_args(argv)
    args.duration = min(MAX_DURATION, max(0.5, args.duration or (3.0 if args.quick else 10.0)))
    args.concurrency = min(MAX_CONCURRENCY, max(1, args.concurrency))
    args.workers = min(8, max(1, args.workers))
    args.reloads = min(MAX_RELOADS, max(1, args.reloads or (4 if args.quick else 10)))
    args.warm_up = 0.5 if args.quick else 1.0

    common.interrupt_on_signals()

    if args.postgres:
        try:
            count_postgres(args.postgres)
        except Exception as error:  # psycopg's errors: say so before any server starts
            parser.error(f"--postgres: cannot use the database: {str(error).strip()}")
    import gunicorn

    from supportpolicy.engine import load_policy_set
    policy_set = load_policy_set()
    mix = request_mix()
    bodies = [json.dumps(body).encode() for body in mix]
    report = {"quick": args.quick, "workers": args.workers, "concurrency": args.concurrency,
              "duration": args.duration, "warm_up": args.warm_up,
              "environment": {"python": platform.python_version(), "cpus": os.cpu_count(),
                              "gunicorn": gunicorn.__version__, "policy_digest": policy_set.digest},
              "targets": {"sqlite_log_ratio": TARGET_LOG_RATIO, "reload_errors": 0}}
    stop = threading.Event()
    servers: list = []
    with tempfile.TemporaryDirectory(prefix="supportpolicy-lifecycle-") as scratch:
        workdir = Path(scratch)
        with common.Serving("bench_lifecycle", stop, lambda: _stop_all(servers)) as serving:
            if args.only in (None, "log"):
                report["log"] = bench_log(args, workdir, bodies, mix, policy_set, stop, servers)
            if args.only in (None, "reload"):
                report["reload"] = bench_reload(args, workdir, bodies, stop, servers)
    if serving.exit_code is not None:
        return serving.exit_code
    for r in report.get("reload", {}).get("reloads", ()):
        r.pop("t0", None)  # a clock reading, meaningless outside this process
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    common.run(main)
