"""Schemathesis against a served supportpolicy: does the OpenAPI document say what the server does?

Starts `supportpolicy serve` on a free loopback port, with a temporary data
folder (so the decision log is on) and a token with every scope, waits for
/healthz, then runs schemathesis against the server's /openapi.json with every
check: once with the token (every phase, stateful included), and once without
it, where each protected operation must answer a documented 401. Exits 0 when
both runs find nothing, else with the first failing run's status; the server is
always stopped. `tox -e api` runs it; by hand, from the repository:

    python tests/fuzz/run_schemathesis.py [--max-time SECONDS] [schemathesis run options, e.g. --seed N]

JUnit reports and the server's log go to $TEST_OUTPUT_DIR/schemathesis
(default test-output/schemathesis). Not a pytest module (pytest collects test_*.py only).
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BIN = Path(sys.executable).parent  # under tox, the environment's scripts: supportpolicy and schemathesis
OUTPUT = Path(os.environ.get("TEST_OUTPUT_DIR", REPO / "test-output")) / "schemathesis"
GRACE = 30  # seconds a run may take beyond its --max-time (loading the document, the last requests) before it is killed


def supportpolicy() -> tuple[list[str], dict]:
    """The installed command (the built wheel's, under tox), else this checkout's source; no SUPPORTPOLICY_* set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTPOLICY_")}
    if (BIN / "supportpolicy").exists():
        return [str(BIN / "supportpolicy")], env
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return [sys.executable, "-m", "server.cli"], env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"supportpolicy serve exited with {server.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"supportpolicy serve was not healthy within {timeout:.0f} s")


def status_of(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def check_the_token(base: str, token: str) -> None:
    """With a token that does not work every protected operation would be a documented 401, and pass."""
    answers = status_of(f"{base}/v1/status", token), status_of(f"{base}/v1/status")
    if answers != (200, 401):
        raise RuntimeError(f"GET /v1/status answered {answers[0]} with the token and {answers[1]} without it, "
                           "not 200 and 401: the runs below would not test what they claim to")


def stop(server: subprocess.Popen) -> None:
    """Stop the gunicorn master and its workers: the process group the server was started in, and only it."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)  # a graceful shutdown of the master and every worker
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def schemathesis(title: str, base: str, max_time: int, options: list[str], note: str = "") -> int:
    """One schemathesis run with every check; its exit status (124 when it overran its time)."""
    executable = BIN / "schemathesis"
    argv = [str(executable) if executable.exists() else "schemathesis", "--config-file",
            str(HERE / "schemathesis.toml"), "run", f"{base}/openapi.json", "--checks", "all",
            "--max-time", str(max_time), "--request-timeout", "10", "--generation-database", "none",
            "--report", "junit", "--report-junit-path", str(OUTPUT / f"{title}.xml"), *options]
    shown = " ".join("Authorization: Bearer ..." if "Bearer" in a else a for a in argv)
    print(f"\n=== schemathesis, {title}{note}:\n{shown}", flush=True)
    env = dict(os.environ, SCHEMATHESIS_HOOKS=str(HERE / "hooks.py"))
    try:
        # In OUTPUT, its crash cache (for `st replay <id>`) stays beside the reports, out of the repository.
        return subprocess.run(argv, env=env, cwd=OUTPUT, timeout=max_time + GRACE).returncode
    except subprocess.TimeoutExpired:
        print(f"schemathesis ({title}) ran over {max_time + GRACE} s and was stopped", flush=True)
        return 124


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-time", type=int, default=60,
                        help="Seconds for the run with a token (the one without gets a quarter) [default: 60].")
    parser.add_argument("--max-examples", type=int, default=50, help="Test cases per operation and phase.")
    args, extra = parser.parse_known_args()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    command, env = supportpolicy()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="supportpolicy-api-") as tmp:
        tokens = Path(tmp) / "tokens.json"
        token = subprocess.run([*command, "token", "add", "schemathesis", "--scopes", "decide,read,admin,metrics",
                                "--tokens", str(tokens)], env=env, check=True, capture_output=True,
                               text=True).stdout.strip()
        base = f"http://127.0.0.1:{free_port()}"
        log_path = OUTPUT / "server.log"
        with open(log_path, "w", encoding="utf-8") as log:
            server = subprocess.Popen(
                [*command, "serve", "--host", "127.0.0.1", "--port", base.rsplit(":", 1)[1], "--workers", "2",
                 "--data-dir", str(Path(tmp) / "data"), "--tokens", str(tokens), "--no-watch"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                wait_until_healthy(base, server)
                check_the_token(base, token)
                examples = ["--max-examples", str(args.max_examples)]
                statuses = [
                    schemathesis("with-token", base, args.max_time,
                                 ["--header", f"Authorization: Bearer {token}", *examples, *extra]),
                    # Every protected operation, coverage-phase values and a few fuzzed ones: each a documented 401.
                    schemathesis("without-token", base, max(args.max_time // 4, 5),
                                 ["--phases", "examples,coverage,fuzzing", "--max-examples", "10", *extra],
                                 " (its warning that protected operations answer only 401 is what it checks for)"),
                ]
            finally:
                stop(server)
    failed = next((s for s in statuses if s != 0), 0)
    if failed:
        # The server's own account of failures (tracebacks), without the one JSON line per request.
        lines = [line for line in log_path.read_text(encoding="utf-8").splitlines() if not line.startswith('{"time"')]
        print(f"\n=== the server's log, request lines left out ({log_path}):\n" + "\n".join(lines[-200:]))
    print(f"\nschemathesis: with a token {statuses[0]}, without {statuses[1]}; "
          f"{time.monotonic() - started:.0f} s in all")
    return failed


if __name__ == "__main__":
    sys.exit(main())
