"""Constants and helpers the tests share (fixtures are in conftest.py)."""
from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DESIGNATED = "it.director@demo-city.gov"
OTHER = "resident@example.org"
CHANNELS = ("phone", "voicemail", "email", "portal")
CATEGORIES = ("website_down", "application_malfunction", "application_error", "usage_question",
              "suggestion", "additional_services", "other")


def policy_cases() -> Path:
    """The policy fixture folders, each whole: ``good/`` (a copy of the shipped policy), and every other
    case as ``good/`` with the case's own files laid over it (and the files its ``removed.txt`` names
    left out). Built once per test run, in a temporary folder, so no case copies the files it does not
    change."""
    global _CASES
    if _CASES is None:
        source = FIXTURES / "policies"
        target = Path(tempfile.mkdtemp(prefix="supportpolicy-cases-"))
        atexit.register(shutil.rmtree, target, True)
        for case in sorted(p for p in source.iterdir() if p.is_dir()):
            shutil.copytree(source / "good", target / case.name, dirs_exist_ok=True)
            if case.name == "good":
                continue
            removed = case / "removed.txt"
            for line in removed.read_text(encoding="utf-8").splitlines() if removed.exists() else ():
                if line.strip() and not line.startswith("#"):
                    (target / case.name / line.strip()).unlink()
            shutil.copytree(case, target / case.name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("removed.txt"))
        _CASES = target
    return _CASES


_CASES: Path | None = None


def configmap(folder: Path, source: Path, version: str) -> Path:
    """``folder`` laid out as a Kubernetes ConfigMap volume holding ``source``'s entries (its policy tests
    left out): the files in a folder named ``version``, a link ``..data`` to it, and each entry a link
    into ``..data``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, folder / version, ignore=shutil.ignore_patterns("tests"))
    os.symlink(version, folder / "..data_tmp")
    os.replace(folder / "..data_tmp", folder / "..data")
    for entry in sorted((folder / version).iterdir()):
        if not (folder / entry.name).is_symlink():
            os.symlink(Path("..data") / entry.name, folder / entry.name)
    return folder


def with_plan_2027(where: Path, suites: bool = True) -> Path:
    """The shipped policies/ and rules/ copied into ``where``, with the fixture tests/fixtures/plan-2027 laid
    over them: central-standard 2027.1, effective 2027-01-01, open 08:00 to 19:00, 225.00 USD an hour."""
    ignore = None if suites else shutil.ignore_patterns("tests")
    for folder in ("policies", "rules"):
        shutil.copytree(REPO / folder, where / folder, ignore=ignore)
    shutil.copytree(FIXTURES / "plan-2027", where, dirs_exist_ok=True)
    return where


def shipped_with_rate(where: Path, rate: str) -> tuple[Path, Path]:
    """A copy of the shipped policies and rules in ``where``, central-standard 2026.1's after-hours rate changed in
    place to ``rate``; its (policies, rules) folders."""
    shutil.copytree(REPO / "policies", where / "policies")
    shutil.copytree(REPO / "rules", where / "rules")
    plan = where / "policies" / "plans" / "central-standard" / "2026.1.yaml"
    text = plan.read_text(encoding="utf-8")
    assert 'amount: "200.00"' in text
    plan.write_text(text.replace('amount: "200.00"', f'amount: "{rate}"'), encoding="utf-8")
    return where / "policies", where / "rules"


def make_request(received_at: str, channel: str = "email", category: str = "usage_question",
                 email: str = OTHER, **extra) -> dict:
    """A decision request for demo-city; keyword arguments add or replace fields."""
    body = {"customer": "demo-city", "received_at": received_at, "channel": channel,
            "requester": {"email": email}, "category": category}
    body.update(extra)
    return body


def as_logged(request: dict, decision: dict, data_dir: Path) -> dict:
    """A request as `serve`'s decision log keeps it by default: its personal data masked, the e-mail hashed
    with the key serve made in ``data_dir``."""
    from supportpolicy.server.storage.privacy import KEY_FILE, LogPrivacy, read_key

    key = read_key(Path(data_dir) / KEY_FILE)
    return LogPrivacy.of(key=key).kept(request, decision["designated_contact"])[0]


def command() -> tuple[list[str], dict]:
    """The supportpolicy command of the environment running the tests, and the environment to run it in.

    The installed script beside this Python (under tox, the wheel's), else the
    package run as a module; SUPPORTPOLICY_* variables are left out.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTPOLICY_")}
    script = Path(sys.executable).parent / "supportpolicy"
    if script.is_file():
        return [str(script)], env
    return [sys.executable, "-m", "supportpolicy.server.cli"], env


def run_cli(*args, cwd, stdin: bytes | None = None, timeout: float = 60,
            env_extra: dict | None = None) -> subprocess.CompletedProcess:
    """Run supportpolicy; the result has stdout_text and stderr_text, and never a traceback."""
    argv, env = command()
    env.update(env_extra or {})
    result = subprocess.run(argv + [str(a) for a in args], cwd=cwd, input=stdin, capture_output=True,
                            timeout=timeout, env=env)
    result.stdout_text = result.stdout.decode("utf-8")
    result.stderr_text = result.stderr.decode("utf-8")
    assert "Traceback" not in result.stderr_text, f"a traceback on stderr:\n{result.stderr_text}"
    return result


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: dict | None = None, timeout: float = 5) -> tuple[int, dict]:
    """A JSON request to a server of the tests' own (loopback only): status and decoded body."""
    assert url.startswith("http://127.0.0.1:")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


# One error a line, as `supportpolicy validate` prints them (and editors and CI annotations read them).
ERROR_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<code>[a-z_]+): (?P<message>.+)$")


def placed_lines(text: str, pattern: re.Pattern, form: str) -> list[dict]:
    """Each line of ``text`` matched by ``pattern`` (named groups, ``line`` and ``column`` as numbers);
    fails on any line that is not in ``form``."""
    entries = []
    for line in text.splitlines():
        match = pattern.match(line)
        assert match, f"not a {form} line: {line!r}"
        entry = match.groupdict()
        entry["line"], entry["column"] = int(entry["line"]), int(entry["column"])
        entries.append(entry)
    return entries


def error_lines(text: str) -> list[dict]:
    """Each line of ``text`` as a `path:line:column: code: message` error; fails on any other line."""
    return placed_lines(text, ERROR_LINE, "`path:line:column: code: message`")


class Server:
    """``supportpolicy serve`` in its own process group; always stopped (SIGKILL to the group at worst)."""

    def __init__(self, args: list, folder: Path, name: str = "server", env_extra: dict | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.folder = folder
        self.stderr_path = folder / f"{name}.stderr"
        argv, env = command()
        env["HOME"] = str(folder)
        env.update(env_extra or {})
        self._out = open(folder / f"{name}.stdout", "wb")
        self._err = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(argv + ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
                                        + [str(a) for a in args], cwd=folder, env=env, stdout=self._out,
                                        stderr=self._err, start_new_session=True)

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"serve exited with {self.process.returncode}:\n{self.stderr()}"
            try:
                status, _ = http("GET", f"{self.base}/healthz", timeout=1)
                if status == 200:
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        pytest.fail(f"serve did not answer GET /healthz within {within} s:\n{self.stderr()}")

    def kill(self) -> None:
        """SIGKILL the master and its workers (the whole process group) and wait for all of them."""
        import psutil

        members = []
        if self.process.poll() is None:  # never look up the id of a process already reaped
            try:
                master = psutil.Process(self.process.pid)
                members = [master] + master.children(recursive=True)
            except psutil.NoSuchProcess:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        _, alive = psutil.wait_procs(members, timeout=10)
        assert not alive, f"still running after SIGKILL: {alive}"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to the group if it does not exit within 20 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        self._out.close()
        self._err.close()


@contextmanager
def serving(args: list, folder: Path, name: str = "server", env_extra: dict | None = None):
    server = Server(args, folder, name, env_extra)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
