"""Reloading the policy set while the server decides: only whole, valid sets are put in force.

In process: an app over an engine.live.LivePolicy reading a scratch copy of
the shipped policies and rules, reloaded with POST /v1/admin/reload. Under
gunicorn: ``supportpolicy serve --workers 2`` over a scratch copy, reloaded
by its file watcher, by SIGHUP to the master and by POST /v1/admin/reload.

Each edit here is a text substitution on the shipped files, checked to have
happened; the place an error must be reported at (file and line) is computed
from the edited text, never written as a number. The digest a set must be
decided with is computed here from the files' bytes, as ``sha256sum`` lists
them (``<sha256>  <path>``, sorted by path), hashed again.
"""
from __future__ import annotations

import gc
import hashlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil
import pytest

from supportpolicy.engine.decide.durable import CompiledRules
from supportpolicy.engine.resources import shipped
from supportpolicy.server import create_app
from supportpolicy.server.live import LivePolicy

from support import DESIGNATED, command, free_port, make_request

PLAN = "policies/plans/central-standard/2026.1.yaml"
CUSTOMER = "policies/customers/demo-city.yaml"
BILLING = "rules/billing.yaml"
ESCALATION = "rules/escalation.yaml"

SHIPPED_RATE = "200.00"
SHIPPED_RULE = "after-hours-work-is-charged"
RATE_LINE = 'rate: {amount: "200.00", currency: USD}'
RULE_LINE = f"id: {SHIPPED_RULE}"

# Saturday night from a designated contact: billed at the plan's after-hours rate by the billing rule.
SATURDAY_NIGHT = make_request("2026-11-28T23:00:00-06:00", email=DESIGNATED, ticket_id="T-night")
# Friday morning, in support hours: never billed.
FRIDAY_MORNING = make_request("2026-11-27T10:00:00-06:00", email=DESIGNATED, ticket_id="T-day")

WAIT = 30  # seconds: the bound on every wait for a server


# ---- a scratch policy tree and edits to it -------------------------------------------

@dataclass(frozen=True)
class Mistake:
    kind: str
    file: str        # relative to the tree, e.g. policies/plans/...
    code: str
    line: int | None  # None: reported on the `decides:` line of a remaining rule set (file is removed)


@dataclass(frozen=True)
class Good:
    digest: str
    rate: str
    rule: str


MISTAKES = ("yaml_syntax", "unknown_time_zone", "unknown_fact", "missing_decision")


def _replace_once(text: str, old: str, new: str, what: str) -> str:
    assert text.count(old) == 1, f"the shipped {what} no longer holds {old!r} exactly once; update this test"
    return text.replace(old, new)


def _line_of(text: str, needle: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]


class Tree:
    """A copy of the shipped central-standard contract (policies/ and rules/ without the policy tests and the
    premium plan, and without the ticketing integrations, which map to premium words) under ``root``: every
    file takes part in every decision, so a decision carries the set's digest."""

    def __init__(self, root: Path):
        self.root = root
        self.policies, self.rules = root / "policies", root / "rules"
        apart = shutil.ignore_patterns("tests", "premium-24x7", "harbor-county.yaml", "premium", "integrations")
        shutil.copytree(shipped("policies"), self.policies, ignore=apart)
        shutil.copytree(shipped("rules"), self.rules, ignore=apart)
        self.base = {rel: (root / rel).read_text(encoding="utf-8") for rel in self.files()}
        assert {PLAN, CUSTOMER, BILLING, ESCALATION} <= set(self.base), sorted(self.base)

    def files(self) -> list[str]:
        found = [p for folder in (self.policies, self.rules) for p in folder.rglob("*")
                 if p.is_file() and p.suffix in (".yaml", ".yml")]
        return sorted(p.relative_to(self.root).as_posix() for p in found)

    def label(self, rel: str) -> str:
        """How a file is named: overridden for servers given absolute folders."""
        return rel

    def digest(self) -> str:
        """The policy set digest of the files now on disk."""
        listing = "".join(f"{hashlib.sha256((self.root / rel).read_bytes()).hexdigest()}  {name}\n"
                          for name, rel in sorted((self.label(rel), rel) for rel in self.files()))
        return "sha256:" + hashlib.sha256(listing.encode()).hexdigest()

    def _texts(self, rate: str, rule: str) -> dict:
        texts = dict(self.base)
        texts[PLAN] = _replace_once(texts[PLAN], RATE_LINE, RATE_LINE.replace(SHIPPED_RATE, rate), PLAN)
        texts[BILLING] = _replace_once(texts[BILLING], RULE_LINE, f"id: {rule}", BILLING)
        return texts

    def _write(self, texts: dict) -> None:
        """Write the files that differ from ``texts`` (None: delete), each in one write."""
        for rel, text in texts.items():
            path = self.root / rel
            if text is None:
                if path.exists():
                    path.unlink()
            elif not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")

    def good(self, rate: str = SHIPPED_RATE, rule: str = SHIPPED_RULE) -> Good:
        """Put a valid set on disk: the shipped one with this after-hours rate and billing rule id."""
        self._write(self._texts(rate, rule))
        return Good(self.digest(), rate, f"billing/{rule}")

    def broken(self, kind: str, rate: str = SHIPPED_RATE, rule: str = SHIPPED_RULE) -> Mistake:
        """Put an invalid set on disk: ``good(rate, rule)`` with one mistake of ``kind``."""
        texts = self._texts(rate, rule)
        if kind == "yaml_syntax":  # a mapping key indented one space too little
            texts[PLAN] = _replace_once(texts[PLAN], "\n    tuesday:", "\n   tuesday:", PLAN)
            mistake = Mistake(kind, PLAN, "yaml_syntax", _line_of(texts[PLAN], "   tuesday:"))
        elif kind == "unknown_time_zone":
            texts[PLAN] = _replace_once(texts[PLAN], "time_zone: America/Chicago", "time_zone: America/Chikago",
                                        PLAN)
            mistake = Mistake(kind, PLAN, "unknown_time_zone", _line_of(texts[PLAN], "America/Chikago"))
        elif kind == "unknown_fact":
            texts[BILLING] = _replace_once(texts[BILLING], "when: {designated_contact: true}",
                                           "when: {is_vip: true}", BILLING)
            mistake = Mistake(kind, BILLING, "unknown_fact", _line_of(texts[BILLING], "is_vip"))
        elif kind == "missing_decision":  # a whole rule set removed: nothing decides the escalation
            texts[ESCALATION] = None
            mistake = Mistake(kind, ESCALATION, "missing_decision", None)
        else:
            raise ValueError(kind)
        self._write(texts)
        return mistake

    def where(self, name: str) -> Path | None:
        """The file on disk a reported file name stands for."""
        return next((self.root / rel for rel in self.files() if self.label(rel) == name), None)


def reported(errors: list, mistake: Mistake, tree: Tree) -> bool:
    """Whether ``errors`` (as_dict documents) report ``mistake`` as an error at its file and line."""
    for error in errors:
        if error.get("code") != mistake.code or error.get("severity") != "error":
            continue
        if mistake.line is not None:
            if error["file"] == tree.label(mistake.file) and error["line"] == mistake.line:
                return True
            continue
        # Nothing decides the escalation: reported on the `decides:` line of a remaining rule set.
        path = tree.where(error["file"])
        if path is None or not path.is_relative_to(tree.rules) or "escalation" not in error["message"]:
            continue
        if path.read_text(encoding="utf-8").splitlines()[error["line"] - 1].startswith("decides:"):
            return True
    return False


def show(errors: list) -> str:
    return "\n".join(f"{e.get('file')}:{e.get('line')}: {e.get('code')}: {e.get('message')}" for e in errors)


def check_decision(decision: dict, expected: dict, night: bool) -> str | None:
    """None when ``decision`` was decided with one of the ``expected`` sets (digest -> Good) as that set
    decides it; otherwise what is wrong."""
    digest = decision.get("policy", {}).get("digest")
    good = expected.get(digest)
    if good is None:
        return f"decided with {digest}, which is none of the valid sets put on disk"
    if night:
        rules = [t["rule"] for t in decision["trace"]]
        if decision["billable"] is not True or decision["hourly_rate"] != {"amount": good.rate, "currency": "USD"} \
                or good.rule not in rules:
            return (f"set {digest} bills Saturday night at {good.rate} by {good.rule}; the decision says "
                    f"billable={decision['billable']} rate={decision['hourly_rate']} rules={rules}")
    elif decision["billable"] is not False or decision["hourly_rate"] is not None:
        return f"set {digest} never bills support hours; the decision says {decision['billable']} {decision['hourly_rate']}"
    return None


# ---- in process: an app over a LivePolicy ------------------------------------------------

@pytest.fixture()
def tree(tmp_path) -> Tree:
    return Tree(tmp_path)


@pytest.fixture()
def client(tree):
    """A test client of an app deciding with, and reloading, the scratch copy (no decision log)."""
    live = LivePolicy((tree.policies, tree.rules))
    app = create_app({"LIVE": live, "DECISION_LOG": None, "TESTING": True})
    return app.test_client()


def post_decision(client, body: dict) -> dict:
    response = client.post("/v1/decisions", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def assert_decides_with(client, good: Good) -> None:
    for body, night in ((SATURDAY_NIGHT, True), (FRIDAY_MORNING, False)):
        problem = check_decision(post_decision(client, body), {good.digest: good}, night)
        assert problem is None, problem


def sha256_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_scratch_copy_is_served_with_the_digest_computed_here(tree, client):
    status = client.get("/v1/status").get_json()
    assert status["active"]["digest"] == tree.digest()
    assert status["last_attempt"]["ok"] is True and status["last_attempt"]["reason"] == "start"
    assert_decides_with(client, Good(tree.digest(), SHIPPED_RATE, f"billing/{SHIPPED_RULE}"))


def test_a_valid_change_takes_effect_after_reload(tree, client):
    start = Good(tree.digest(), SHIPPED_RATE, f"billing/{SHIPPED_RULE}")
    before = client.get("/v1/status").get_json()

    changed = tree.good(rate="245.00")
    assert changed.digest != start.digest
    assert_decides_with(client, start)  # editing the files alone changes nothing

    response = client.post("/v1/admin/reload")
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["reloaded"] is True and answer["digest"] == changed.digest
    assert answer["status"]["active"]["digest"] == changed.digest
    assert_decides_with(client, changed)

    status = client.get("/v1/status").get_json()
    active = status["active"]
    assert active["digest"] == changed.digest
    assert datetime.fromisoformat(active["loaded_at"]) > datetime.fromisoformat(before["active"]["loaded_at"])
    files = {f["path"]: f for f in active["files"]}
    assert set(files) == {tree.label(rel) for rel in tree.files()}
    assert files[PLAN]["digest"] == sha256_of(tree.root / PLAN) != \
        {f["path"]: f for f in before["active"]["files"]}[PLAN]["digest"]
    assert files[BILLING]["digest"] == sha256_of(tree.root / BILLING)
    attempt = status["last_attempt"]
    assert attempt["ok"] is True and attempt["digest"] == changed.digest
    assert attempt["reason"] == "POST /v1/admin/reload"
    assert [e for e in attempt["errors"] if e["severity"] == "error"] == []
    assert client.get("/healthz").get_json()["policy_digest"] == changed.digest
    assert client.get("/v1/policies").get_json()["digest"] == changed.digest

    # A rule changes too: the new rule id decides.
    renamed = tree.good(rate="245.00", rule="after-hours-work-is-billed")
    response = client.post("/v1/admin/reload")
    assert response.status_code == 200 and response.get_json()["digest"] == renamed.digest
    assert_decides_with(client, renamed)


@pytest.mark.parametrize("kind", MISTAKES)
def test_an_invalid_change_is_refused_and_the_last_good_set_stays(tree, client, kind):
    last_good = tree.good(rate="230.00")
    assert client.post("/v1/admin/reload").status_code == 200
    assert_decides_with(client, last_good)

    mistake = tree.broken(kind, rate="230.00")
    response = client.post("/v1/admin/reload")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "/problems/invalid-policy-set" and problem["status"] == 422
    assert problem["errors"], problem
    for error in problem["errors"]:
        assert isinstance(error["file"], str) and error["file"]
        assert isinstance(error["line"], int) and error["line"] >= 1
    assert reported(problem["errors"], mistake, tree), \
        f"expected {mistake} in the problem's errors:\n{show(problem['errors'])}"

    assert_decides_with(client, last_good)
    status = client.get("/v1/status").get_json()
    assert status["active"]["digest"] == last_good.digest
    attempt = status["last_attempt"]
    assert attempt["ok"] is False and attempt["digest"] is None
    assert attempt["reason"] == "POST /v1/admin/reload"
    assert reported(attempt["errors"], mistake, tree), f"expected {mistake} in:\n{show(attempt['errors'])}"
    assert client.get("/healthz").get_json()["policy_digest"] == last_good.digest

    # Fixing the files and reloading again puts the fixed set in force.
    fixed = tree.good(rate="235.00")
    response = client.post("/v1/admin/reload")
    assert response.status_code == 200 and response.get_json()["digest"] == fixed.digest
    assert_decides_with(client, fixed)
    assert client.get("/v1/status").get_json()["last_attempt"]["ok"] is True


@pytest.mark.parametrize("valid_change,mistake_kind", [
    ({"rate": "250.00"}, "unknown_fact"),                             # plan valid, rules wrong
    ({"rule": "after-hours-work-is-billed"}, "unknown_time_zone"),    # rules valid, plan wrong
], ids=["valid-plan-broken-rules", "valid-rules-broken-plan"])
def test_a_set_is_never_applied_partly(tree, client, valid_change, mistake_kind):
    start = Good(tree.digest(), SHIPPED_RATE, f"billing/{SHIPPED_RULE}")
    plan_digest, billing_digest = sha256_of(tree.root / PLAN), sha256_of(tree.root / BILLING)

    mistake = tree.broken(mistake_kind, **valid_change)
    assert sha256_of(tree.root / PLAN) != plan_digest and sha256_of(tree.root / BILLING) != billing_digest
    response = client.post("/v1/admin/reload")
    assert response.status_code == 422, response.get_data(as_text=True)
    errors = response.get_json()["errors"]
    assert reported(errors, mistake, tree), f"expected {mistake} in:\n{show(errors)}"
    assert {e["file"] for e in errors if e["severity"] == "error"} == {tree.label(mistake.file)}, show(errors)

    # Nothing of the valid file applies: the old rate, the old rule, the old files.
    assert_decides_with(client, start)
    active = client.get("/v1/status").get_json()["active"]
    assert active["digest"] == start.digest
    files = {f["path"]: f["digest"] for f in active["files"]}
    assert files[PLAN] == plan_digest and files[BILLING] == billing_digest


RELOADS = 200
THREADS = 4
MAX_RSS_GROWTH = 8 * 1024 * 1024  # bytes, over RELOADS - WARM_UP reloads (about 1.5 MB when nothing leaks)
WARM_UP = 20


def test_alternating_good_and_broken_reloads_under_load_fail_no_request_and_release_rulesets(tree):
    """Every good set here has its own billing rule id, so its own durable-rules ruleset: if rulesets
    were not released with their last policy set, CompiledRules.registered() would grow by one per
    good reload."""
    gc.collect()
    registered_before = CompiledRules.registered()
    live = LivePolicy((tree.policies, tree.rules))
    app = create_app({"LIVE": live, "DECISION_LOG": None, "TESTING": True})
    admin = app.test_client()
    start = Good(tree.digest(), SHIPPED_RATE, f"billing/{SHIPPED_RULE}")
    expected = {start.digest: start}  # every valid set put on disk, by digest

    stop = threading.Event()
    failures: list[str] = []
    decided = [0] * THREADS
    seen: set = set()

    def send(n: int) -> None:
        client = app.test_client()
        deadline = time.monotonic() + 60
        night = n % 2 == 0
        while not stop.is_set() and time.monotonic() < deadline and decided[n] < 50_000:
            night = not night
            try:
                response = client.post("/v1/decisions", json=SATURDAY_NIGHT if night else FRIDAY_MORNING)
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.get_data(as_text=True)}")
                    continue
                decision = response.get_json()
                problem = check_decision(decision, expected, night)
                if problem:
                    failures.append(problem)
                seen.add(decision["policy"]["digest"])
                decided[n] += 1
            except Exception as exc:  # noqa: BLE001 - any failure counts, and is reported
                failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=send, args=(n,), daemon=True) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    process = psutil.Process()
    most_registered = 0
    rss_after_warm_up = None
    refused = 0
    try:
        for i in range(RELOADS):
            k = i // 2
            rate, rule = f"{201 + k % 97}.00", f"{SHIPPED_RULE}-{k}"
            if i % 2 == 0:
                good = tree.good(rate, rule)
                expected[good.digest] = good
                response = admin.post("/v1/admin/reload")
                assert response.status_code == 200, response.get_data(as_text=True)
                assert response.get_json()["digest"] == good.digest
            else:
                mistake = tree.broken(MISTAKES[k % len(MISTAKES)], rate, rule)
                response = admin.post("/v1/admin/reload")
                assert response.status_code == 422, response.get_data(as_text=True)
                errors = response.get_json()["errors"]
                assert reported(errors, mistake, tree), f"expected {mistake} in:\n{show(errors)}"
                refused += 1
            most_registered = max(most_registered, CompiledRules.registered())
            if i + 1 == WARM_UP:
                gc.collect()
                rss_after_warm_up = process.memory_info().rss
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a client thread did not stop within 30 s"

    assert not failures, f"{len(failures)} of {sum(decided) + len(failures)} requests failed, e.g.:\n" + \
        "\n".join(failures[:10])
    assert refused == RELOADS // 2
    assert sum(decided) >= 4 * THREADS and all(decided), f"decisions per thread: {decided}"
    assert len(seen) >= 5, f"decisions saw only {len(seen)} policy sets: the reloads did not overlap them"
    assert live.current.digest == good.digest  # the last good one (the last reload was refused)

    # Sets in force at once: the current one, one per client thread in flight, one candidate.
    bound = registered_before + 1 + THREADS + 2
    assert most_registered <= bound, \
        f"{most_registered} durable-rules rulesets were registered at once over {RELOADS} reloads " \
        f"({registered_before} before): rulesets of replaced policy sets are not released"
    gc.collect()
    assert CompiledRules.registered() <= registered_before + 1, \
        f"{CompiledRules.registered()} rulesets are registered after the reloads ({registered_before} before)"
    rss = process.memory_info().rss
    assert rss - rss_after_warm_up < MAX_RSS_GROWTH, \
        f"RSS grew by {(rss - rss_after_warm_up) / 2**20:.1f} MB over {RELOADS - WARM_UP} reloads"
    print(f"{sum(decided)} decisions over {RELOADS} reloads; at most {most_registered} rulesets registered; "
          f"RSS {rss_after_warm_up / 2**20:.1f} -> {rss / 2**20:.1f} MB")


FLAT_RELOADS = 250


@pytest.mark.parametrize("rules_change", [False, True], ids=["plan-edits", "rule-edits"])
def test_memory_stays_flat_over_many_reloads(tree, rules_change):
    """One thread, one decision with each set. With plan edits only, every set shares one durable-rules
    ruleset (never deleted): this measures loading and swapping alone. With rule edits, each set has its
    own ruleset, deleted when the set is replaced."""
    live = LivePolicy((tree.policies, tree.rules))
    process = psutil.Process()
    rss_after_warm_up = None
    for i in range(FLAT_RELOADS):
        good = tree.good(f"{201 + i % 97}.00", f"{SHIPPED_RULE}-{i}" if rules_change else SHIPPED_RULE)
        attempt = live.reload("test")
        assert attempt.ok and live.current.digest == good.digest
        problem = check_decision(live.current.decide(SATURDAY_NIGHT).as_json(), {good.digest: good}, True)
        assert problem is None, problem
        if i + 1 == WARM_UP:
            gc.collect()
            rss_after_warm_up = process.memory_info().rss
    gc.collect()
    growth = process.memory_info().rss - rss_after_warm_up
    assert growth < MAX_RSS_GROWTH, \
        f"RSS grew by {growth / 2**20:.1f} MB over {FLAT_RELOADS - WARM_UP} reloads " \
        f"({growth / (FLAT_RELOADS - WARM_UP) / 1024:.0f} KB a reload)"


# ---- under gunicorn: supportpolicy serve --workers 2 ------------------------------------------

WORKERS = 2


class ServedTree(Tree):
    """A tree served with absolute --policies and --rules: files are named by their absolute paths."""

    def label(self, rel: str) -> str:
        return os.path.normpath(self.root / rel)


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    tree: ServedTree
    log: Path

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 10) -> tuple[int, dict]:
        """One request on its own connection (``Connection: close``), so any worker may answer the next."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Connection": "close"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()

    def workers(self) -> set[int]:
        try:
            return {child.pid for child in psutil.Process(self.process.pid).children()}
        except psutil.NoSuchProcess:
            return set()

    def alive(self) -> None:
        assert self.process.poll() is None, \
            f"serve exited with {self.process.returncode}:\n{self.log.read_text(errors='replace')}"

    def wait_for_workers(self, condition, what: str, timeout: float = WAIT) -> dict:
        """Ask GET /v1/status until each of the master's current workers has answered with a status
        for which ``condition`` holds; their statuses, by pid."""
        deadline = time.monotonic() + timeout
        latest: dict = {}
        current: set = set()
        while time.monotonic() < deadline:
            self.alive()
            status, document = self.call("GET", "/v1/status")
            assert status == 200, document
            latest[document["pid"]] = document
            current = self.workers()
            if len(current) == WORKERS and all(pid in latest and condition(latest[pid]) for pid in current):
                return {pid: latest[pid] for pid in current}
            time.sleep(0.02)
        summary = {pid: (latest[pid]["active"]["digest"], latest[pid]["last_attempt"]["ok"]) if pid in latest
                   else "never answered" for pid in current}
        pytest.fail(f"not every worker {what} within {timeout} s; workers now: {summary}\n"
                    f"server log:\n{self.log.read_text(errors='replace')[-3000:]}")

    def decide_all(self, good: Good, count: int = 10) -> None:
        for n in range(count):
            night = n % 2 == 0
            status, decision = self.call("POST", "/v1/decisions", SATURDAY_NIGHT if night else FRIDAY_MORNING)
            assert status == 200, decision
            problem = check_decision(decision, {good.digest: good}, night)
            assert problem is None, problem


@contextmanager
def serving(tmp_path: Path, *options: str):
    tree = ServedTree(tmp_path / "tree")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    port = free_port()
    argv, env = command()
    env["HOME"] = str(tmp_path)  # anything gunicorn keeps in the home folder stays in this test's folder
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv + ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
                    "--policies", str(tree.policies), "--rules", str(tree.rules), "--no-decision-log", *options],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(process, port, tree, log)
    try:
        deadline = time.monotonic() + WAIT
        while True:
            server.alive()
            try:
                if server.call("GET", "/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"GET /healthz did not answer within {WAIT} s:\n{log.read_text()}"
            time.sleep(0.1)
        yield server
        server.alive()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the workers too, whatever happened to the master
        except ProcessLookupError:
            pass
        if process.poll() is None:
            process.wait(timeout=10)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "[CRITICAL]" not in text, f"the server log shows a failure:\n{text}"


def the_shipped(tree: Tree) -> Good:
    return Good(tree.digest(), SHIPPED_RATE, f"billing/{SHIPPED_RULE}")


def on(digest: str):
    return lambda status: status["active"]["digest"] == digest


def test_serve_follows_an_edited_plan_in_every_worker(tmp_path):
    with serving(tmp_path) as server:
        start = the_shipped(server.tree)
        server.wait_for_workers(on(start.digest), "decided with the shipped copy")
        server.decide_all(start)

        edited = server.tree.good(rate="275.00")
        began = time.monotonic()
        statuses = server.wait_for_workers(on(edited.digest), "moved to the edited plan")
        took = time.monotonic() - began
        assert took < 10, f"the workers took {took:.1f} s to move to the edited plan"
        for status in statuses.values():
            assert status["last_attempt"]["ok"] is True and status["last_attempt"]["digest"] == edited.digest
            assert {f["path"]: f["digest"] for f in status["active"]["files"]}[server.tree.label(PLAN)] \
                == sha256_of(server.tree.root / PLAN)
        server.decide_all(edited, 20)


def test_serve_refuses_a_broken_edit_and_keeps_deciding_with_the_last_good_set(tmp_path):
    with serving(tmp_path) as server:
        good = server.tree.good(rate="280.00")
        server.wait_for_workers(on(good.digest), "moved to the first edit")
        for kind in ("yaml_syntax", "missing_decision"):
            mistake = server.tree.broken(kind, rate="280.00")
            statuses = server.wait_for_workers(
                lambda s: s["last_attempt"]["ok"] is False and reported(s["last_attempt"]["errors"], mistake,
                                                                        server.tree),
                f"reported the refused {kind} edit")
            for status in statuses.values():
                assert status["active"]["digest"] == good.digest, status["active"]
            server.decide_all(good, 20)
        fixed = server.tree.good(rate="285.00")
        server.wait_for_workers(on(fixed.digest), "moved to the fixed files")
        server.decide_all(fixed)


def test_serve_without_the_watcher_reloads_on_sighup(tmp_path):
    with serving(tmp_path, "--no-watch") as server:
        start = the_shipped(server.tree)
        server.wait_for_workers(on(start.digest), "decided with the shipped copy")
        edited = server.tree.good(rate="260.00", rule="after-hours-work-is-billed")
        time.sleep(2)  # four times the watcher's debounce: with --no-watch nothing may move
        for _ in range(20):
            status, document = server.call("GET", "/v1/status")
            assert status == 200 and document["active"]["digest"] == start.digest, document["active"]
            assert document["last_attempt"]["reason"] == "start"
        server.decide_all(start)

        os.kill(server.process.pid, signal.SIGHUP)
        statuses = server.wait_for_workers(on(edited.digest), "moved to the edit after SIGHUP")
        assert all(s["last_attempt"]["reason"] == "SIGHUP" for s in statuses.values())
        server.decide_all(edited, 20)


def test_serve_admin_reload_moves_every_worker(tmp_path):
    with serving(tmp_path, "--no-watch") as server:
        start = the_shipped(server.tree)
        server.wait_for_workers(on(start.digest), "decided with the shipped copy")

        edited = server.tree.good(rate="265.00")
        status, answer = server.call("POST", "/v1/admin/reload")
        assert status == 200 and answer["reloaded"] is True and answer["digest"] == edited.digest, answer
        server.wait_for_workers(on(edited.digest), "moved to the edit after POST /v1/admin/reload")
        server.decide_all(edited, 20)

        mistake = server.tree.broken("unknown_time_zone", rate="270.00")
        status, problem = server.call("POST", "/v1/admin/reload")
        assert status == 422 and problem["type"] == "/problems/invalid-policy-set", problem
        assert reported(problem["errors"], mistake, server.tree), show(problem["errors"])
        statuses = server.wait_for_workers(
            lambda s: s["last_attempt"]["ok"] is False and reported(s["last_attempt"]["errors"], mistake,
                                                                    server.tree),
            "reported the refused edit")
        assert all(s["active"]["digest"] == edited.digest for s in statuses.values())
        server.decide_all(edited, 20)


CLIENTS = 4
ROUNDS = 12


def test_serve_fails_no_request_while_reloading(tmp_path):
    with serving(tmp_path) as server:
        tree = server.tree
        start = the_shipped(tree)
        server.wait_for_workers(on(start.digest), "decided with the shipped copy")
        goods = {start.digest: start}
        stop = threading.Event()
        failures: list[str] = []
        decided = [0] * CLIENTS
        seen: set = set()

        def send(n: int) -> None:
            deadline = time.monotonic() + 60
            night = n % 2 == 0
            while not stop.is_set() and time.monotonic() < deadline and decided[n] < 20_000:
                night = not night
                try:
                    status, decision = server.call("POST", "/v1/decisions", SATURDAY_NIGHT if night else FRIDAY_MORNING)
                except Exception as exc:  # noqa: BLE001 - a refused or reset connection is a failure too
                    failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                if status != 200:
                    failures.append(f"{status}: {decision}")
                    continue
                problem = check_decision(decision, goods, night)
                if problem:
                    failures.append(problem)
                seen.add(decision["policy"]["digest"])
                decided[n] += 1

        clients = [threading.Thread(target=send, args=(n,), daemon=True) for n in range(CLIENTS)]
        for client in clients:
            client.start()
        try:
            good = start
            for i in range(ROUNDS):
                rate, rule = f"{210 + i}.00", f"{SHIPPED_RULE}-{i}"
                if i % 2 == 0:
                    good = tree.good(rate, rule)
                    goods[good.digest] = good
                else:
                    tree.broken(MISTAKES[i // 2 % len(MISTAKES)], rate, rule)
                time.sleep(0.3)
                os.kill(server.process.pid, signal.SIGHUP)  # and the watcher sends its own
                time.sleep(0.9)
            final = tree.good("299.00", f"{SHIPPED_RULE}-final")
            goods[final.digest] = final
            server.wait_for_workers(on(final.digest), "moved to the last edit")
            time.sleep(0.5)
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=30)
        assert not any(c.is_alive() for c in clients), "a client thread did not stop within 30 s"
        assert not failures, f"{len(failures)} of {sum(decided) + len(failures)} requests failed, e.g.:\n" + \
            "\n".join(failures[:10]) + f"\nserver log:\n{server.log.read_text(errors='replace')[-3000:]}"
        assert all(decided), f"decisions per client: {decided}"
        assert len(seen) >= 4, f"the clients saw only {len(seen)} policy sets: the reloads did not overlap them"
        assert final.digest in seen
        print(f"{sum(decided)} decisions over {ROUNDS} edits and SIGHUPs, with {len(seen)} policy sets")
