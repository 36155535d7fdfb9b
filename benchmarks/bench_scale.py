#!/usr/bin/env python
"""A provider with thousands of customers: loading, starting, reloading, memory and stopping.

    python benchmarks/bench_scale.py [--customers N] [--reloads N] [--json] [--profile [N]]

It generates the repository bench_policies.py generates (default 5,000 customers: the shipped
plan and rules, customer files with 2 to 5 designated contacts, one in five with overrides) in a
temporary folder, and measures:

    load       in a fresh Python process: check_policy_set over the folders (what `serve` does
               before it listens), imports included; and `supportpolicy validate` (the set and the
               policy test suites beside it)
    in process a server.live.LivePolicy over the folders: the time to build it, then a reload
               after one customer file changed (each of --reloads times: a new name in a
               different customer file, so every reload puts a new set in force)
    serving    `supportpolicy serve --workers 2 --no-decision-log --no-watch`: the time to
               answer GET /healthz with every worker booted; then --reloads times: one customer
               file changed, then SIGHUP to the master (odd rounds) or POST /v1/admin/reload (even
               rounds): how long until every answer carries the new set (GET /v1/policies'
               digest, computed here from the files' bytes), how long POST took to answer, and the
               memory (RSS and PSS, MiB) of the master and of each worker once it has settled
    unchanged  four SIGHUPs with nothing changed: how many workers were replaced (target: none)
    watcher    a server with its file watcher on: one customer file replaced (written to a
               temporary file and renamed), and the time until every answer carries the new set
    stopping   one customer file changed, two SIGHUPs, then SIGTERM: how long until a new
               connection is refused and until the master has exited (the documented bound: 20 s)

Targets (5,000 customers): the cold load under 5 s, a reload after one changed customer under
1 s (in process, and over HTTP as an answer to POST /v1/admin/reload), worker memory that does
not grow from reload to reload (the largest worker PSS after the last reload within 5% of
that after the first), no
worker replaced by an unchanged set, and SIGTERM refused at once and obeyed within 20 s.
--profile runs cProfile over one cold check_policy_set and one reload in process.

Every server listens on 127.0.0.1 on a free port and is stopped at the end, on errors and on
Ctrl-C; customer counts, reloads and every wait are bounded.
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import platform
import pstats
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import common
from client import HOST, free_port, get_json, request_json
from common import log

common.make_engine_importable()
import psutil  # noqa: E402  (a test dependency of supportpolicy)
from bench_decisions import Server, _stop_all  # noqa: E402
from bench_policies import generate  # noqa: E402

from supportpolicy.server.live import LivePolicy  # noqa: E402

MAX_CUSTOMERS = 20_000
MAX_RELOADS = 50
SETTLE_TIMEOUT = 120.0  # seconds for a reload to be in force in every worker (the old code took up to 47 s)
STOP_TIMEOUT = 120.0
TARGET_COLD_S, TARGET_RELOAD_S, TARGET_STOP_S, TARGET_GROWTH = 5.0, 1.0, 20.0, 0.05
SETTLED_ANSWERS = 20  # consecutive answers with the new digest that count as "every worker has it"
MiB = 1024 * 1024


def label(path: Path) -> str:
    """How `serve --policies DIR --rules DIR` (absolute folders) names a file."""
    return os.path.normpath(path)


def set_digest(policies: Path, rules: Path) -> str:
    """The digest the server reports: every policy file (not the tests) and rule set, as sha256sum lists them."""
    files = [p for p in policies.rglob("*.yaml") if "tests" not in p.relative_to(policies).parts]
    files += list(rules.rglob("*.yaml"))
    listing = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {label(p)}\n"
                      for p in sorted(files, key=label))
    return "sha256:" + hashlib.sha256(listing.encode()).hexdigest()


def edit_customer(policies: Path, n: int, tag: str) -> None:
    """Give customer n a new name, written to a temporary file and renamed over the old one."""
    path = policies / "customers" / f"city-{n:04d}.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [f'name: "City {n} ({tag})"\n' if line.startswith("name:") else line for line in lines]
    temporary = path.with_suffix(".yaml.tmp")
    temporary.write_text("".join(lines), encoding="utf-8")
    os.replace(temporary, path)


# -- load -------------------------------------------------------------------------------------------

COLD = """
import sys, time
started = time.perf_counter()
from supportpolicy.engine.decide.build import check_policy_set
policy_set, errors = check_policy_set(sys.argv[1:], lambda root, path: str(path))
assert policy_set is not None, errors[:5]
print(time.perf_counter() - started, len(policy_set.customers))
"""


def cold_load(repo: dict) -> dict:
    completed = subprocess.run([sys.executable, "-c", COLD, repo["policies"], repo["rules"]], capture_output=True,
                               timeout=600, check=True)
    seconds, customers = completed.stdout.split()
    started = time.perf_counter()
    validate = subprocess.run([sys.executable, "-m", "supportpolicy.server.cli", "validate", repo["policies"],
                               repo["rules"]], capture_output=True, timeout=600)
    return {"check_policy_set_s": float(seconds), "customers": int(customers),
            "validate_s": time.perf_counter() - started, "validate_exit": validate.returncode}


def in_process(repo: dict, reloads: int) -> dict:
    roots = (Path(repo["policies"]), Path(repo["rules"]))
    started = time.perf_counter()
    live = LivePolicy(roots)
    built = time.perf_counter() - started
    times = []
    for i in range(reloads):
        edit_customer(roots[0], 2 + i, f"in process {i}")
        started = time.perf_counter()
        attempt = live.reload("benchmark")
        times.append(time.perf_counter() - started)
        if not attempt.ok:
            raise RuntimeError(f"the reload was refused: {attempt.errors[:5]}")
    return {"live_policy_s": built, "reload_s": times}


def profile(repo: dict, top: int) -> list[str]:
    """cProfile over a LivePolicy built from cold, then over one reload after a customer changed."""
    roots = (Path(repo["policies"]), Path(repo["rules"]))
    lines, profiler = [], cProfile.Profile()
    profiler.enable()
    live = LivePolicy(roots)
    profiler.disable()
    lines += ["profile of a cold LivePolicy:"] + _top(profiler, top)
    edit_customer(roots[0], 1, "profiled")
    profiler = cProfile.Profile()
    profiler.enable()
    live.reload("profile")
    profiler.disable()
    return lines + ["profile of a reload after one customer changed:"] + _top(profiler, top)


def _top(profiler: cProfile.Profile, top: int) -> list[str]:
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(top)
    return [line for line in buffer.getvalue().splitlines() if line.strip()]


# -- serving ----------------------------------------------------------------------------------------

def serve(repo: dict, workdir: Path, name: str, *options: str) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "supportpolicy.server.cli", "serve", "--host", HOST, "--port", str(port),
            "--workers", "2", "--no-decision-log", "--policies", repo["policies"], "--rules", repo["rules"],
            *options]
    return Server(name, argv, port, 2, workdir)


def settle(server: Server, digest: str, started: float) -> float:
    """Seconds from ``started`` until SETTLED_ANSWERS answers in a row carry ``digest``."""
    row, deadline = 0, time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        try:
            status, body = get_json(server.target, "/healthz", timeout=5)
        except OSError:
            status, body = None, None
        row = row + 1 if status == 200 and body.get("policy_digest") == digest else 0
        if row == 1:
            first = time.perf_counter()
        if row >= SETTLED_ANSWERS:
            return first - started
        time.sleep(0.01)
    return None  # reported as a problem


def memory(server: Server) -> dict:
    master = psutil.Process(server.process.pid)
    processes = [("master", master)] + [("worker", child) for child in master.children()]
    figures = {"master": None, "workers": []}
    for role, process in processes:
        try:
            info = process.memory_full_info()
        except psutil.Error:
            continue
        entry = {"pid": process.pid, "rss_mib": info.rss / MiB, "pss_mib": info.pss / MiB}
        if role == "master":
            figures["master"] = entry
        else:
            figures["workers"].append(entry)
    return figures


def reloads_while_serving(repo: dict, workdir: Path, reloads: int, servers: list, problems: list) -> dict:
    server = serve(repo, workdir, "scale-sighup", "--no-watch")
    servers.append(server)
    policies, rules = Path(repo["policies"]), Path(repo["rules"])
    log(f"serving: starting supportpolicy serve over {repo['customers']:,} customers ...")
    started = time.perf_counter()
    server.start(timeout=SETTLE_TIMEOUT)
    result = {"start_s": time.perf_counter() - started, "memory": [("start", memory(server))], "rounds": []}
    for i in range(reloads):
        edit_customer(policies, 100 + i, f"served {i}")
        digest = set_digest(policies, rules)
        how = "SIGHUP" if i % 2 == 0 else "POST /v1/admin/reload"
        log(f"serving: reload {i + 1}/{reloads} by {how} ...")
        started = time.perf_counter()
        answered = status = None
        if how == "SIGHUP":
            os.kill(server.process.pid, signal.SIGHUP)
        else:
            status, body = request_json(server.target, "POST", "/v1/admin/reload", timeout=SETTLE_TIMEOUT)
            answered = time.perf_counter() - started
            if status not in (200, 202):
                problems.append(f"reload {i + 1}: POST /v1/admin/reload answered {status}: {str(body)[:300]}")
        took = settle(server, digest, started)
        if took is None:
            problems.append(f"reload {i + 1}: the workers did not all serve the new set within {SETTLE_TIMEOUT:g} s")
        time.sleep(1.0)  # the replaced workers exit
        result["rounds"].append({"by": how, "in_force_s": took, "answered_s": answered, "status": status})
        result["memory"].append((f"after reload {i + 1}", memory(server)))
    log("unchanged: four SIGHUPs with nothing changed ...")
    before = {child.pid for child in psutil.Process(server.process.pid).children()}
    for _ in range(4):
        os.kill(server.process.pid, signal.SIGHUP)
        time.sleep(0.2)
    idle(server)
    after = {child.pid for child in psutil.Process(server.process.pid).children()}
    result["unchanged_replaced_workers"] = len(before - after)
    result["unchanged_worker_boots"] = len(server.worker_pids_from_log())
    result["stop"] = stop_behind_reloads(server, policies)
    return result


def idle(server: Server, seconds: int = 3) -> None:
    """Wait until the master has used under a tenth of a CPU for ``seconds`` seconds in a row (its reloads are done)."""
    master, quiet, deadline = psutil.Process(server.process.pid), 0, time.monotonic() + STOP_TIMEOUT * 2
    while quiet < seconds and time.monotonic() < deadline:
        quiet = quiet + 1 if master.cpu_percent(interval=1.0) < 10 else 0


def refused(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def stop_behind_reloads(server: Server, policies: Path) -> dict:
    log("stopping: one customer changed, two SIGHUPs, then SIGTERM ...")
    edit_customer(policies, 99, "stopping")
    os.kill(server.process.pid, signal.SIGHUP)
    time.sleep(0.1)
    os.kill(server.process.pid, signal.SIGHUP)
    time.sleep(0.1)
    started = time.perf_counter()
    server.process.send_signal(signal.SIGTERM)
    refused_at = None
    while server.process.poll() is None and time.perf_counter() - started < STOP_TIMEOUT:
        if refused_at is None and refused(server.port):
            refused_at = time.perf_counter() - started
        time.sleep(0.05)
    exited = server.process.poll() is not None
    return {"refused_after_s": refused_at, "exited_after_s": time.perf_counter() - started if exited else None}


def watcher(repo: dict, workdir: Path, servers: list) -> dict:
    server = serve(repo, workdir, "scale-watch")
    servers.append(server)
    policies, rules = Path(repo["policies"]), Path(repo["rules"])
    log("watcher: starting a server with its file watcher on ...")
    server.start(timeout=SETTLE_TIMEOUT)
    idle(server)  # anything it does right after starting is done
    edit_customer(policies, 3000 % repo["customers"] + 1, "watched")
    started = time.perf_counter()
    return {"in_force_s": settle(server, set_digest(policies, rules), started)}  # None: not within the bound


# -- report -----------------------------------------------------------------------------------------

def _mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def render(report: dict) -> str:
    env, load, live, served = report["environment"], report["load"], report["in_process"], report["serving"]
    reload_s = sorted(live["reload_s"])
    lines = [f"supportpolicy at scale: {report['customers']:,} customers, Python {env['python']}, "
             f"{env['cpus']} CPUs, {env['when']}",
             f"  cold check_policy_set (fresh process)   {load['check_policy_set_s']:6.2f} s   "
             f"target < {TARGET_COLD_S:g} s: {_mark(load['check_policy_set_s'] < TARGET_COLD_S)}",
             f"  supportpolicy validate (with suites)    {load['validate_s']:6.2f} s   exit {load['validate_exit']}",
             f"  LivePolicy built                        {live['live_policy_s']:6.2f} s",
             f"  reload after one customer, in process   median {reload_s[len(reload_s) // 2]:.2f} s "
             f"(min {reload_s[0]:.2f}, max {reload_s[-1]:.2f})   target < {TARGET_RELOAD_S:g} s: "
             f"{_mark(reload_s[len(reload_s) // 2] < TARGET_RELOAD_S)}",
             f"  serve: every worker answering           {served['start_s']:6.2f} s"]
    for n, r in enumerate(served["rounds"], 1):
        answered = f", answered {r['status']} in {r['answered_s']:.2f} s" if r["answered_s"] is not None else ""
        took = "never" if r["in_force_s"] is None else f"{r['in_force_s']:6.2f} s"
        lines.append(f"  reload {n:2} by {r['by']:22} in force in {took}{answered}")
    lines.append("  memory (MiB)                 master rss/pss   workers rss/pss")
    for when, m in served["memory"]:
        workers = "  ".join(f"{w['rss_mib']:.1f}/{w['pss_mib']:.1f}" for w in m["workers"])
        master = m["master"]
        lines.append(f"    {when:24}  {master['rss_mib']:6.1f}/{master['pss_mib']:6.1f}    {workers}")
    first, last = served["memory"][1][1]["workers"], served["memory"][-1][1]["workers"]
    if first and last:
        # Each worker's largest PSS: a worker still finishing its requests after a reload has the smaller share.
        growth = max(w["pss_mib"] for w in last) / max(w["pss_mib"] for w in first) - 1
        lines.append(f"  largest worker PSS, last reload against the first: {growth:+.1%}   target within "
                     f"{TARGET_GROWTH:.0%}: {_mark(abs(growth) <= TARGET_GROWTH)}")
    lines.append(f"  unchanged set, 4 SIGHUPs: {served['unchanged_replaced_workers']} worker(s) replaced   "
                 f"target 0: {_mark(served['unchanged_replaced_workers'] == 0)}")
    stop = served["stop"]
    lines.append(f"  SIGTERM behind two SIGHUPs: refused after {stop['refused_after_s']} s, exited after "
                 f"{stop['exited_after_s']} s   target < {TARGET_STOP_S:g} s: "
                 f"{_mark(stop['exited_after_s'] is not None and stop['exited_after_s'] < TARGET_STOP_S)}")
    if report.get("watcher"):
        took = report["watcher"]["in_force_s"]
        lines.append(f"  watcher: a renamed customer file in force in {'never' if took is None else f'{took:.2f} s'}")
    lines += [f"  PROBLEM: {problem}" for problem in report["problems"]]
    return "\n".join(lines + report.get("profile", []))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark supportpolicy with thousands of customers.")
    parser.add_argument("--customers", type=int, default=5000,
                        help=f"customers to generate [5000] (200 to {MAX_CUSTOMERS:,})")
    parser.add_argument("--reloads", type=int, default=10, help=f"reloads measured [10] (2 to {MAX_RELOADS})")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-watcher", action="store_true", help="leave out the server with the file watcher")
    parser.add_argument("--profile", nargs="?", type=int, const=30, default=0, metavar="N",
                        help="also profile a cold load and a reload in process, N functions each [30]")
    args = parser.parse_args(argv)
    if not 200 <= args.customers <= MAX_CUSTOMERS or not 2 <= args.reloads <= MAX_RELOADS:
        parser.error(f"--customers is 200 to {MAX_CUSTOMERS:,}, --reloads 2 to {MAX_RELOADS}")
    common.interrupt_on_signals()
    servers: list = []
    stop = threading.Event()
    with tempfile.TemporaryDirectory(prefix="supportpolicy-bench-scale-") as scratch:
        workdir = Path(scratch)
        log(f"generating {args.customers:,} customers ...")
        repo = generate(workdir / "repo", args.customers)
        report = {"customers": args.customers,
                  "problems": [], "environment": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                  "when": time.strftime("%Y-%m-%d %H:%M")}}
        with common.Serving("bench_scale", stop, lambda: _stop_all(servers)) as serving:
            log("load: a cold check_policy_set and validate, each in a fresh process ...")
            report["load"] = cold_load(repo)
            log(f"in process: LivePolicy and {args.reloads} reloads ...")
            report["in_process"] = in_process(repo, args.reloads)
            report["serving"] = reloads_while_serving(repo, workdir, args.reloads, servers, report["problems"])
            if not args.no_watcher:
                report["watcher"] = watcher(repo, workdir, servers)
            if args.profile:
                report["profile"] = profile(repo, args.profile)
        if serving.exit_code is not None:
            return serving.exit_code
    print(json.dumps(report, indent=2, default=str) if args.json else render(report))
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    common.run(main)
