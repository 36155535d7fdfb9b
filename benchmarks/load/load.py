"""Load test: many decisions at a fixed concurrency; errors and the server's memory, against targets.

    python benchmarks/load [--requests 100000] [--concurrency 16] [--workers 2] [--json FILE]

Starts ``supportpolicy serve`` on 127.0.0.1 and a free port (with an SQLite
decision log in a temporary --data-dir, or --no-decision-log), or loads the
server at --url, which must be on this machine's loopback interface. After a
warm-up (so the server's caches and memory arenas are filled) it measures the
RSS of the gunicorn master and every worker, sends --requests decisions from a
realistic mix (mix.py) on --concurrency keep-alive connections, and measures
again. Targets: zero errors (any answer that is not a 200 with a decision for
the request sent, any connection error, a decision id given twice, a
different decision for the same request, an answered decision missing from
the decision log) and less than 20% memory growth (with --url, measured only
when this user can see the server's processes). Also checked: every request
was sent within --max-seconds, and the server stayed healthy (no traceback or
gunicorn error in its output, no 5xx in its request log, the same workers
throughout, exit code 0 after SIGTERM). It stops after --max-seconds whatever
it has done, reports it, and exits 0 when every check passes, 1 when one
fails, 2 when it cannot run, 130 when interrupted. The server it started is
stopped with SIGTERM in every case, Ctrl-C included.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

BENCHMARKS = str(Path(__file__).resolve().parent.parent)
if BENCHMARKS not in sys.path:
    sys.path.append(BENCHMARKS)  # for the shared client.py, common.py; appended: this folder's modules come first
import drive  # noqa: E402
import mix  # noqa: E402
from server_process import Served, master_listening_on, snapshot  # noqa: E402

import common  # noqa: E402
from client import NotLoopback, Target, get_json, percentile, wait_until_healthy  # noqa: E402
from common import log  # noqa: E402

TARGET_ERRORS = 0
TARGET_GROWTH_PERCENT = 20.0
SAMPLE_EVERY = 5.0  # seconds between memory samples during the run
PROGRESS_EVERY = 10.0  # seconds between progress lines on stderr
MIB = 1024 * 1024


def bounded(low: int, high: int):
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}")
        return value
    return parse


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python benchmarks/load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=bounded(1, 1_000_000), default=100_000,
                        help="decisions to send after the warm-up [100000]")
    parser.add_argument("--concurrency", type=bounded(1, 64), default=16, help="connections in flight [16]")
    parser.add_argument("--client-processes", type=bounded(1, 16), default=1,
                        help="spread the connections over this many client processes [1: threads of one]")
    parser.add_argument("--warm-up", type=bounded(0, 100_000), default=2_000,
                        help="requests sent before the first memory reading [2000]")
    parser.add_argument("--max-seconds", type=bounded(1, 3600), default=600,
                        help="stop after this long, whatever is left to send [600]")
    parser.add_argument("--workers", type=bounded(1, 8), default=None, help="gunicorn workers [2]")
    parser.add_argument("--no-decision-log", action="store_true", help="serve without the decision log")
    parser.add_argument("--url", help="load this server instead of starting one (a loopback address only)")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write the figures to FILE as JSON")
    parser.add_argument("--server-log", metavar="FILE", type=Path,
                        help="keep the started server's output (its request log, gunicorn's messages) in FILE")
    args = parser.parse_args(argv)
    if args.url and (args.workers or args.no_decision_log):
        parser.error("--workers and --no-decision-log configure the server this starts; not with --url")
    args.workers = args.workers or 2
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    target = None
    if args.url:
        try:
            target = Target.from_url(args.url)
        except NotLoopback as refused:
            log(f"load: refused: {refused}")
            return 2

    common.interrupt_on_signals()  # SIGTERM and SIGHUP end the run as Ctrl-C does: reported, server stopped

    started = time.perf_counter()
    stop_at = started + args.max_seconds
    stop = multiprocessing.get_context("fork").Event()
    report = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "environment": {"python": platform.python_version(), "cpus": os.cpu_count(),
                              "load_average_before": os.getloadavg()},
              "targets": {"errors": TARGET_ERRORS, "memory_growth_percent_below": TARGET_GROWTH_PERCENT}}
    with tempfile.TemporaryDirectory(prefix="supportpolicy-load-") as scratch:
        served = None

        def stop_server() -> None:
            if served is not None:
                finish(served, Path(scratch), report)
        with common.Serving("load", stop, stop_server, interrupted="load: interrupted") as serving:
            if target is None:
                options = ["--no-decision-log"] if args.no_decision_log else ["--data-dir", f"{scratch}/data"]
                served = Served(args.workers, Path(scratch) / "serve.log", options)
                log(f"load: starting {' '.join(served.argv[-8:])} ...")
                target = served.start(timeout=min(60.0, args.max_seconds))
                master = served.process.pid
            else:
                master = _running_server(target, args.max_seconds)
            report["server"] = {"url": target.url, "started_here": served is not None, "master_pid": master,
                                "healthz": get_json(target, "/healthz")[1]}
            run(args, target, master, stop, stop_at, report)
        if serving.exit_code == 2:
            return 2
    if serving.exit_code == 130:
        report["interrupted"] = True
    report["environment"]["load_average_after"] = os.getloadavg()
    if "load" not in report:
        return 130
    return _report(args, report)


def _running_server(target: Target, max_seconds: float) -> int | None:
    """The master pid of a server someone else started, once it answers."""
    try:
        wait_until_healthy(target, timeout=min(10.0, max_seconds))
    except TimeoutError as error:
        raise RuntimeError(f"nothing answers at {target.url}: {error}") from None
    return master_listening_on(target.port)


def _report(args, report: dict) -> int:
    """Print the figures (and write them as JSON); the exit code."""
    report["checks"] = checks(report)
    report["passed"] = all(c["passed"] for c in report["checks"] if c["passed"] is not None)
    print(render(report))
    if args.json:
        try:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
        except OSError as error:
            log(f"load: could not write {args.json}: {error}")
            return 2
    if report.get("interrupted"):
        return 130
    return 0 if report["passed"] else 1


def run(args, target: Target, master: int | None, stop, stop_at: float, report: dict) -> None:
    templates = mix.build()
    log(f"load: warm-up, {args.warm_up:,} requests ...")
    warm = drive.run(target, templates, 0, args.warm_up, args.concurrency, args.client_processes, stop_at, stop)
    report["warm_up"] = {"sent": warm.sent, "errors": dict(warm.errors)}
    if warm.interrupted:
        raise KeyboardInterrupt
    before = snapshot(master) if master else None
    samples = [] if before is None else [before]
    clock = {"sample": time.monotonic(), "progress": time.monotonic()}
    began = time.perf_counter()

    def progress(sent: int) -> None:  # about once a second, from the load's waiting loop
        now = time.monotonic()
        if master and now - clock["sample"] >= SAMPLE_EVERY:
            clock["sample"] = now
            reading = snapshot(master)
            if reading:
                samples.append(reading)
        if now - clock["progress"] >= PROGRESS_EVERY:
            clock["progress"] = now
            rss = f", server RSS {samples[-1]['rss'] / MIB:,.1f} MiB" if samples else ""
            log(f"load: {sent:,} of {args.requests:,} sent, {sent / (time.perf_counter() - began):,.0f} req/s{rss}")

    log(f"load: {args.requests:,} requests at concurrency {args.concurrency} "
        f"({args.client_processes} client process{'es' if args.client_processes > 1 else ''}) ...")
    tally = drive.run(target, templates, args.warm_up, args.requests, args.concurrency, args.client_processes,
                      stop_at, stop, progress)
    seconds = time.perf_counter() - began
    after = snapshot(master) if master else None
    if after:
        samples.append(after)
    latencies = sorted(tally.latencies)
    # Errors of both phases; merging also finds decision ids and answers repeated across them.
    both = drive.Tally()
    both.merge(warm)
    both.merge(tally)
    errors = dict(both.errors)
    wrong = both.inconsistent()
    if wrong:
        errors["a different decision for the same request"] = wrong
    report["load"] = {
        "requested": args.requests, "sent": tally.sent, "seconds": seconds,
        "requests_per_s": tally.sent / seconds if seconds else 0.0,
        "latency_ms": {q: 1000 * percentile(latencies, p) if latencies else None
                       for q, p in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0))},
        "errors": sum(errors.values()), "error_kinds": errors, "error_examples": both.examples,
        "connections": tally.connections, "answered_decisions": both.answered,
        "seen": dict(sorted(tally.seen.items())), "templates": len(templates),
        "client_cpu_percent": 100 * tally.client_cpu_s / seconds if seconds else None,
        "stopped_by": "interrupt" if tally.interrupted else "max-seconds" if tally.sent < args.requests else None}
    report["memory"] = memory_figures(before, after, samples)
    if before and after:
        report["memory"]["server_cpu_percent"] = 100 * (after["cpu_s"] - before["cpu_s"]) / seconds
    if tally.interrupted:
        raise KeyboardInterrupt


def memory_figures(before, after, samples) -> dict:
    if not before or not after:
        return {"measured": False, "why": "the server's processes were not found (not started here, "
                                          "or another user's)"}
    return {"measured": True, "rss_before": before["rss"], "rss_after": after["rss"],
            "growth_percent": 100 * (after["rss"] - before["rss"]) / before["rss"],
            "uss_before": before["uss"], "uss_after": after["uss"],
            "rss_peak": max(s["rss"] for s in samples),
            "same_processes": {p["pid"] for p in before["processes"]} == {p["pid"] for p in after["processes"]},
            "processes": [{"pid": b["pid"], "role": b["role"], "rss_before": b["rss"],
                           "rss_after": next((a["rss"] for a in after["processes"] if a["pid"] == b["pid"]), None)}
                          for b in before["processes"]],
            "rss_samples": [s["rss"] for s in samples], "sample_every_s": SAMPLE_EVERY}


def finish(served: Served, scratch: Path, report: dict) -> None:
    """Stop the server (ignoring further Ctrl-C meanwhile), then read its log and its decision log."""
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        log("load: stopping the server (SIGTERM) ...")
        stopped = served.stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    findings = served.findings()
    if report["config"]["server_log"]:
        shutil.copyfile(served.log_path, report["config"]["server_log"])
    report.setdefault("server", {}).update(stopped=stopped, log=findings)
    database = scratch / "data" / "decisions.sqlite3"
    if database.exists():
        try:
            with sqlite3.connect(database) as db:
                rows = db.execute("SELECT count(*) FROM decisions").fetchone()[0]
        except sqlite3.Error as error:  # reported as every answered decision missing from it
            log(f"load: could not count the decision log: {error}")
            rows = 0
        sizes = {f.name: f.stat().st_size for f in database.parent.iterdir() if f.is_file()}
        report["server"]["decision_log"] = {"rows": rows, "files": sizes}


def checks(report: dict) -> list[dict]:
    load, memory, server = report["load"], report["memory"], report["server"]
    logged = server.get("decision_log")
    unlogged = max(0, load["answered_decisions"] - logged["rows"]) if logged else 0
    errors = load["errors"] + unlogged
    growth = memory.get("growth_percent")
    health = server.get("log", {})
    five_xx = sum(n for status, n in health.get("status", {}).items() if status.startswith("5"))
    stopped = server.get("stopped")
    healthy = (not health.get("problems") and not five_xx
               and (stopped is None or stopped.get("exit_code") == 0) and memory.get("same_processes", True))
    return [
        {"target": f"errors = {TARGET_ERRORS}", "measured": f"{errors:,}"
         + (f" ({unlogged:,} answered but not in the decision log)" if unlogged else ""),
         "passed": errors == TARGET_ERRORS},
        {"target": f"memory growth < {TARGET_GROWTH_PERCENT:g}%",
         "measured": f"{growth:+.1f}%" if growth is not None else "not measured",
         "passed": growth < TARGET_GROWTH_PERCENT if growth is not None else None},
        {"target": "every request sent", "measured": f"{load['sent']:,} of {load['requested']:,}",
         "passed": load["sent"] == load["requested"]},
        {"target": "server healthy", "measured": "yes" if healthy else "no: see above", "passed": healthy},
    ]


def render(report: dict) -> str:
    env, config, load, memory, server = (report["environment"], report["config"], report["load"],
                                         report["memory"], report["server"])
    lat = load["latency_ms"]
    mode = ("with the SQLite decision log in a temporary --data-dir" if not config["no_decision_log"]
            else "--no-decision-log")
    where = (f"supportpolicy serve --workers {config['workers']} {mode}" if server["started_here"]
             else "a server already running")
    digest = (server.get("healthz") or {}).get("policy_digest", "?")
    lines = [f"supportpolicy load test: Python {env['python']}, {env['cpus']} CPUs, load average "
             f"{env['load_average_before'][0]:.2f} before, {env['load_average_after'][0]:.2f} after "
             "(other work on the machine shares the CPUs)",
             f"server: {where}, at {server['url']}, policy {digest[:19]}...",
             f"client: {config['concurrency']} keep-alive connections on threads of {config['client_processes']} "
             f"process(es); mix of {load['templates']:,} requests; warm-up {report['warm_up']['sent']:,} requests",
             "",
             f"  {'requests sent':22} {load['sent']:,} of {load['requested']:,} in {load['seconds']:.1f} s"
             + (f" (stopped by {load['stopped_by']})" if load["stopped_by"] else ""),
             f"  {'throughput':22} {load['requests_per_s']:,.0f} requests/s",
             "  {:22} p50 {} ms, p90 {} ms, p99 {} ms, max {} ms".format(
                 "latency", *(f"{lat[q]:.2f}" if lat[q] is not None else "n/a" for q in ("p50", "p90", "p99", "max"))),
             f"  {'connections opened':22} {load['connections']:,}"
             + (" (the server closed each after its answer)" if load["connections"] >= load["sent"] > 0 else ""),
             f"  {'errors':22} {load['errors']:,}"
             + "".join(f"\n      {n:>8,}  {kind}" for kind, n in sorted(load["error_kinds"].items()))]
    lines += [f"      e.g. {example[:200]}" for example in load["error_examples"]]
    if memory["measured"]:
        lines.append(f"  {'memory (RSS, total)':22} {memory['rss_before'] / MIB:,.1f} MiB before, "
                     f"{memory['rss_after'] / MIB:,.1f} MiB after: {memory['growth_percent']:+.1f}%"
                     f" (peak {memory['rss_peak'] / MIB:,.1f} MiB)")
        for p in memory["processes"]:
            after = f"{p['rss_after'] / MIB:,.1f}" if p["rss_after"] is not None else "gone"
            lines.append(f"      {p['role']:7} pid {p['pid']:<8} {p['rss_before'] / MIB:,.1f} -> {after} MiB")
        if not memory["same_processes"]:
            lines.append("      the server's processes changed during the run: a worker died or was replaced")
        if memory["uss_before"] is not None:
            lines.append(f"      unshared (USS)   {memory['uss_before'] / MIB:,.1f} -> "
                         f"{memory['uss_after'] / MIB:,.1f} MiB")
        rss = memory["rss_samples"]
        step = -(-len(rss) // 24)  # at most about 24 figures on the line; --json has them all
        lines.append(f"      every {memory['sample_every_s'] * step:g} s: "
                     + " ".join(f"{r / MIB:.0f}" for r in rss[::step]) + f" MiB, at the end {rss[-1] / MIB:.0f}")
    else:
        lines.append(f"  {'memory':22} not measured: {memory['why']}")
    cpu = f"client {load['client_cpu_percent']:.0f}% of one core"
    if "server_cpu_percent" in memory:
        cpu += f", server {memory['server_cpu_percent']:.0f}% (of {env['cpus'] * 100}%)"
    lines.append(f"  {'CPU':22} {cpu}")
    seen = load["seen"]
    if seen:  # what the server's decisions show the mix reached
        lines.append(f"  {'answers covered':22} decision-table rows "
                     + ", ".join(f"{k[4:]}: {n:,}" for k, n in seen.items() if k.startswith("row "))
                     + f"; holidays {seen.get('holiday', 0):,}; out of hours {seen.get('out of hours', 0):,}; "
                     + ", ".join(f"{k[7:]} {n:,}" for k, n in seen.items() if k.startswith("offset ")))
    if "decision_log" in server:
        logged = server["decision_log"]
        lines.append(f"  {'decision log':22} {logged['rows']:,} decisions logged for "
                     f"{load['answered_decisions']:,} answered; on disk "
                     + ", ".join(f"{name} {size / MIB:,.1f} MiB" for name, size in sorted(logged["files"].items())
                                 if size))
    if server.get("stopped"):
        health = server["log"]
        statuses = ", ".join(f"{s}: {n:,}" for s, n in sorted(health["status"].items()))
        lines.append(f"  {'server':22} stopped by {server['stopped']['how']}, exit code "
                     f"{server['stopped']['exit_code']}; {health['workers_booted']} workers booted, "
                     f"{health['reloads']} reloads; answers logged by status: {statuses}")
        lines += [f"      {n:>8,} x {problem[:160]}" for problem, n in
                  sorted(health["problems"].items(), key=lambda item: -item[1])[:10]]
    lines += ["", f"  {'target':28} {'measured':>30}   verdict"]
    for c in report["checks"]:
        verdict = "n/a" if c["passed"] is None else "PASS" if c["passed"] else "FAIL"
        lines.append(f"  {c['target']:28} {c['measured']:>30}   {verdict}")
    lines.append(f"  result: {'PASS' if report['passed'] else 'FAIL'}"
                 + (" (interrupted)" if report.get("interrupted") else ""))
    return "\n".join(lines)
