#!/usr/bin/env python
"""A fleet of replicas through PostgreSQL: publish to the whole fleet, throughput, the database's cost.

    python benchmarks/bench_fleet.py --postgres URL [--replicas 3] [--workers 2] [--publishes 7]
                                     [--rounds 2] [--duration 10] [--json]

In a schema of its own on the server ``--postgres`` names (created for the run and dropped after it),
``--replicas`` servers, ``supportpolicy serve --policy-source URL --workers N`` on loopback ports, follow
the set `supportpolicy publish` puts in force there, and log their decisions there too. Three figures:

- publish to fleet: ``--publishes`` sets, each with its own after-hours rate, published one after the
  other under a steady load (threads of this process, one keep-alive connection per replica each, taking
  the replicas in turn, about 300 requests a second over the fleet, every answer's ``Policy-Set-Digest``
  kept). Each is timed from its commit (the instant the database recorded it in force: now() of the
  publish's transaction, at or before its commit) to the first moment after which every replica's answers
  carry its digest (the receipt of the first answer of each replica's final unbroken run of them, at
  least 1.5 s long); median and max, and the same from the publish command's exit.
- throughput with one, two, ... replicas: wrk (as bench_http.py drives it, its request mix, keep-alive;
  else this script's own threads, unpaced) against each replica at once, the same connections in all
  (split among the replicas), ``--duration`` seconds a run, the replica counts in turn for ``--rounds``
  rounds; decisions a second in all and per replica, and p99, the median over the rounds.
- the database's load per decision, over each throughput run (after a wait that lets every backend report
  its counters): commits, rows inserted, blocks read and hit, WAL written (pg_stat_database for the
  database, pg_stat_wal for the cluster: other users of the server count in them too, which the report
  says when this schema's own tables show fewer rows inserted than the database did), this schema's own
  table counters (exact), and the connections each replica holds; and, with no load, what the replicas'
  heartbeats and re-checks cost; and the most transactions of one decision each the log commits a second
  (processes writing to it directly, one to eight: every commit of the fleet takes its turn under one lock).

This machine has 2 cores: the replicas share them, so more replicas cannot answer more here; the figures
per decision are what a fleet of hosts needs from its database (docs/speed.md, "A fleet"). Loopback only.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from bench_decisions import HOST, Server, _stop_all, request_mix
from bench_http import parse_wrk

import common
from client import free_port, percentile
from common import log

HERE = Path(__file__).resolve().parent
PLAN = Path("policies/plans/central-standard/2026.1.yaml")
SHIPPED_RATE = 'amount: "200.00"'
PACE = 0.02            # seconds between one observer thread's requests
OBSERVERS = 6
SETTLED_FOR = 1.5      # seconds of answers all on the new digest before a replica counts as moved
WAIT = 30.0
STATS_SETTLE = 11.0    # seconds: an idle backend reports its pending counters within 10 s (PostgreSQL 15)
TARGET_PUBLISH_S = 1.0


# ---- the schema, the sets, the replicas -------------------------------------------------------------

def in_schema(url: str, schema: str) -> str:
    """The URL, its connections using only ``schema`` and named after it (as tests/logstores.py does)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("options", "application_name")]
    query += [("options", f"-c search_path={schema}"), ("application_name", schema)]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def shipped_with_rate(where: Path, rate: str) -> tuple[Path, Path]:
    """A copy of the checkout's policies and rules with central-standard's after-hours rate set to ``rate``."""
    for folder in ("policies", "rules"):
        shutil.copytree(common.CHECKOUT / folder, where / folder, ignore=shutil.ignore_patterns("tests"))
    plan = where / PLAN
    text = plan.read_text(encoding="utf-8")
    if text.count(SHIPPED_RATE) != 1:
        raise SystemExit(f"{PLAN} no longer holds {SHIPPED_RATE} once: update bench_fleet.py")
    plan.write_text(text.replace(SHIPPED_RATE, f'amount: "{rate}"'), encoding="utf-8")
    return where / "policies", where / "rules"


def cli() -> list[str]:
    return [sys.executable, "-m", "supportpolicy.server.cli"]


class Publisher:
    def __init__(self, url: str, workdir: Path):
        self.url, self.workdir = url, workdir

    def publish(self, rate: str) -> dict:
        """Publish the shipped set at ``rate``: its digest, and when the command exited and the set was put in
        force (time.monotonic())."""
        policies, rules = shipped_with_rate(self.workdir / f"set-{rate}", rate)
        done = subprocess.run(cli() + ["publish", "--policies", str(policies), "--rules", str(rules), "--to", self.url,
                                       "--by", "bench_fleet"], capture_output=True, text=True, timeout=120)
        exited = time.monotonic()
        if done.returncode != 0:
            raise RuntimeError(f"publish exited with {done.returncode}: {done.stderr.strip()}")
        digest = re.search(r"published (sha256:[0-9a-f]{64})", done.stdout).group(1)
        with connect(self.url) as connection:
            found, at = connection.execute("SELECT digest, extract(epoch FROM put_at) FROM policy_in_force "
                                           "ORDER BY seq DESC LIMIT 1").fetchone()
        if found != digest:
            raise RuntimeError(f"the set in force is {found}, not {digest}")
        committed = time.monotonic() - (time.time() - float(at))
        return {"digest": digest, "exited": exited, "committed": min(committed, exited)}


def replicas(count: int, workers: int, url: str, workdir: Path) -> list[Server]:
    found = []
    for n in range(1, count + 1):
        port = free_port()
        name = f"replica-{n}"
        (workdir / name).mkdir()
        argv = cli() + ["serve", "--host", HOST, "--port", str(port), "--workers", str(workers),
                        "--policy-source", url, "--replica-name", name, "--data-dir", str(workdir / name / "data")]
        found.append(Server(name, argv, port, workers, workdir))
    return found


# ---- publish to fleet: a steady load that keeps every answer's digest -------------------------------------

class Observer:
    """OBSERVERS threads posting dry runs and logged decisions to the replicas in turn, every PACE seconds;
    ``answers`` holds (replica index, time received, status, Policy-Set-Digest, seconds taken, logged) for each."""

    def __init__(self, servers: list[Server], bodies: list[bytes], stop: threading.Event):
        self.servers, self.bodies, self.stop = servers, bodies, stop
        self.answers: list[tuple[int, float, int | None, str | None, float, bool]] = []
        self.threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(OBSERVERS)]
        for thread in self.threads:
            thread.start()

    def _client(self, number: int) -> None:
        connections = {}
        next_at = time.monotonic() + number * PACE / OBSERVERS
        n = number * 37
        while not self.stop.is_set():
            for index, server in enumerate(self.servers):
                self.answers.append(self._send(connections, index, server, n))
                n += 1
                next_at = max(next_at + PACE, time.monotonic() - PACE)
                if self.stop.wait(max(0.0, next_at - time.monotonic())):
                    break
        for connection in connections.values():
            connection.close()

    def _send(self, connections: dict, index: int, server: Server, n: int):
        logged = n % 2 == 1
        path = "/v1/decisions" if logged else "/v1/decisions?dry_run=true"
        connection = connections.get(index) or HTTPConnection(HOST, server.port, timeout=10)
        connections[index] = connection
        sent = time.monotonic()
        try:
            connection.request("POST", path, body=self.bodies[n % len(self.bodies)],
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
        except (OSError, HTTPException):
            connections.pop(index).close()
            return index, time.monotonic(), None, None, time.monotonic() - sent, logged
        received = time.monotonic()
        return index, received, response.status, response.getheader("Policy-Set-Digest"), received - sent, logged

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def moved(self, digest: str, since: float) -> list[float] | None:
        """For each replica, the receipt of the first answer of the unbroken run of ``digest`` answers its
        answers end with, when that run lasts SETTLED_FOR seconds; None while any replica has not moved."""
        answers = [a for a in list(self.answers) if a[1] >= since and a[2] is not None]
        found = []
        for index in range(len(self.servers)):
            mine = sorted((a for a in answers if a[0] == index), key=lambda a: a[1])
            first = None
            for answer in reversed(mine):
                if answer[3] != digest:
                    break
                first = answer
            if first is None or mine[-1][1] - first[1] < SETTLED_FOR:
                return None
            found.append(first[1])
        return found


def publish_rounds(publisher: Publisher, servers: list[Server], bodies: list[bytes], count: int) -> dict:
    observer = Observer(servers, bodies, threading.Event())
    rounds = []
    try:
        time.sleep(2)
        for n in range(count):
            began = time.monotonic()
            published = publisher.publish(f"{211 + n}.00")
            deadline = time.monotonic() + WAIT
            while (moved := observer.moved(published["digest"], began)) is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not every replica moved to {published['digest']} within {WAIT:.0f} s")
                time.sleep(0.05)
            rounds.append({"from_commit_s": max(moved) - published["committed"],
                           "from_exit_s": max(moved) - published["exited"],
                           "per_replica_s": [at - published["committed"] for at in moved]})
            log(f"publish {n + 1}: the whole fleet {rounds[-1]['from_commit_s']:.3f} s after the commit")
    finally:
        observer.finish()
    failed = sum(1 for a in observer.answers if a[2] != 200)
    commits = [r["from_commit_s"] for r in rounds]
    exits = [r["from_exit_s"] for r in rounds]
    latency = {}
    for kind, logged in (("logged", True), ("dry_run", False)):
        taken = sorted(a[4] * 1000 for a in observer.answers if a[5] == logged and a[2] == 200)
        latency[kind] = {"p50_ms": percentile(taken, 0.5), "p99_ms": percentile(taken, 0.99)}
    return {"rounds": rounds, "median_s": statistics.median(commits), "max_s": max(commits), "latency": latency,
            "median_from_exit_s": statistics.median(exits), "max_from_exit_s": max(exits),
            "answers": len(observer.answers), "failed": failed,
            "load_per_s": len(observer.answers) / max(1e-9, observer.answers[-1][1] - observer.answers[0][1])}


# ---- throughput, and the database's counters ---------------------------------------------------------

COUNTERS = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_returned", "tup_fetched",
            "blks_read", "blks_hit")


def counters(url: str, schema: str) -> dict:
    """The database's, the cluster's WAL and this schema's own counters now, and who is connected."""
    with connect(url) as connection:
        found = dict(zip(COUNTERS, connection.execute(
            f"SELECT {', '.join(COUNTERS)} FROM pg_stat_database WHERE datname = current_database()").fetchone()))
        found["wal_bytes"], found["wal_records"] = map(int, connection.execute(
            "SELECT wal_bytes, wal_records FROM pg_stat_wal").fetchone())
        ins, upd, heap_read, heap_hit, idx_read, idx_hit = connection.execute(
            "SELECT coalesce(sum(s.n_tup_ins), 0), coalesce(sum(s.n_tup_upd), 0), "
            "coalesce(sum(i.heap_blks_read), 0), coalesce(sum(i.heap_blks_hit), 0), "
            "coalesce(sum(i.idx_blks_read), 0), coalesce(sum(i.idx_blks_hit), 0) FROM pg_stat_user_tables s "
            "JOIN pg_statio_user_tables i USING (relid) WHERE s.schemaname = %s", (schema,)).fetchone()
        found.update(schema_tup_inserted=int(ins), schema_tup_updated=int(upd),
                     schema_blks_read=int(heap_read + idx_read), schema_blks_hit=int(heap_hit + idx_hit))
        found["decisions"] = connection.execute("SELECT count(*) FROM decisions").fetchone()[0]
        found["connections"] = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()",
            (schema,)).fetchone()[0]
        found["others"] = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
            "AND application_name <> %s", (schema,)).fetchone()[0]
    return found


def per_decision(before: dict, after: dict) -> dict:
    decisions = after["decisions"] - before["decisions"]
    keys = COUNTERS + ("wal_bytes", "wal_records", "schema_tup_inserted", "schema_tup_updated", "schema_blks_read",
                       "schema_blks_hit")
    found = {key: (after[key] - before[key]) / decisions if decisions else None for key in keys}
    found["decisions"] = decisions
    # Rows other sessions inserted in this database meanwhile: its counters are then not this fleet's alone.
    found["shared_with_others"] = (after["tup_inserted"] - before["tup_inserted"]) > \
        1.05 * (after["schema_tup_inserted"] - before["schema_tup_inserted"])
    return found


def wrk_at_once(servers: list[Server], bodies: Path, duration: float, connections: int) -> list[dict]:
    """One wrk a replica, all started together, the connections split among them."""
    share = [connections // len(servers) + (1 if n < connections % len(servers) else 0) for n in range(len(servers))]
    env = dict(os.environ, SUPPORTPOLICY_BODIES=str(bodies), SUPPORTPOLICY_PATH="/v1/decisions")
    running = [subprocess.Popen(["wrk", f"-t{min(2, c)}", f"-c{c}", f"-d{duration:g}s", "--latency",
                                 "-s", str(HERE / "wrk" / "decisions.lua"), f"http://{HOST}:{server.port}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for server, c in zip(servers, share)]
    found = []
    for process in running:
        out, err = process.communicate(timeout=duration + 60)
        if process.returncode != 0:
            raise RuntimeError(f"wrk failed: {err.strip()}")
        found.append(parse_wrk(out))
    return found


def threads_at_once(servers: list[Server], bodies: list[bytes], duration: float, connections: int) -> list[dict]:
    """Without wrk: this script's threads, unpaced, one keep-alive connection each, split among the replicas."""
    counts = [[0, 0] for _ in servers]  # answered 200, other
    stop_at = time.monotonic() + duration

    def client(n: int) -> None:
        index = n % len(servers)
        connection = HTTPConnection(HOST, servers[index].port, timeout=10)
        while time.monotonic() < stop_at:
            try:
                connection.request("POST", "/v1/decisions", body=bodies[n % len(bodies)],
                                   headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                counts[index][response.status != 200] += 1
            except (OSError, HTTPException):
                counts[index][1] += 1
                connection.close()
            n += len(servers)
        connection.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 60)
    return [{"requests_per_s": ok / duration, "p99_ms": None, "non_2xx": bad, "socket_errors": 0}
            for ok, bad in counts]


def throughput(servers: list[Server], url: str, schema: str, args, mix: list[dict], workdir: Path) -> dict:
    bodies_file = workdir / "bodies.jsonl"
    bodies_file.write_text("".join(json.dumps(b) + "\n" for b in mix), encoding="utf-8")
    bodies = [json.dumps(b).encode() for b in mix]
    use_wrk = shutil.which("wrk") is not None
    drive = (lambda s, d: wrk_at_once(s, bodies_file, d, args.connections)) if use_wrk else \
        (lambda s, d: threads_at_once(s, bodies, d, args.connections))
    for count in range(1, len(servers) + 1):  # warm every worker of every replica
        drive(servers[:count], 2.0)
    runs: dict[int, list] = {}
    time.sleep(STATS_SETTLE)
    before = counters(url, schema)
    for n in range(args.rounds):
        for count in range(1, len(servers) + 1):
            log(f"round {n + 1}: {count} replica(s), {args.duration:g} s ...")
            found = drive(servers[:count], args.duration)
            connected = counters(url, schema)["connections"]
            time.sleep(STATS_SETTLE)
            after = counters(url, schema)
            runs.setdefault(count, []).append({"replicas": found, "database": per_decision(before, after),
                                               "connections": connected})
            before = after
    return {"client": "wrk" if use_wrk else "threads", "by_replicas": {c: summed(r) for c, r in runs.items()}}


def summed(runs: list[dict]) -> dict:
    totals = [sum(r["requests_per_s"] for r in run["replicas"]) for run in runs]
    per_replica = [statistics.median(run["replicas"][i]["requests_per_s"] for run in runs)
                   for i in range(len(runs[0]["replicas"]))]
    p99s = [r["p99_ms"] for run in runs for r in run["replicas"] if r["p99_ms"] is not None]
    errors = sum(r["non_2xx"] + r["socket_errors"] for run in runs for r in run["replicas"])
    database = {key: statistics.median(run["database"][key] for run in runs)
                for key in runs[0]["database"] if key not in ("shared_with_others",)}
    database["shared_with_others"] = any(run["database"]["shared_with_others"] for run in runs)
    return {"decisions_per_s": statistics.median(totals), "rounds": totals, "per_replica": per_replica,
            "p99_ms": statistics.median(p99s) if p99s else None, "errors": errors, "database": database,
            "connections": max(run["connections"] for run in runs)}


def at_rest(url: str, schema: str, seconds: float, replicas_: int) -> dict:
    """What the fleet costs the database with no request: heartbeats, re-checks."""
    time.sleep(STATS_SETTLE)
    before = counters(url, schema)
    time.sleep(seconds)
    after = counters(url, schema)
    return {"seconds": seconds, "replicas": replicas_, "connections": after["connections"],
            "xact_commit_per_s": (after["xact_commit"] - before["xact_commit"]) / seconds,
            "schema_rows_written_per_s": (after["schema_tup_inserted"] + after["schema_tup_updated"]
                                          - before["schema_tup_inserted"] - before["schema_tup_updated"]) / seconds,
            "shared_with_others": after["others"] > 0 or before["others"] > 0}


def _writer(url: str, seconds: float, start_at: float, counts) -> None:
    """A process writing decisions to the log one at a time (one transaction each, as a worker does when
    nothing else is waiting to commit) from ``start_at`` for ``seconds``; puts how many it wrote."""
    from supportpolicy.engine import load_policy_set
    from supportpolicy.server.storage.decisionlog import open_log
    from supportpolicy.server.storage.record import LogRecord

    policy_set, body = load_policy_set(), request_mix()[0]
    decision = policy_set.decide(body)
    log = open_log(url)
    log.write(LogRecord.of(body, decision))  # connected, the table there
    time.sleep(max(0.0, start_at - time.time()))
    written = 0
    while time.time() < start_at + seconds:
        log.write(LogRecord.of(body, decision))  # a record made per write, as a worker makes one
        written += 1
    log.close()
    counts.put(written)


def commit_ceiling(url: str, writers: tuple[int, ...] = (1, 2, 4, 8), seconds: float = 5.0) -> dict:
    """Decisions a second the log commits one a transaction, for each count of writing processes: every
    commit of the fleet takes its turn under one advisory lock (server/storage/postgres.py), so this is the
    most single-decision transactions the whole fleet can commit, whatever its number of hosts."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    found = {}
    for count in writers:
        counts = context.Queue()
        start_at = time.time() + 8.0  # every writer loaded and connected by then
        processes = [context.Process(target=_writer, args=(url, seconds, start_at, counts), daemon=True)
                     for _ in range(count)]
        for process in processes:
            process.start()
        total = sum(counts.get(timeout=60 + seconds) for _ in processes)
        for process in processes:
            process.join(timeout=30)
        found[count] = total / seconds
        log(f"commit ceiling: {count} writer(s), {found[count]:,.0f} commits/s")
    return found


# ---- the report ---------------------------------------------------------------------------------------

def render(report: dict) -> str:
    p = report["publish"]
    lines = [f"supportpolicy fleet: {report['replicas']} replicas x {report['workers']} workers, one PostgreSQL; "
             f"Python {report['python']}, {report['cpus']} CPUs, load average {report['load_average']}",
             f"  publish to the whole fleet under {p['load_per_s']:.0f} requests/s ({p['failed']} of {p['answers']} "
             f"failed), {len(p['rounds'])} publishes:",
             f"    from the commit: median {p['median_s']:.3f} s, max {p['max_s']:.3f} s   target <= "
             f"{TARGET_PUBLISH_S:g} s   {'ok' if p['max_s'] <= TARGET_PUBLISH_S else 'MISS'}",
             f"    from publish's exit: median {p['median_from_exit_s']:.3f} s, max {p['max_from_exit_s']:.3f} s",
             "    rounds (from the commit): " + ", ".join(f"{r['from_commit_s']:.3f}" for r in p["rounds"]),
             f"    meanwhile, answered in p50 / p99: logged decisions {p['latency']['logged']['p50_ms']:.1f} / "
             f"{p['latency']['logged']['p99_ms']:.1f} ms, dry runs {p['latency']['dry_run']['p50_ms']:.1f} / "
             f"{p['latency']['dry_run']['p99_ms']:.1f} ms",
             f"  throughput ({report['throughput']['client']}, {report['connections']} connections in all, "
             f"{report['duration']:g} s x {report['rounds']} rounds; decisions logged in PostgreSQL):",
             f"    {'replicas':>8} {'decisions/s':>12} {'per replica':>24} {'p99':>9} {'errors':>7} "
             f"{'commits':>8} {'rows':>6} {'WAL B':>7} {'blks hit':>9} {'conns':>6}   (database, per decision)"]
    for count, r in report["throughput"]["by_replicas"].items():
        d = r["database"]
        per = ", ".join(f"{x:,.0f}" for x in r["per_replica"])
        p99 = f"{r['p99_ms']:.1f}ms" if r["p99_ms"] is not None else "-"
        lines.append(f"    {count:>8} {r['decisions_per_s']:>12,.0f} {per:>24} {p99:>9} {r['errors']:>7} "
                     f"{d['xact_commit']:>8.2f} {d['schema_tup_inserted']:>6.2f} {d['wal_bytes']:>7,.0f} "
                     f"{d['schema_blks_hit']:>9.1f} {r['connections']:>6}"
                     f"{'   (others used the database too)' if d['shared_with_others'] else ''}")
    rest = report["at_rest"]
    lines.append(f"  at rest: {rest['replicas']} replicas hold {rest['connections']} connections, "
                 f"{rest['xact_commit_per_s']:.2f} commits/s in the database, {rest['schema_rows_written_per_s']:.2f} "
                 f"rows written/s{'   (others used the database too)' if rest['shared_with_others'] else ''}")
    lines.append("  the log's commits, one decision each, from separate processes (its fleet-wide commit turn): " +
                 ", ".join(f"{n} writer(s) {rate:,.0f}/s" for n, rate in report["commit_ceiling"].items()))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("SUPPORTPOLICY_TEST_POSTGRES"),
                        help="the PostgreSQL server [SUPPORTPOLICY_TEST_POSTGRES]; a schema of the run's own is used")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--publishes", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per throughput run [10]")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.postgres:
        parser.error("give the PostgreSQL server: --postgres URL (or SUPPORTPOLICY_TEST_POSTGRES)")
    common.interrupt_on_signals()
    schema = f"supportpolicy_bench_{uuid.uuid4().hex[:12]}"
    url = in_schema(args.postgres, schema)
    with connect(args.postgres) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    stop, started = threading.Event(), []
    report = {"python": platform.python_version(), "cpus": os.cpu_count(), "replicas": args.replicas,
              "workers": args.workers, "rounds": args.rounds, "duration": args.duration,
              "connections": args.connections}
    try:
        with tempfile.TemporaryDirectory(prefix="supportpolicy-fleet-") as scratch:
            workdir = Path(scratch)
            with common.Serving("bench_fleet", stop, lambda: _stop_all(started)) as serving:
                publisher = Publisher(url, workdir)
                publisher.publish("200.00")
                for server in replicas(args.replicas, args.workers, url, workdir):
                    started.append(server)
                    log(f"starting {server.name} on port {server.port} ...")
                    server.start()
                mix = request_mix()
                bodies = [json.dumps(b).encode() for b in mix]
                report["publish"] = publish_rounds(publisher, started, bodies, args.publishes)
                report["throughput"] = throughput(started, url, schema, args, mix, workdir)
                report["at_rest"] = at_rest(url, schema, 20.0, len(started))
                report["commit_ceiling"] = commit_ceiling(url)
            if serving.exit_code is not None:
                return serving.exit_code
    finally:
        with connect(args.postgres) as connection:
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s "
                               "AND pid <> pg_backend_pid()", (schema,))
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    report["load_average"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    common.run(main)
