#!/usr/bin/env python
"""How fast supportpolicy checks and tests a large policy repository.

    python benchmarks/bench_policies.py [--customers N] [--runs N] [--json] [--keep DIR] [--profile [N]]

It writes, in a temporary folder (or in --keep DIR, left for inspection), a
policy repository like the shipped one, grown to N customers (default 1,000):

    policies/plans/central-standard/2026.1.yaml   the shipped plan
    policies/customers/city-0001.yaml ...         copies of demo-city: their own id, name and
                                                  2 to 5 designated contacts; one in five has
                                                  overrides (another after-hours rate, an extra
                                                  holiday, a longer emergency target, or two of them)
    policies/tests/customers-0001.yaml ...        policy tests, 3 cases per customer, 100 customers
                                                  a suite (a file holds at most 50,000 YAML values)
    rules/*.yaml, schemas/*.json                  the shipped rules and schemas

The three cases of each customer, with the expected fields computed here from
that customer's terms (rate, holidays, emergency target):
    1. a usage question phoned in by one of its designated contacts at 20:00 on a
       weekday evening: billed at its after-hours rate after notice, due four
       business hours after the next opening;
    2. a resident's e-mail at 10:00 on a weekday: in hours and due at 14:00, or,
       when that day is the customer's extra holiday, closed and due 11:00 the next
       working day;
    3. a designated contact's website-down e-mail on a Saturday night: emergency
       support, free, due after the customer's emergency target in calendar hours.

Then it times, median of --runs runs (default 3):
    CLI        `supportpolicy validate POLICIES RULES` and `supportpolicy test --policies
               POLICIES --rules RULES`, each a fresh `python -m
               supportpolicy.server.cli` process (exit codes must be 0), and `--help` for the
               start-up cost every command pays;
    in-process tools.check.check(roots) (what validate does), and
               check_policy_set(roots), load_suites and run (what test does).
The target: `validate` under 5 s. --profile runs cProfile over one warm
in-process tools.check.check and prints its cost stage by stage
(parse, schemas, terms, suites) and the functions that cost most.

Nothing listens on the network; the only processes started are the CLI runs,
each with a time limit. Customer counts and runs are bounded.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import common
from common import log

common.make_engine_importable()
import supportpolicy.engine as engine  # noqa: E402
from supportpolicy.engine.decide.build import check_policy_set  # noqa: E402
from supportpolicy.engine.resources import default_roots  # noqa: E402
from supportpolicy.engine.tools.check import check  # noqa: E402
from supportpolicy.engine.tools.suites import load_suites, run  # noqa: E402

TARGET_VALIDATE_S = 5.0
MAX_CUSTOMERS = 20_000
MAX_RUNS = 10
CLI_TIMEOUT_S = 600.0
CUSTOMERS_PER_SUITE = 100

PLAN_ID = "central-standard"
PLAN_RATE = "200.00"
PLAN_EMERGENCY_HOURS = 1
CHICAGO_NOVEMBER = timezone(timedelta(hours=-6))  # every case date is in CST (after 2026-11-01)
# US federal holidays near the case dates (the plan closes on them).
PUBLIC_HOLIDAYS = {date(2026, 11, 11): "Veterans Day", date(2026, 11, 26): "Thanksgiving Day"}
WEEKDAYS = [date(2026, 11, 16) + timedelta(days=i) for i in range(5)]  # Monday 16 to Friday 20 November
SATURDAY = date(2026, 11, 21)

ROLES = ("IT Director", "Webmaster", "City Clerk", "Communications Manager", "Network Administrator",
         "Deputy Clerk", "Help Desk Lead", "Records Manager")
PLACES = ("Ash", "Birch", "Cedar", "Dale", "Elm", "Fair", "Glen", "Hollow", "Iron", "Juniper", "King", "Lake",
          "Maple", "North", "Oak", "Pine", "Quarry", "River", "Stone", "Timber", "Union", "Vale", "West", "York")
SUFFIXES = ("ford", "ton", "field", "brook", "ville", "wood", "haven", "port", "mont", "dale")
RATES = ("150.00", "175.50", "225.00", "250.00", "180.00")
EXTRA_HOLIDAY_NAMES = ("Founders Day", "Harvest Festival", "City Anniversary", "Staff Training Day")


# -- the generated repository ---------------------------------------------------------------------

def _q(text: str) -> str:
    """A YAML double-quoted string (JSON's quoting is valid YAML)."""
    return json.dumps(text)


class CustomerSpec:
    """One generated customer and the terms its test cases are computed from."""

    def __init__(self, n: int):
        self.n = n
        self.id = f"city-{n:04d}"
        place = PLACES[n % len(PLACES)] + SUFFIXES[(n // len(PLACES)) % len(SUFFIXES)]
        self.name = f"City of {place} {n}"
        self.domain = f"{self.id}.gov"
        count = 2 + n % 4  # 2 to 5 designated contacts
        roles = [ROLES[(n + i) % len(ROLES)] for i in range(count)]
        self.contacts = [(role, f"contact{i + 1}.{role.split()[0].lower()}@{self.domain}")
                         for i, role in enumerate(roles)]
        self.rate, self.extra_holiday, self.emergency_hours = PLAN_RATE, None, PLAN_EMERGENCY_HOURS
        self.override_kind = None
        if n % 5 == 0:  # one in five
            self.override_kind = ("rate", "holiday", "emergency", "rate+holiday")[(n // 5) % 4]
            if "rate" in self.override_kind:
                self.rate = RATES[(n // 20) % len(RATES)]
            if "holiday" in self.override_kind:
                day = WEEKDAYS[(n // 5) % len(WEEKDAYS)]
                self.extra_holiday = (day, EXTRA_HOLIDAY_NAMES[n % len(EXTRA_HOLIDAY_NAMES)])
            if self.override_kind == "emergency":
                self.emergency_hours = 2
        # The days its cases fall on: the in-hours e-mail on the extra holiday when it has one.
        self.email_day = self.extra_holiday[0] if self.extra_holiday else WEEKDAYS[n % len(WEEKDAYS)]
        self.evening_day = WEEKDAYS[(n + 2) % len(WEEKDAYS)]

    def yaml(self) -> str:
        lines = ["# yaml-language-server: $schema=../../schemas/customer.schema.json",
                 f"customer: {self.id}",
                 f"name: {_q(self.name)}",
                 'version: "2026.1"',
                 "effective_from: 2026-01-01",
                 "plan:",
                 f"  id: {PLAN_ID}",
                 "  version: current",
                 "designated_contacts:"]
        for role, email in self.contacts:
            lines += [f"  - name: {_q(role + ' of ' + self.name)}", f"    role: {_q(role)}", f"    email: {email}"]
        if self.override_kind:
            lines.append("overrides:")
            if self.extra_holiday:
                day, name = self.extra_holiday
                lines += ["  schedule:", "    holidays:",
                          f"      add: [{{date: {day.isoformat()}, name: {_q(name)}}}]"]
            if self.rate != PLAN_RATE:
                lines += ["  after_hours:", f"    rate: {{amount: {_q(self.rate)}, currency: USD}}"]
            if self.emergency_hours != PLAN_EMERGENCY_HOURS:
                lines += ["  emergency_support:", f"    response_target: {{calendar_hours: {self.emergency_hours}}}"]
        return "\n".join(lines) + "\n"

    # -- the expected decisions --------------------------------------------------------------------

    def holiday(self, day: date) -> str | None:
        if self.extra_holiday and self.extra_holiday[0] == day:
            return self.extra_holiday[1]
        return PUBLIC_HOLIDAYS.get(day)

    def next_working_day(self, day: date) -> date:
        day += timedelta(days=1)
        while day.weekday() >= 5 or self.holiday(day):
            day += timedelta(days=1)
        return day

    def cases(self) -> list[dict]:
        """Three cases: (name, request, expect)."""
        def at(day: date, hour: int) -> datetime:
            return datetime(day.year, day.month, day.day, hour, tzinfo=CHICAGO_NOVEMBER)

        def four_business_hours_after_opening(day: date) -> str:  # 07:00 + 4 h, within one day's hours
            return at(self.next_working_day(day), 11).isoformat()

        contact = self.contacts[self.n % len(self.contacts)][1]
        contact = contact.upper() if self.n % 7 == 0 else contact  # e-mail addresses are compared without case
        evening = at(self.evening_day, 20)
        billed = {"name": f"{self.id}: a designated contact's evening usage call is billed at its rate",
                  "request": {"customer": self.id, "received_at": evening.isoformat(), "channel": "phone",
                              "category": "usage_question", "requester": {"email": contact}},
                  "expect": {"in_business_hours": False, "holiday": self.holiday(self.evening_day),
                             "designated_contact": True, "emergency_support": False,
                             "route": {"team": "emergency_on_call"}, "billable": True,
                             "hourly_rate": {"amount": self.rate, "currency": "USD"}, "notice_required": True,
                             "respond_by": four_business_hours_after_opening(self.evening_day)}}

        morning = at(self.email_day, 10)
        closed = self.holiday(self.email_day) is not None
        email = {"name": f"{self.id}: a resident's 10:00 e-mail is "
                         + ("closed on its extra holiday" if closed else "due four business hours later"),
                 "request": {"customer": self.id, "received_at": morning.isoformat(), "channel": "email",
                             "category": "usage_question", "requester": {"email": "resident@example.org"}},
                 "expect": {"in_business_hours": not closed, "holiday": self.holiday(self.email_day),
                            "designated_contact": False, "emergency_support": False, "route": {"team": "support"},
                            "billable": False, "hourly_rate": None, "notice_required": False,
                            "respond_by": (four_business_hours_after_opening(self.email_day) if closed
                                           else at(self.email_day, 14).isoformat())}}

        night = at(SATURDAY, 23)
        emergency = {"name": f"{self.id}: a designated contact's Saturday-night outage is emergency support",
                     "request": {"customer": self.id, "received_at": night.isoformat(), "channel": "email",
                                 "category": "website_down", "requester": {"email": self.contacts[0][1]}},
                     "expect": {"in_business_hours": False, "emergency": True, "designated_contact": True,
                                "emergency_support": True, "route": {"team": "emergency_on_call"},
                                "billable": False, "hourly_rate": None, "notice_required": False,
                                "respond_by": (night + timedelta(hours=self.emergency_hours)).isoformat(),
                                "trace": ["route-and-coverage/emergency-after-hours",
                                          "billing/emergency-support-is-free",
                                          "response-deadline/emergency-answered-within-the-hour",
                                          "escalation/by-category"]}}
        return [billed, email, emergency]


def _flow(value) -> str:
    """A value in YAML flow style (JSON, with plain keys)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return json.dumps(value)


def suite_yaml(number: int, customers: list[CustomerSpec]) -> str:
    lines = ["# yaml-language-server: $schema=../../schemas/suite.schema.json",
             f"suite: customers-{number:04d}",
             f"description: {_q(f'Three cases for each of {customers[0].id} to {customers[-1].id}.')}",
             "cases:"]
    for customer in customers:
        for case in customer.cases():
            lines += [f"  - name: {_q(case['name'])}",
                      f"    request: {_flow(case['request'])}",
                      "    expect:"]
            lines += [f"      {k}: {_flow(v)}" for k, v in case["expect"].items()]
    return "\n".join(lines) + "\n"


def generate(root: Path, count: int) -> dict:
    """Write the repository under ``root``; what it holds."""
    shipped_policies, shipped_rules = default_roots()
    policies, rules = root / "policies", root / "rules"
    (policies / "plans").mkdir(parents=True)
    shutil.copytree(shipped_policies / "plans", policies / "plans", dirs_exist_ok=True)
    shutil.copytree(shipped_rules, rules)
    shutil.copytree(shipped_policies.parent / "schemas", root / "schemas")
    (policies / "customers").mkdir()
    (policies / "tests").mkdir()
    customers = [CustomerSpec(n) for n in range(1, count + 1)]
    for customer in customers:
        (policies / "customers" / f"{customer.id}.yaml").write_text(customer.yaml(), encoding="utf-8")
    suites = 0
    for start in range(0, count, CUSTOMERS_PER_SUITE):
        suites += 1
        (policies / "tests" / f"customers-{suites:04d}.yaml").write_text(
            suite_yaml(suites, customers[start:start + CUSTOMERS_PER_SUITE]), encoding="utf-8")
    files = [p for p in root.rglob("*.yaml")]
    kinds = {}
    for customer in customers:
        if customer.override_kind:
            kinds[customer.override_kind] = kinds.get(customer.override_kind, 0) + 1
    return {"root": str(root), "policies": str(policies), "rules": str(rules),
            "files": len(files), "bytes": sum(p.stat().st_size for p in files),
            "customers": count, "with_overrides": sum(kinds.values()), "overrides": kinds,
            "contacts": sum(len(c.contacts) for c in customers),
            "suites": suites, "cases": 3 * count}


# -- timing ---------------------------------------------------------------------------------------

def _summary(samples: list[float]) -> dict:
    return {"median_s": statistics.median(samples), "min_s": min(samples), "max_s": max(samples),
            "runs_s": samples}


def cli(args: list, cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    env = dict(os.environ)
    env.pop("SUPPORTPOLICY_POLICIES", None)
    env.pop("SUPPORTPOLICY_RULES", None)
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "supportpolicy.server.cli", *args],
                               cwd=str(cwd), env=env, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=CLI_TIMEOUT_S)
    return time.perf_counter() - started, completed


def time_cli(name: str, args: list, cwd: Path, runs: int, problems: list) -> dict:
    samples = []
    for i in range(runs):
        log(f"cli: {name} (run {i + 1}/{runs}) ...")
        try:
            seconds, completed = cli(args, cwd)
        except subprocess.TimeoutExpired:
            problems.append(f"`{name}` did not finish within {CLI_TIMEOUT_S:g} s")
            return {"command": name, "exit_code": None, "timed_out": True, **_summary(samples or [CLI_TIMEOUT_S])}
        samples.append(seconds)
        if completed.returncode != 0:
            output = (completed.stdout + completed.stderr).decode(errors="replace").splitlines()
            problems.append(f"`{name}` exited with {completed.returncode}:\n    "
                            + "\n    ".join(output[:20]) + ("\n    ..." if len(output) > 20 else ""))
            return {"command": name, "exit_code": completed.returncode, **_summary(samples)}
    tail = (completed.stderr.strip() or completed.stdout.strip()).decode(errors="replace").splitlines()
    return {"command": name, "exit_code": 0, "says": tail[-1] if tail else "", **_summary(samples)}


def _load_suites(policies: Path, label):
    """What `test` reads: the suites in the policies' tests folders."""
    try:
        return load_suites([policies], label, tests=True)
    except TypeError:  # an engine from before suites lived only in tests folders
        return load_suites([policies], label)


def time_in_process(repo: dict, runs: int, problems: list) -> dict:
    """validate: tools.check.check; test: check_policy_set, then load_suites and run."""
    roots = (Path(repo["policies"]), Path(repo["rules"]))
    label = lambda root, path: os.path.normpath(path)  # noqa: E731 - as the CLI names files given as paths
    samples = {"check_policy_set_suites": [], "check_policy_set": [], "load_suites": [], "run": []}
    clock = time.perf_counter
    for i in range(runs):
        log(f"in-process: tools.check.check; check_policy_set + load_suites + run "
            f"(run {i + 1}/{runs}) ...")
        t0 = clock()
        policy_set, errors = check(roots, label)
        t1 = clock()
        if policy_set is None or errors:
            problems.append(f"check_policy_set reported {len(errors)} problem(s) on the generated repository:\n    "
                            + "\n    ".join(map(str, errors[:20])))
            return {"check_policy_set_suites": _summary([t1 - t0])}
        samples["check_policy_set_suites"].append(t1 - t0)
        del policy_set, errors
        t1 = clock()
        policy_set, errors = check_policy_set(roots, label)
        t2 = clock()
        suites, errored = _load_suites(roots[0], label)
        t3 = clock()
        result = run(policy_set, suites, errored)
        t4 = clock()
        samples["check_policy_set"].append(t2 - t1)
        samples["load_suites"].append(t3 - t2)
        samples["run"].append(t4 - t3)
    counts = result.counts
    if counts["failed"] or counts["errored"]:
        failed = [f"{c.case.id}: " + "; ".join(f"{m.field} expected {m.expected!r}, got {m.actual!r}"
                                               for m in c.mismatches)
                  for s in result.suites for c in s.cases if c.status == "failed"]
        problems.append(f"the generated suites: {counts['failed']} case(s) failed, {counts['errored']} suite(s) "
                        "errored:\n    " + "\n    ".join(failed[:10] + [str(e) for s in result.suites
                                                                          for e in s.errors][:10]))
    report = {name: _summary(values) for name, values in samples.items()}
    report.update({"cases": sum(len(s.cases) for s in result.suites), "counts": counts,
                   "coverage_percent": float(result.coverage.ratio * 100),
                   "customers_loaded": len(policy_set.customers), "files_in_set": len(policy_set.files)})
    return report


def profile(repo: dict, top: int) -> dict:
    roots = (Path(repo["policies"]), Path(repo["rules"]))
    label = lambda root, path: os.path.normpath(path)  # noqa: E731
    check(roots, label)  # warm the caches, as in every in-process run after the first
    log("profile: cProfile over one tools.check.check ...")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    check(roots, label)
    profiler.disable()
    wall = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    root_dir = str(Path(engine.__file__).resolve().parent.parent) + os.sep

    def where(func) -> str:
        file, line, name = func
        if file.startswith(root_dir):
            file = file[len(root_dir):]
        elif "site-packages" in file:
            file = file.split("site-packages" + os.sep, 1)[1]
        return f"{file}:{line}({name})" if line else name

    rows = [{"function": where(func), "calls": nc, "tottime_s": tt, "cumtime_s": ct}
            for func, (cc, nc, tt, ct, callers) in stats.stats.items()]
    by_cum = sorted(rows, key=lambda r: -r["cumtime_s"])[:top]
    by_tot = sorted(rows, key=lambda r: -r["tottime_s"])[:top]
    cumulative = {}
    for (file, line, name), (cc, nc, tt, ct, callers) in stats.stats.items():
        for stage, (suffix, function) in STAGES.items():
            if name == function and file.replace(os.sep, "/").endswith(suffix):
                calls, seconds = cumulative.get(stage, (0, 0.0))
                cumulative[stage] = (calls + cc, seconds + ct)  # primitive calls: a recursion counts once
    total = max((r["cumtime_s"] for r in rows), default=0.0) or 1.0
    stages = [{"stage": stage, "calls": cumulative[stage][0], "cumtime_s": cumulative[stage][1],
               "percent": 100 * cumulative[stage][1] / total} for stage in STAGES if stage in cumulative]
    return {"wall_s": wall, "stages": stages, "by_cumulative": by_cum, "by_own_time": by_tot}


# Where tools.check.check spends its time, stage by stage (cumulative, so stages nest).
STAGES = {
    "read_documents (find, read, parse, hash)": ("engine/load.py", "read_documents"),
    "  yamlsource.parse": ("engine/yamlsource.py", "parse"),
    "    _too_deep (a first full YAML parse)": ("engine/yamlsource.py", "_too_deep"),
    "    yaml.compose_all (the second)": ("yaml/__init__.py", "compose_all"),
    "    _Builder.build (values + positions)": ("engine/yamlsource.py", "build"),
    "  hashlib sha256": ("~", "<built-in method _hashlib.openssl_sha256>"),
    "schema_errors (jsonschema, every file)": ("engine/validate.py", "schema_errors"),
    "check_dates": ("engine/validate.py", "check_dates"),
    "build_customer": ("engine/validate.py", "build_customer"),
    "customer_terms (overrides merged, checked)": ("engine/validate.py", "customer_terms"),
    "build_ruleset": ("engine/validate.py", "build_ruleset"),
    "analyse": ("engine/analysis.py", "analyse"),
    "compile rules (durable-rules)": ("engine/evaluate.py", "for_definition"),
    "load_suites (suites in tests/)": ("engine/suites.py", "load_suites"),
    "  suite_problems (suite schema)": ("engine/suites.py", "suite_problems"),
    "  _suite (cases built)": ("engine/suites.py", "_suite"),
}


# -- report ---------------------------------------------------------------------------------------

def _mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def _s(summary: dict | None) -> str:
    if not summary:
        return f"{'n/a':>8} {'':>17}"
    return f"{summary['median_s']:>7.2f}s  ({summary['min_s']:.2f}-{summary['max_s']:.2f})"


def render(report: dict) -> str:
    env, repo, c, p = report["environment"], report["repository"], report["cli"], report["in_process"]
    overrides = ", ".join(f"{k} {v}" for k, v in sorted(repo["overrides"].items()))
    lines = [f"supportpolicy policy-repository benchmark: Python {env['python']}, {env['cpus']} CPUs, "
             f"median of {report['runs']} run(s) (min-max)",
             f"  repository  {repo['files']:,} YAML files ({repo['bytes'] / 1024:,.0f} KiB): "
             f"{repo['customers']:,} customers ({repo['contacts']:,} designated contacts; "
             f"{repo['with_overrides']} with overrides: {overrides}),",
             f"              1 plan, {len(list(Path(default_roots()[1]).glob('*.yaml')))} rule sets, "
             f"{repo['suites']} suites with {repo['cases']:,} cases"
             + (f"; kept in {repo['root']}" if report["kept"] else ""),
             "",
             f"  {'':46} {'median':>8}  (min-max)",
             f"  {'CLI start-up (--help)':46} {_s(c['help'])}",
             f"  {'CLI validate POLICIES RULES':46} {_s(c['validate'])}   {c['validate'].get('says', '')}",
             f"  {'CLI test --policies --rules':46} {_s(c['test'])}   {c['test'].get('says', '')}",
             f"  {'in-process validate: check_policy_set(suites)':46} {_s(p.get('check_policy_set_suites'))}",
             f"  {'in-process test: check_policy_set':46} {_s(p.get('check_policy_set'))}",
             f"  {'               + load_suites':46} {_s(p.get('load_suites'))}",
             f"  {'               + run (decide every case)':46} {_s(p.get('run'))}"]
    if p.get("cases"):
        per_case = p["run"]["median_s"] / p["cases"] * 1e6
        per_file = p["check_policy_set_suites"]["median_s"] / repo["files"] * 1e3
        lines.append(f"  {'':46} {p['counts']['passed']:,} passed, {p['counts']['failed']} failed, "
                     f"{per_case:.0f} us/case; check {per_file:.2f} ms/file; "
                     f"rule coverage {p['coverage_percent']:.0f}%")
    validate = c["validate"]
    met = validate.get("exit_code") == 0 and validate["median_s"] < TARGET_VALIDATE_S
    lines += ["",
              f"  target: CLI validate under {TARGET_VALIDATE_S:g} s for {repo['customers']:,} customers: "
              f"{validate['median_s']:.2f} s  {_mark(met)}"]
    if report["problems"]:
        lines += ["", "  PROBLEMS:"] + [f"  - {problem}" for problem in report["problems"]]
    prof = report.get("profile")
    if prof:
        lines += ["", f"  profile: one warm tools.check.check, {prof['wall_s']:.2f} s under cProfile",
                  f"  {'cumulative':>10} {'share':>6} {'calls':>9}  stage"]
        for r in prof["stages"]:
            lines.append(f"  {r['cumtime_s']:>9.2f}s {r['percent']:>5.0f}% {r['calls']:>9,}  {r['stage']}")
        lines += ["", f"  {'cumulative':>10} {'own':>8} {'calls':>9}  function"]
        for r in prof["by_cumulative"]:
            lines.append(f"  {r['cumtime_s']:>9.2f}s {r['tottime_s']:>7.2f}s {r['calls']:>9,}  {r['function']}")
        lines += ["", f"  {'own time':>10} {'cum':>8} {'calls':>9}  function"]
        for r in prof["by_own_time"]:
            lines.append(f"  {r['tottime_s']:>9.2f}s {r['cumtime_s']:>7.2f}s {r['calls']:>9,}  {r['function']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark supportpolicy validate and test on a large "
                                                 "generated policy repository.")
    parser.add_argument("--customers", type=int, default=1000,
                        help=f"customer contracts to generate [1000] (1 to {MAX_CUSTOMERS:,})")
    parser.add_argument("--runs", type=int, default=3, help=f"timed runs of each measure [3] (1 to {MAX_RUNS})")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", metavar="DIR", type=Path,
                        help="generate the repository in DIR (new or empty) and leave it there")
    parser.add_argument("--profile", nargs="?", type=int, const=25, default=0, metavar="N",
                        help="also profile one check_policy_set and list its N costliest functions [25]")
    args = parser.parse_args(argv)
    if not 1 <= args.customers <= MAX_CUSTOMERS:
        parser.error(f"--customers must be between 1 and {MAX_CUSTOMERS:,}")
    if not 1 <= args.runs <= MAX_RUNS:
        parser.error(f"--runs must be between 1 and {MAX_RUNS}")
    if args.keep is not None and args.keep.exists() and (not args.keep.is_dir() or any(args.keep.iterdir())):
        parser.error(f"--keep {args.keep}: give a new or empty folder")
    top = min(max(args.profile, 0), 200)

    scratch = None
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        root = args.keep.resolve()
    else:
        scratch = tempfile.TemporaryDirectory(prefix="supportpolicy-bench-policies-")
        root = Path(scratch.name)
    try:
        log(f"generating {args.customers:,} customers in {root} ...")
        started = time.perf_counter()
        repo = generate(root, args.customers)
        log(f"generated {repo['files']:,} files in {time.perf_counter() - started:.1f} s")
        problems: list[str] = []
        policies, rules = repo["policies"], repo["rules"]
        report = {
            "environment": {"python": platform.python_version(), "cpus": os.cpu_count(),
                            "engine": str(Path(engine.__file__).resolve().parent)},
            "runs": args.runs, "kept": args.keep is not None, "repository": repo,
            "targets": {"validate_s": TARGET_VALIDATE_S},
        }
        report["cli"] = {
            "help": time_cli("--help", ["--help"], root, args.runs, problems),
            "validate": time_cli("validate", ["validate", policies, rules], root, args.runs, problems),
            "test": time_cli("test", ["test", "--policies", policies, "--rules", rules], root, args.runs, problems),
        }
        report["in_process"] = time_in_process(repo, args.runs, problems)
        if top:
            report["profile"] = profile(repo, top)
        validate = report["cli"]["validate"]
        report["target_met"] = validate.get("exit_code") == 0 and validate["median_s"] < TARGET_VALIDATE_S
        report["problems"] = problems
    finally:
        if scratch is not None:
            scratch.cleanup()
    print(json.dumps(report, indent=2, default=str) if args.json else render(report))
    return 1 if problems else 0


if __name__ == "__main__":
    common.run(main)
