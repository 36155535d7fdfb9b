#!/usr/bin/env python
"""How fast supportpolicy decides: in-process, and over HTTP against a bare Flask app.

    python benchmarks/bench_decisions.py [--quick] [--json]

(a) In-process: microseconds per ``PolicySet.decide(body)`` for the shipped
    policy, on a mix of requests covering every row of the decision table,
    every channel and category, holidays, boundaries and several UTC offsets;
    median and p99 over at least 20,000 decisions after a warm-up; the premium
    plan's mix; and, as a peer, GoRules Zen (zen-engine) deciding the seed's
    route-and-coverage table (benchmarks/zen_table.py), fed each request's
    facts. All of them side by side, in alternating rounds.
(b) HTTP: requests per second of ``POST /v1/decisions`` served by
    ``supportpolicy serve --workers 2`` and, one after the other with the same
    client, concurrency and duration, under the same gunicorn settings
    (benchmarks/bare_app.py), by two baselines: the same app answering one
    fixed decision (deciding nothing: the ceiling for any decision on this
    server), and a bare Flask endpoint that only parses the JSON body.

Everything listens on 127.0.0.1 on free ports; every server it starts is
stopped at the end, on Ctrl-C and on errors. Counts and durations are bounded.
The load client (loadloop.py) is Python threads with one http.client
connection each; it keeps a connection alive for as long as the server does
(a server that closes it after every response, as gunicorn's sync worker did
before server/worker.py, makes each request pay for a new one).
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

import common
from client import HOST, KeepAlive, Target, free_port, percentile, wait_until_healthy
from common import log
from loadloop import Load, Run, summary

common.make_engine_importable()
import supportpolicy.engine as engine  # noqa: E402
from supportpolicy.engine import load_policy_set  # noqa: E402

HERE = Path(__file__).resolve().parent

try:
    import psutil
except ImportError:  # optional: only the CPU columns need it
    psutil = None

TARGET_MEDIAN_US = 100.0
TARGET_RATIO = 0.85
# A full decision against GoRules Zen deciding one of its tables (issue 14).
TARGET_PEER_RATIO = 4.0
PEER_RULESET = "route-and-coverage"
ROUNDS = 5
MAX_DURATION = 60.0
MAX_CONCURRENCY = 64

DESIGNATED = ("it.director@demo-city.gov", "WebMaster@Demo-City.gov")
OTHERS = ("resident@example.org", "clerk@demo-city.gov")
# (local situation, instant): in and out of hours, weekends, a holiday, the
# opening and closing instants, both Chicago offsets and foreign ones.
TIMES = (
    "2026-11-27T10:00:00-06:00",  # Friday, in hours
    "2026-11-24T07:00:00-06:00",  # Tuesday, the opening instant
    "2026-11-23T18:00:00-06:00",  # Monday, an hour before closing
    "2026-07-15T14:30:00-05:00",  # Wednesday, daylight saving time
    "2026-03-09T15:45:00Z",       # Monday, given in UTC
    "2026-11-27T19:00:00-06:00",  # Friday, the closing instant
    "2026-11-28T23:00:00-06:00",  # Saturday night
    "2026-11-29T09:00:00-06:00",  # Sunday morning
    "2026-11-26T11:00:00-06:00",  # Thanksgiving
    "2026-07-16T02:10:00+02:00",  # Wednesday night in Chicago, given in CEST
)
CHANNELS = ("phone", "voicemail", "email", "portal")
CATEGORIES = ("website_down", "application_malfunction", "application_error", "usage_question",
              "suggestion", "additional_services", "other")


def request_mix() -> list[dict]:
    """Every time, channel, category and kind of requester, in a fixed shuffled order."""
    mix = []
    emails = DESIGNATED + OTHERS
    for n, (when, channel, category, email) in enumerate(itertools.product(TIMES, CHANNELS, CATEGORIES, emails)):
        body = {"customer": "demo-city", "received_at": when, "channel": channel,
                "requester": {"email": email}, "category": category}
        if n % 3 == 0:
            body["ticket_id"] = f"INC-{100000 + n}"
        if n % 5 == 0:
            body["summary"] = "The permit search page shows an error after login. " * (1 + n % 4)
        mix.append(body)
    # A fixed permutation (stride coprime with the length), so runs are comparable.
    stride = next(s for s in range(len(mix) // 3, len(mix)) if math.gcd(s, len(mix)) == 1)
    return [mix[(i * stride) % len(mix)] for i in range(len(mix))]


PREMIUM_TIMES = ("2026-12-01T10:00:00-08:00", "2026-11-28T23:00:00-08:00", "2026-11-29T20:00:00-08:00",
                 "2026-12-24T11:00:00-08:00", "2026-12-25T10:00:00-08:00", "2026-03-06T14:00:00-08:00",
                 "2026-03-31T11:00:00-07:00", "2026-12-04T17:30:00-08:00")


def premium_mix() -> list[dict]:
    """The premium plan's customer: every severity, channel, category and requester at times across its
    schedules (business hours in Pacific time, the 24x5 span, holidays, an early close, DST)."""
    mix = []
    for n, (when, channel, category, email, severity) in enumerate(itertools.product(
            PREMIUM_TIMES, ("phone", "email", "portal", "chat"), ("outage", "degraded", "defect", "question"),
            ("cio@harbor-county.gov", "resident@example.org"), (1, 2, 3, 4))):
        mix.append({"customer": "harbor-county", "received_at": when, "channel": channel,
                    "requester": {"email": email}, "category": category, "attributes": {"severity": severity},
                    **({"ticket_id": f"HC-{n}"} if n % 3 == 0 else {})})
    stride = next(s for s in range(len(mix) // 3, len(mix)) if math.gcd(s, len(mix)) == 1)
    return [mix[(i * stride) % len(mix)] for i in range(len(mix))]


def table_row(decision: dict) -> int:
    """Which row of docs/decision-api.md's table decided."""
    if decision["emergency_support"]:
        return 1
    if decision["in_business_hours"]:
        return 2 if decision["respond_by"] == decision["received_at"] else 3
    return 4 if decision["billable"] else 5


# -- (a) in-process -------------------------------------------------------------------------------

def bench_in_process(policy_set, mix: list, warm_up: int, count: int) -> dict:
    rows = {}
    for body in mix:
        row = table_row(policy_set.decide(body).as_json())
        rows[row] = rows.get(row, 0) + 1
    if sorted(rows) != [1, 2, 3, 4, 5]:
        raise SystemExit(f"the request mix does not cover every row of the decision table: {rows}")

    decide = policy_set.decide
    steps = {"decide": (decide, mix),
             "with_document": (lambda body: orjson.dumps(decide(body).as_json()), mix),
             "premium": (decide, premium_mix())}
    peer = zen_peer(policy_set, mix)
    if peer is not None:
        steps["zen"] = peer
    log(f"in-process: {', '.join(steps)} side by side, {ROUNDS} rounds of {count // ROUNDS:,} each after "
        f"{warm_up:,} warm-up ...")
    result = _side_by_side(steps, warm_up, count)
    figures = result.pop("decide")
    figures.update(result)
    figures["mix"] = {"requests": len(mix), "rows": {str(k): rows[k] for k in sorted(rows)}}
    if peer is None:
        figures["zen"] = None
    return figures


def zen_peer(policy_set, mix: list):
    """GoRules Zen deciding the seed's route-and-coverage table, fed each request's facts; None without zen-engine."""
    try:
        import zen_table
    except ImportError:
        log("in-process: zen-engine is not installed (pip install 'supportpolicy[bench]'): no peer figure")
        return None
    ruleset = zen_table.ruleset_named(policy_set, PEER_RULESET)
    decision = zen_table.zen_decision(ruleset)
    differ = zen_table.agreement(policy_set, decision, ruleset, mix)
    if differ:
        body, ours, theirs = differ[0]
        raise SystemExit(f"Zen's {PEER_RULESET} table decides {len(differ)} of {len(mix)} requests otherwise, "
                         f"e.g. {json.dumps(body)}: ours {ours}, Zen's {theirs}")
    contexts = [policy_set.evaluate(body).decision.facts.for_rules() for body in mix]
    return decision.evaluate, contexts


def _side_by_side(steps: dict, warm_up: int, count: int) -> dict:
    """Each step timed over its inputs in turn, ROUNDS times round (A B C A B C ...), so a machine that
    slows down mid-run slows every step alike; microseconds per call over all rounds."""
    for step, inputs in steps.values():
        for item in itertools.islice(itertools.cycle(inputs), warm_up):
            step(item)
    per_round = count // ROUNDS
    samples = {name: [] for name in steps}
    walls = dict.fromkeys(steps, 0.0)
    clock = time.perf_counter_ns
    for _ in range(ROUNDS):
        for name, (step, inputs) in steps.items():
            times = [0] * per_round
            started = clock()
            for i in range(per_round):
                item = inputs[i % len(inputs)]
                t0 = clock()
                step(item)
                times[i] = clock() - t0
            walls[name] += (clock() - started) / 1e9
            samples[name] += times
    result = {}
    for name, times in samples.items():
        times.sort()
        result[name] = {"decisions": len(times), "warm_up": warm_up, "requests": len(steps[name][1]),
                        "median_us": times[len(times) // 2] / 1000, "p99_us": percentile(times, 0.99) / 1000,
                        "mean_us": sum(times) / len(times) / 1000, "decisions_per_s": len(times) / walls[name]}
    return result


# -- servers --------------------------------------------------------------------------------------

class Server:
    """One gunicorn server started as a subprocess in its own process group."""

    def __init__(self, name: str, argv: list, port: int, workers: int, workdir: Path):
        self.name, self.argv, self.port, self.expected_workers = name, argv, port, workers
        self.target = Target.local(port)
        self.log_path = workdir / f"{name}.log"
        self.process = None
        self.worker_pids: list[int] = []

    def start(self, timeout: float = 60.0) -> None:
        env = dict(os.environ)
        # The code the benchmark itself imported: an install, or this checkout.
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                cwd=str(HERE), start_new_session=True,
                preexec_fn=common.die_with_parent if sys.platform.startswith("linux") else None)
        deadline = time.monotonic() + timeout
        try:
            wait_until_healthy(self.target, timeout, lambda: self.process.poll() is None)
            # /healthz answers as soon as one worker does; wait for all of them, so none boots mid-run.
            while len(self.worker_pids_from_log()) < self.expected_workers:
                if self.process.poll() is not None or time.monotonic() >= deadline:
                    raise TimeoutError  # worded below
                time.sleep(0.1)
        except (TimeoutError, RuntimeError):  # RuntimeError: wait_until_healthy saw the server exit
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.name} server exited with {self.process.returncode}:\n{self.log()}")
            raise RuntimeError(f"the {self.name} server did not answer within {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def worker_pids_from_log(self) -> list[int]:
        return [int(line.rsplit(":", 1)[1]) for line in self.log().splitlines()
                if "Booting worker with pid:" in line]

    def worker_class(self) -> str:
        for line in self.log().splitlines():
            if "Using worker:" in line:
                return line.rsplit("Using worker:", 1)[1].strip()
        return "unknown"

    def workers(self) -> list:
        """The live worker processes (psutil), for CPU accounting."""
        if psutil is None or self.process is None:
            return []
        try:
            return psutil.Process(self.process.pid).children()
        except psutil.Error:
            return []

    def stop(self) -> None:
        if self.process is None:
            return
        pids = set(self.worker_pids_from_log())
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # gunicorn: quick shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        # Workers that outlived their master: only our own, by id, in the group we created.
        for pid in pids:
            try:
                if os.getpgid(pid) == self.process.pid:
                    os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _stop_all(servers: list) -> None:
    """Stop every server; a second Ctrl-C or SIGTERM meanwhile does not cut the clean-up short."""
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in signals}
    try:
        for s in servers:
            try:
                s.stop()
            except Exception as error:  # noqa: BLE001 - stop the others anyway
                log(f"could not stop the {s.name} server (pid {s.process.pid}): {error}")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# -- (b) HTTP load --------------------------------------------------------------------------------

def figures(run: Run) -> dict:
    return {**summary(run), "connections": run.connections,
            "client_cpu_percent": 100 * run.client_cpu_s / run.seconds if run.seconds > 0 else None}


def _server_cpu(workers: list) -> float | None:
    if psutil is None or not workers:
        return None
    total = 0.0
    for worker in workers:
        try:
            times = worker.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def verify_answers(target: Target, policy_set, mix: list, count: int = 60) -> int:
    """Decide the first requests over HTTP and in-process: how many answers differ."""
    wrong = 0
    connection = KeepAlive(target)
    try:
        for body in mix[:count]:
            status, data = connection.request("POST", "/v1/decisions", json.dumps(body).encode(),
                                              {"Content-Type": "application/json"})
            got = json.loads(data)
            expected = json.loads(json.dumps(policy_set.decide(body).as_json()))
            got.pop("decision_id", None)
            expected.pop("decision_id", None)
            if status != 200 or got != expected:
                wrong += 1
    finally:
        connection.close()
    return wrong


def bench_http(server_: Server, bodies: list, concurrency: int, duration: float, warm_up: float,
               stop: threading.Event) -> dict:
    load = Load(server_.target, bodies, concurrency, stop)
    log(f"http: {server_.name}: warm-up {warm_up:g} s, then {duration:g} s with {concurrency} client threads ...")
    load.run(warm_up)
    workers = server_.workers()
    cpu_before = _server_cpu(workers)
    result = figures(load.run(duration))
    cpu_after = _server_cpu(workers)
    if cpu_before is not None and cpu_after is not None:
        result["server_cpu_percent"] = 100 * (cpu_after - cpu_before) / result["seconds"]
    result["worker_class"] = server_.worker_class()
    result["workers"] = len(server_.worker_pids_from_log())
    return result


# -- report ---------------------------------------------------------------------------------------

def _ratio(run: dict, base: dict) -> float:
    return run["requests_per_s"] / base["requests_per_s"] if base["requests_per_s"] else 0.0


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def render(report: dict) -> str:
    env, a = report["environment"], report["in_process"]
    lines = [f"supportpolicy benchmark{' (quick)' if report['quick'] else ''}: Python {env['python']}, "
             f"{env['cpus']} CPUs, gunicorn {env['gunicorn']}, policy {env['policy_digest'][:19]}...",
             "",
             f"(a) in-process: PolicySet.decide(body), {a['decisions']:,} decisions after {a['warm_up']:,} warm-up,",
             f"    mix of {a['mix']['requests']} requests; decision-table rows "
             + ", ".join(f"{row}: {n}" for row, n in a["mix"]["rows"].items()),
             f"    {'':30} {'median':>9} {'p99':>9} {'mean':>9} {'decisions/s':>12}   target",
             f"    {'decide(body)':30} {a['median_us']:>7.1f}us {a['p99_us']:>7.1f}us {a['mean_us']:>7.1f}us "
             f"{a['decisions_per_s']:>12,.0f}"
             f"   median <= {TARGET_MEDIAN_US:g} us  {_mark(a['median_us'] <= TARGET_MEDIAN_US)}"]
    d = a["with_document"]
    lines.append(f"    {'+ as_json() + orjson.dumps()':30} {d['median_us']:>7.1f}us {d['p99_us']:>7.1f}us "
                 f"{d['mean_us']:>7.1f}us "
                 f"{d['decisions_per_s']:>12,.0f}   (what the HTTP view does)")
    p = a.get("premium")
    if p:
        lines.append(f"    {'premium plan: decide(body)':30} {p['median_us']:>7.1f}us {p['p99_us']:>7.1f}us "
                     f"{p['mean_us']:>7.1f}us {'':>12}   median <= {TARGET_MEDIAN_US:g} us  "
                     f"{_mark(p['median_us'] <= TARGET_MEDIAN_US)}  ({p['requests']} requests)")
    z = a.get("zen")
    if z:
        ratio = z["median_us"] / a["median_us"]
        lines += [f"    {'Zen: ' + PEER_RULESET + ' table':30} {z['median_us']:>7.1f}us {z['p99_us']:>7.1f}us "
                  f"{z['mean_us']:>7.1f}us {z['decisions_per_s']:>12,.0f}   (zen-engine, one table, facts given)",
                  f"    {'ratio Zen table / decide':30} {ratio:>8.2f}   target >= {TARGET_PEER_RATIO:g}  "
                  f"{_mark(ratio >= TARGET_PEER_RATIO)}"]
    h = report.get("http")
    if h:
        dec, bare = h["decision"], h["bare"]
        keep_alive = ("kept alive" if dec["connections"] < dec["requests"] / 2
                      else "closed by the server after every response: one new connection per request")
        lines += ["",
                  f"(b) HTTP: POST /v1/decisions on {HOST}, gunicorn {dec['workers']} workers, worker class "
                  f"{dec['worker_class']!r} (bare: {bare['workers']} x {bare['worker_class']!r}),",
                  f"    {h['concurrency']} client threads (http.client), {h['duration']:g} s each after "
                  f"{h['warm_up']:g} s warm-up; connections {keep_alive}",
                  f"    {'server':22} {'req/s':>8} {'p50':>8} {'p99':>8} {'errors':>7} {'conns':>8}"
                  f" {'client CPU':>11} {'server CPU':>11}"]
        fixed = h["fixed"]
        for label, r in (("supportpolicy serve", dec), ("  same, decision fixed", fixed), ("bare Flask", bare)):
            server_cpu = f"{r['server_cpu_percent']:.0f}%" if r.get("server_cpu_percent") is not None else "n/a"
            lines.append(f"    {label:22} {r['requests_per_s']:>8,.0f} {r['p50_ms']:>6.2f}ms {r['p99_ms']:>6.2f}ms "
                         f"{r['errors']:>7} {r['connections']:>8,} {r['client_cpu_percent']:>10.0f}% "
                         f"{server_cpu:>11}")
        errors = dec["errors"] + fixed["errors"] + bare["errors"] + h["wrong_answers"]
        lines += [f"    ratio decision/bare    {h['ratio']:>8.2f}   target >= {TARGET_RATIO:g}  "
                  f"{_mark(h['ratio'] >= TARGET_RATIO)}",
                  f"    ratio fixed/bare       {h['ceiling']:>8.2f}   (the most any decision could reach here: "
                  "the same server, deciding nothing)",
                  f"    errors                 {errors:>8}   target 0  {_mark(errors == 0)}"
                  f"   (wrong answers in {h['verified']} checked against in-process: {h['wrong_answers']})"]
        for label, r in (("decision", dec), ("fixed", fixed), ("bare", bare)):
            if r["error_kinds"]:
                lines.append(f"    {label} errors: {r['error_kinds']}")
        lines.append(f"    note: client and servers share {env['cpus']} CPUs; a client near 100% CPU "
                     "(one core, GIL) caps req/s and flatters the ratio")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark supportpolicy's decisions (in-process and HTTP).")
    parser.add_argument("--quick", action="store_true", help="3 s per HTTP run instead of 10 s")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--duration", type=float, help="seconds per HTTP run (at most 60)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads [8] (at most 64)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for both servers [2]")
    parser.add_argument("--no-http", action="store_true", help="only the in-process figures")
    args = parser.parse_args(argv)
    duration = min(MAX_DURATION, max(0.5, args.duration or (3.0 if args.quick else 10.0)))
    concurrency = min(MAX_CONCURRENCY, max(1, args.concurrency))
    workers = min(8, max(1, args.workers))

    common.interrupt_on_signals()

    import gunicorn
    policy_set = load_policy_set()
    mix = request_mix()
    report = {"quick": args.quick,
              "environment": {"python": platform.python_version(), "cpus": os.cpu_count(),
                              "gunicorn": gunicorn.__version__, "policy_digest": policy_set.digest,
                              "engine": str(Path(engine.__file__).resolve().parent)},
              "targets": {"median_us": TARGET_MEDIAN_US, "ratio": TARGET_RATIO, "errors": 0}}
    count = 20_000 if args.quick else 50_000
    report["in_process"] = bench_in_process(policy_set, mix, warm_up=2_000 if args.quick else 5_000, count=count)

    if not args.no_http:
        stop = threading.Event()
        bodies = [json.dumps(body).encode() for body in mix]
        servers = []
        with tempfile.TemporaryDirectory(prefix="supportpolicy-bench-") as workdir:
            with common.Serving("bench_decisions", stop, lambda: _stop_all(servers)) as serving:
                port = free_port()
                decision = Server("decision", [sys.executable, "-m", "supportpolicy.server.cli",
                                               "serve", "--host", HOST, "--port", str(port),
                                               "--workers", str(workers),
                                               # The bare endpoint keeps no log: compare the decision
                                               # alone (bench_lifecycle.py measures the log's cost).
                                               "--no-decision-log", "--no-watch"],
                                  port, workers, Path(workdir))
                servers.append(decision)
                log(f"starting supportpolicy serve on {HOST}:{port} ...")
                decision.start()
                wrong = verify_answers(decision.target, policy_set, mix)
                warm = 0.5 if args.quick else 1.0
                dec = bench_http(decision, bodies, concurrency, duration, warm, stop)
                decision.stop()

                runs = {"decision": dec}
                for name, what in (("fixed", "supportpolicy answering one fixed decision"),
                                   ("bare", "the bare Flask app")):
                    port = free_port()
                    baseline = Server(name, [sys.executable, str(HERE / "bare_app.py"), "--bind", f"{HOST}:{port}",
                                             "--workers", str(workers), "--app", name], port, workers, Path(workdir))
                    servers.append(baseline)
                    log(f"starting {what} on {HOST}:{port} ...")
                    baseline.start()
                    runs[name] = bench_http(baseline, bodies, concurrency, duration, warm, stop)
                    baseline.stop()
        if serving.exit_code is not None:
            return serving.exit_code
        report["http"] = {"concurrency": concurrency, "duration": duration, "warm_up": warm,
                          **runs, "verified": min(60, len(mix)), "wrong_answers": wrong,
                          "ratio": _ratio(runs["decision"], runs["bare"]),
                          "ceiling": _ratio(runs["fixed"], runs["bare"])}

    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    common.run(main)
