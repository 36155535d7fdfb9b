"""supportpolicy serve as it starts: which policy folders and which decision log it uses, and a port in use.

Run as a user runs it (``support.Server``: the command in its own process group, HOME in the test's
folder), from a policy repository written by ``supportpolicy init`` and from a folder without one.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from support import DESIGNATED, command, free_port, http, make_request, run_cli, serving

SATURDAY_NIGHT = "2026-11-28T23:00:00-06:00"


def repository(folder: Path, rate: str = "200.00") -> Path:
    """A policy repository from `supportpolicy init`, with the after-hours rate ``rate``."""
    result = run_cli("init", folder, cwd=folder.parent, timeout=60)
    assert result.returncode == 0, result.stderr_text
    plan = folder / "policies/plans/central-standard/2026.1.yaml"
    plan.write_text(plan.read_text().replace('amount: "200.00"', f'amount: "{rate}"'))
    return folder


def saturday_night(server) -> dict:
    status, decision = http("POST", f"{server.base}/v1/decisions",
                            make_request(SATURDAY_NIGHT, email=DESIGNATED, ticket_id="T-1"))
    assert status == 200, decision
    return decision


def log_line(stderr: str) -> str:
    (line,) = [line for line in stderr.splitlines() if line.startswith("supportpolicy: decision log ")]
    return line


def test_serve_in_a_policy_repository_decides_with_its_folders_and_keeps_a_log_of_its_own(tmp_path):
    data = {"XDG_DATA_HOME": str(tmp_path / "data")}  # one data folder for both servers, as one user's
    first, second = repository(tmp_path / "first", "250.00"), repository(tmp_path / "second")
    with serving(["--workers", "1", "--no-watch"], first, env_extra=data) as server:
        decision = saturday_night(server)
        assert decision["hourly_rate"] == {"amount": "250.00", "currency": "USD"}  # ./policies, not the shipped
        stderr = server.stderr()
    assert "supportpolicy: policies ./policies (found here), rules ./rules (found here)" in stderr
    first_log = log_line(stderr).split(" at ", 1)[1]
    assert first_log.startswith(str(tmp_path / "data/supportpolicy/logs/first-")), first_log
    with serving(["--workers", "1", "--no-watch"], second, "second", env_extra=data) as server:
        own = saturday_night(server)
        assert own["hourly_rate"]["amount"] == "200.00"
        second_log = log_line(server.stderr()).split(" at ", 1)[1]
        status, listed = http("GET", f"{server.base}/v1/decisions")
        assert status == 200  # its own decision, and nothing the first server decided
        assert [d["decision_id"] for d in listed["decisions"]] == [own["decision_id"]]
    assert second_log != first_log and Path(first_log).is_file() and Path(second_log).is_file()
    # log export, run where serve ran, reads the log serve wrote there.
    exported = run_cli("log", "export", cwd=first, env_extra=data)
    assert exported.returncode == 0, exported.stderr_text
    assert [json.loads(line)["decision_id"] for line in exported.stdout_text.splitlines()] == \
        [decision["decision_id"]]
    assert f"supportpolicy: decision log {first_log}" in exported.stderr_text


def test_serve_names_the_log_every_server_shared_before_when_it_starts_a_new_one(tmp_path):
    shared = tmp_path / ".local/share/supportpolicy/decisions.sqlite3"
    shared.parent.mkdir(parents=True)
    shutil.copy(Path(__file__).parent.parent / "fixtures" / "plan-versions" / "central-standard-2027.1.yaml",
                shared)  # any file: only its being there counts
    with serving(["--workers", "1", "--no-watch"], tmp_path) as server:
        stderr = server.stderr()
    assert "supportpolicy: policies and rules: the shipped policy (" in stderr
    assert f"give --data-dir {shared.parent} to keep using that log" in stderr


def test_a_port_in_use_is_said_before_listening_without_retries(tmp_path):
    port = free_port()
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", port))
    holder.listen()
    try:
        argv, env = command()
        env["HOME"] = str(tmp_path)
        started = time.monotonic()
        result = subprocess.run(argv + ["serve", "--host", "127.0.0.1", "--port", str(port)], cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=60)
        took = time.monotonic() - started
    finally:
        holder.close()
    assert result.returncode == 1, result.stderr
    assert f"supportpolicy: port {port} on 127.0.0.1 is already in use by pid " in result.stderr
    assert "pytest" in result.stderr or "python" in result.stderr  # the process holding it: this one
    assert "or give another --port" in result.stderr
    assert "listening" not in result.stderr and "Connection in use" not in result.stderr
    assert "Traceback" not in result.stderr
    assert took < 5, f"took {took:.1f} s: retried?"


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_serve_on_port_0_says_the_port_it_listens_on(tmp_path, host):
    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6")
    argv, env = command()
    env["HOME"] = str(tmp_path)
    err = open(tmp_path / "stderr", "w+")
    process = subprocess.Popen(argv + ["serve", "--host", host, "--port", "0", "--workers", "1",
                                       "--no-decision-log", "--no-watch"], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        deadline, line = time.monotonic() + 30, None
        while line is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
            found = [s for s in (tmp_path / "stderr").read_text().splitlines() if "listening on http://" in s]
            line = found[0] if found else None
        assert line, (tmp_path / "stderr").read_text()
        port = int(line.split("listening on http://")[1].split(" ")[0].rsplit(":", 1)[1])
        assert port != 0
        if host == "127.0.0.1":
            deadline = time.monotonic() + 20
            while True:
                try:
                    assert http("GET", f"http://127.0.0.1:{port}/healthz")[0] == 200
                    break
                except OSError:
                    assert time.monotonic() < deadline, "no answer on the port it said"
                    time.sleep(0.2)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        err.close()
