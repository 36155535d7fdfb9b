"""Reloads under gunicorn put in force only complete sets, come once, and never hold up SIGTERM.

``supportpolicy serve --workers 2`` over a scratch copy of the shipped policy
(test_reload.py's helpers), as an adversarial test of the running service
found it failing:

* a writer that paused in the middle of a customer file, at a point where
  the partial file was valid, had that partial file put in force by the file
  watcher (its designated contact lost emergency support);
* a Kubernetes ConfigMap (links into ``..data``, swapped in one rename) was
  not loaded at all, and its swap is what the watcher must see;
* every SIGHUP replaced every worker, even when nothing had changed, and
  SIGTERM waited behind the reloads queued before it while the server kept
  listening;
* POST /v1/admin/reload was done twice, in the worker and in the master (a
  refused one counted twice in the metrics), and had no answer for a reload
  longer than a worker may take.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from jsonschema import Draft202012Validator
from test_metrics import sample
from test_reload import (
    CUSTOMER,
    PLAN,
    RATE_LINE,
    SHIPPED_RATE,
    SHIPPED_RULE,
    Good,
    ServedTree,
    Server,
    on,
    reported,
    serving,
    show,
    the_shipped,
)

from supportpolicy.engine.decide.build import check_policy_set
from supportpolicy.engine.resources import shipped

from support import DESIGNATED, command, configmap, free_port, make_request

WEBMASTER = "webmaster@demo-city.gov"
# The designated webmaster's site is down on Saturday night: emergency support, free, within the hour.
WEBMASTER_OUTAGE = make_request("2026-11-28T23:00:00-06:00", "phone", "website_down", WEBMASTER,
                                ticket_id="T-outage")
QUIET_PERIOD = 0.5  # seconds: the watcher's (server/watch.py)
REFUSED_WITHIN = 2.0  # seconds after SIGTERM by which a new connection is refused (as tests/system/test_drain.py)
GRACEFUL_TIMEOUT, MARGIN = 20, 5  # seconds: the documented bound on stopping, and time to reap and exit


def digest_of(tree: ServedTree, texts: dict) -> str:
    """The digest of the set on disk with ``texts`` (relative path -> bytes) in place of those files."""
    listing = "".join(f"{hashlib.sha256(texts.get(rel) or (tree.root / rel).read_bytes()).hexdigest()}  {name}\n"
                      for name, rel in sorted((tree.label(rel), rel) for rel in tree.files()))
    return "sha256:" + hashlib.sha256(listing.encode()).hexdigest()


def emergency_support(server: Server) -> bool:
    status, decision = server.call("POST", "/v1/decisions", WEBMASTER_OUTAGE)
    assert status == 200, decision
    return decision["emergency_support"]


def boots(server: Server) -> list[int]:
    return [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", server.log.read_text(errors="replace"))]


def reloaded_lines(server: Server) -> list[str]:
    return re.findall(r"supportpolicy: reloaded, policy set (\S+)", server.log.read_text(errors="replace"))


# ---- 1. only complete files are put in force ---------------------------------------------------------------

def test_a_writer_pausing_mid_file_is_not_put_in_force_until_the_file_is_complete(tmp_path):
    with serving(tmp_path) as server:
        tree = server.tree
        start = the_shipped(tree)
        server.wait_for_workers(on(start.digest), "decided with the shipped copy")
        assert emergency_support(server) is True

        path = tree.root / CUSTOMER
        complete = path.read_bytes().replace(b"name: City of Demo", b"name: City of Demo (renamed)")
        partial = complete[:complete.index(b"webmaster@demo-ci") + len(b"webmaster@demo-ci")]
        # The cut is where a partial file is still a valid set, without the webmaster as a designated contact.
        scratch = tmp_path / "partial"
        shutil.copytree(tree.root, scratch)
        (scratch / CUSTOMER).write_bytes(partial)
        half, errors = check_policy_set((scratch / "policies", scratch / "rules"))
        assert half is not None, show([e.as_dict() for e in errors])
        partial_digest, complete_digest = digest_of(tree, {CUSTOMER: partial}), digest_of(tree, {CUSTOMER: complete})

        seen = set()
        with open(path, "wb") as writer:
            writer.write(partial)
            writer.flush()  # in the file for every reader: the watcher sees it modified, never closed
            paused = time.monotonic()
            while time.monotonic() - paused < 6 * QUIET_PERIOD:
                status, document = server.call("GET", "/v1/status")
                seen.add(document["active"]["digest"])
                assert document["last_attempt"]["reason"] == "start", document["last_attempt"]
                assert emergency_support(server) is True
                time.sleep(0.05)
            writer.write(complete[len(partial):])
        assert seen == {start.digest}, "the set changed while the file was half written"

        statuses = server.wait_for_workers(on(complete_digest), "moved to the complete file")
        assert all(s["last_attempt"]["ok"] and s["last_attempt"]["reason"] == "policy files changed"
                   for s in statuses.values())
        assert emergency_support(server) is True
        assert reloaded_lines(server) == [complete_digest], "only the complete file is put in force"
        assert partial_digest not in server.log.read_text(errors="replace")


def test_a_file_replaced_by_rename_is_put_in_force_once(tmp_path):
    with serving(tmp_path) as server:
        tree = server.tree
        server.wait_for_workers(on(the_shipped(tree).digest), "decided with the shipped copy")
        path = tree.root / PLAN
        text = path.read_text(encoding="utf-8").replace(RATE_LINE, RATE_LINE.replace(SHIPPED_RATE, "245.00"))
        temporary = path.with_name(".2026.1.yaml.new")
        with open(temporary, "w", encoding="utf-8") as writer:
            writer.write(text[:len(text) // 2])
            writer.flush()
            time.sleep(4 * QUIET_PERIOD)  # a temporary file half written changes nothing
            writer.write(text[len(text) // 2:])
        time.sleep(4 * QUIET_PERIOD)
        assert server.call("GET", "/v1/status")[1]["last_attempt"]["reason"] == "start"
        os.replace(temporary, path)
        edited = Good(tree.digest(), "245.00", f"billing/{SHIPPED_RULE}")
        server.wait_for_workers(on(edited.digest), "moved to the renamed plan")
        server.decide_all(edited)
        assert reloaded_lines(server) == [edited.digest]


@contextmanager
def serving_folders(tmp_path: Path, policies: Path, rules: Path, *options: str, env_extra: dict | None = None):
    """``supportpolicy serve`` over these folders (the test_reload.serving of any layout)."""
    port = free_port()
    argv, env = command()
    env["HOME"] = str(tmp_path)
    env.update(env_extra or {})
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv + ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--policies",
                    str(policies), "--rules", str(rules), "--no-decision-log", *options],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(process, port, None, log)
    try:
        deadline = time.monotonic() + 120  # a large set takes a while to load
        while True:
            server.alive()
            try:
                if server.call("GET", "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"GET /healthz did not answer:\n{log.read_text()}"
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if process.poll() is None:
            process.wait(timeout=10)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "[CRITICAL]" not in text, f"the server log shows a failure:\n{text}"


def test_a_configmap_swap_is_seen_by_the_watcher_and_put_in_force(tmp_path):
    version = "..2026_11_30_10_00_00.000000001"
    policies = configmap(tmp_path / "mount" / "policies", shipped("policies"), version)
    rules = configmap(tmp_path / "mount" / "rules", shipped("rules"), version)
    with serving_folders(tmp_path, policies, rules) as server:
        status = server.wait_for_workers(lambda s: s["active"]["files"], "answered")
        names = sorted(f["path"] for f in next(iter(status.values()))["active"]["files"])
        assert str(policies / "customers" / "demo-city.yaml") in names and not any(".." in n for n in names)
        start = next(iter(status.values()))["active"]["digest"]

        # The new version is written beside the old one, as the kubelet does; nothing changes until the swap.
        newer = "..2026_11_30_11_00_00.000000002"
        shutil.copytree(policies / version, policies / newer)
        plan = policies / newer / "plans" / "central-standard" / "2026.1.yaml"
        plan.write_text(plan.read_text(encoding="utf-8").replace(RATE_LINE, RATE_LINE.replace(SHIPPED_RATE, "245.00")),
                        encoding="utf-8")
        time.sleep(6 * QUIET_PERIOD)
        assert all(s["active"]["digest"] == start for s in
                   server.wait_for_workers(lambda s: True, "answered").values())

        os.symlink(newer, policies / "..data_tmp")
        os.replace(policies / "..data_tmp", policies / "..data")  # the swap: one rename
        moved = server.wait_for_workers(lambda s: s["active"]["digest"] != start, "moved to the swapped version")
        assert {s["active"]["digest"] for s in moved.values()} == {
            check_policy_set((policies, rules), lambda root, path: os.path.normpath(path))[0].digest}
        status, decision = server.call("POST", "/v1/decisions", make_request("2026-11-28T23:00:00-06:00", "phone",
                                                                              email=DESIGNATED))
        assert status == 200 and decision["hourly_rate"] == {"amount": "245.00", "currency": "USD"}, decision
        shutil.rmtree(policies / version)  # the kubelet removes the old version: still in force, nothing lost
        time.sleep(6 * QUIET_PERIOD)
        assert all(s["active"]["digest"] == moved[next(iter(moved))]["active"]["digest"]
                   for s in server.wait_for_workers(lambda s: True, "answered").values())


# ---- 2. SIGHUP: once for a burst, never for an unchanged set, never before SIGTERM ---------------------

def test_sighups_with_nothing_changed_replace_no_worker(tmp_path):
    with serving(tmp_path, "--no-watch") as server:
        server.wait_for_workers(on(the_shipped(server.tree).digest), "decided with the shipped copy")
        workers = server.workers()
        for _ in range(4):
            os.kill(server.process.pid, signal.SIGHUP)
            time.sleep(0.2)
        statuses = server.wait_for_workers(lambda s: s["last_attempt"]["reason"] == "SIGHUP", "saw the SIGHUP")
        assert all(s["last_attempt"]["ok"] for s in statuses.values())
        time.sleep(2)
        assert server.workers() == workers and len(boots(server)) == 2, boots(server)
        assert reloaded_lines(server) == []


def test_a_burst_of_sighups_after_a_change_is_one_reload(tmp_path):
    with serving(tmp_path, "--no-watch") as server:
        server.wait_for_workers(on(the_shipped(server.tree).digest), "decided with the shipped copy")
        edited = server.tree.good(rate="255.00")
        for _ in range(5):
            os.kill(server.process.pid, signal.SIGHUP)
        server.wait_for_workers(on(edited.digest), "moved to the edit")
        time.sleep(2)
        server.decide_all(edited)
        assert reloaded_lines(server) == [edited.digest]
        assert len(boots(server)) == 4, f"workers booted: {boots(server)} (2 at start, 2 for the one new set)"


CUSTOMERS = 3000  # enough that loading them takes the old master seconds for each SIGHUP


def many_customers(tree: ServedTree, count: int) -> None:
    """``count`` more customers, each demo-city under its own id and contacts."""
    text = (tree.root / CUSTOMER).read_text(encoding="utf-8")
    for n in range(count):
        (tree.policies / "customers" / f"city-{n:04d}.yaml").write_text(
            text.replace("customer: demo-city", f"customer: city-{n:04d}").replace("demo-city.gov", f"city-{n}.gov"),
            encoding="utf-8")


def connection_refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


@pytest.mark.slow
def test_sigterm_comes_before_reloads_queued_ahead_of_it(tmp_path):
    tree = ServedTree(tmp_path / "tree")
    many_customers(tree, CUSTOMERS)
    with serving_folders(tmp_path, tree.policies, tree.rules, "--no-watch") as server:
        server.tree = tree
        start = tree.digest()
        server.wait_for_workers(on(start), "decided with the set")
        workers = [psutil.Process(pid) for pid in server.workers()]
        (tree.policies / "customers" / "city-0001.yaml").write_text(
            (tree.root / CUSTOMER).read_text(encoding="utf-8").replace("customer: demo-city", "customer: city-0001"),
            encoding="utf-8")
        os.kill(server.process.pid, signal.SIGHUP)
        os.kill(server.process.pid, signal.SIGHUP)
        stopped = time.monotonic()
        os.kill(server.process.pid, signal.SIGTERM)
        refused = None
        while server.process.poll() is None and time.monotonic() - stopped < GRACEFUL_TIMEOUT + 2 * MARGIN:
            if refused is None and connection_refused(server.port):
                refused = time.monotonic() - stopped
            time.sleep(0.02)
        exited = time.monotonic() - stopped
        assert refused is not None and refused < REFUSED_WITHIN, \
            f"a new connection was still taken {REFUSED_WITHIN} s after SIGTERM (refused after {refused})"
        assert server.process.poll() == 0 and exited < GRACEFUL_TIMEOUT + MARGIN, \
            f"the server took {exited:.1f} s to exit (exit code {server.process.poll()})"
        _, alive = psutil.wait_procs(workers, timeout=5)
        assert not alive


# ---- 3. POST /v1/admin/reload: once, in the master -----------------------------------------------------

def test_an_admin_reload_is_done_once_in_the_master_and_answered_with_its_outcome(tmp_path):
    with serving(tmp_path, "--no-watch") as server:
        tree = server.tree
        server.wait_for_workers(on(the_shipped(tree).digest), "decided with the shipped copy")
        mistake = tree.broken("unknown_time_zone", rate="270.00")
        status, problem = server.call("POST", "/v1/admin/reload")
        assert status == 422 and problem["type"] == "/problems/invalid-policy-set", problem
        assert reported(problem["errors"], mistake, tree), show(problem["errors"])
        statuses = server.wait_for_workers(lambda s: s["last_attempt"]["ok"] is False, "saw the refused reload")
        assert all(s["last_attempt"]["reason"] == "POST /v1/admin/reload" for s in statuses.values())
        time.sleep(1)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10).read().decode()
        assert sample(metrics, "supportpolicy_reload_failures_total") == 1, "one refused reload, counted once"
        assert len(boots(server)) == 2, "a refused set replaces no worker"

        edited = tree.good(rate="265.00")
        status, answer = server.call("POST", "/v1/admin/reload")
        assert status == 200 and answer["reloaded"] is True and answer["digest"] == edited.digest, answer
        assert answer["status"]["active"]["digest"] == edited.digest
        assert answer["status"]["last_attempt"]["reason"] == "POST /v1/admin/reload"
        statuses = server.wait_for_workers(on(edited.digest), "moved to the edit")
        assert all(s["last_attempt"]["reason"] == "POST /v1/admin/reload" for s in statuses.values())
        server.decide_all(edited)
        assert reloaded_lines(server) == [edited.digest]


def test_an_admin_reload_longer_than_the_wait_is_accepted_with_a_link_to_the_status(tmp_path):
    tree = ServedTree(tmp_path / "tree")
    with serving_folders(tmp_path, tree.policies, tree.rules, "--no-watch",
                         env_extra={"SUPPORTPOLICY_RELOAD_WAIT": "0"}) as server:
        server.tree = tree
        server.wait_for_workers(on(the_shipped(tree).digest), "decided with the shipped copy")
        edited = tree.good(rate="266.00")
        connection = urllib.request.Request(f"http://127.0.0.1:{server.port}/v1/admin/reload", method="POST",
                                            headers={"Connection": "close"})
        with urllib.request.urlopen(connection, timeout=10) as response:
            status, location, body = response.status, response.headers["Location"], json.loads(response.read())
        assert status == 202 and location.endswith("/v1/status"), (status, location)
        assert body["reloaded"] is False and body["links"] == {"status": "/v1/status"}, body
        _, document = server.call("GET", "/openapi.json")
        accepted = document["paths"]["/v1/admin/reload"]["post"]["responses"]["202"]
        Draft202012Validator(accepted["content"]["application/json"]["schema"]).validate(body)
        statuses = server.wait_for_workers(on(edited.digest), "moved to the edit")
        assert all(s["last_attempt"]["reason"] == "POST /v1/admin/reload" and s["last_attempt"]["ok"]
                   for s in statuses.values())
