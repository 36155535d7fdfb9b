"""The server under load: started, watched (memory, CPU, its log) and stopped.

``supportpolicy serve`` runs in a session of its own, so a Ctrl-C at the
terminal reaches only the benchmark, which then stops the server itself:
SIGTERM (gunicorn's graceful shutdown), and SIGKILL to the master and the
workers it had, by pid, only if that has not ended it in time. On Linux the
server also gets SIGTERM if the benchmark dies without cleaning up.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psutil

BENCHMARKS = str(Path(__file__).resolve().parent.parent)
if BENCHMARKS not in sys.path:
    sys.path.append(BENCHMARKS)  # for the shared client.py, common.py
from client import HOST, Target, free_port, wait_until_healthy  # noqa: E402
from common import die_with_parent  # noqa: E402

REPO = Path(__file__).resolve().parent.parent.parent


def command() -> tuple[list[str], dict]:
    """The supportpolicy command and its environment, as tests/support.py chooses them: the installed
    script when it is on PATH, else this checkout; SUPPORTPOLICY_* variables are left out so that
    nothing from the caller's shell (a data dir, tokens) changes what is measured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTPOLICY_")}
    env["PYTHONUNBUFFERED"] = "1"
    installed = shutil.which("supportpolicy")
    if installed:
        return [installed], env
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return [sys.executable, "-m", "server.cli"], env


class Served:
    """``supportpolicy serve`` on 127.0.0.1 and a free port, its output in ``log_path``."""

    def __init__(self, workers: int, log_path: Path, options: list[str]):
        self.workers, self.log_path = workers, log_path
        self.port = free_port()
        argv, self.env = command()
        self.argv = argv + ["serve", "--host", HOST, "--port", str(self.port), "--workers", str(workers), *options]
        self.process: subprocess.Popen | None = None
        self.known_pids: set[int] = set()  # every server process seen, for the last-resort SIGKILL
        self.stopped: dict | None = None

    def start(self, timeout: float) -> Target:
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                cwd=str(self.log_path.parent), start_new_session=True,
                preexec_fn=die_with_parent if sys.platform.startswith("linux") else None)
        target = Target.local(self.port)
        try:
            wait_until_healthy(target, timeout, lambda: self.process.poll() is None)
            # /healthz answers as soon as one worker does; wait for all of them, so none boots mid-run.
            deadline = time.monotonic() + timeout
            while len(self.children()) < self.workers and time.monotonic() < deadline:
                time.sleep(0.1)
        except (TimeoutError, RuntimeError) as error:
            raise RuntimeError(f"{error}\n--- server output ---\n{self.tail()}") from None
        return target

    def children(self) -> list[psutil.Process]:
        try:
            found = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            return []
        self.known_pids.update(p.pid for p in found)
        return found

    def stop(self, timeout: float = 30.0) -> dict:
        """SIGTERM, then wait (gunicorn's graceful_timeout is 20 s); SIGKILL only if it is still there."""
        if self.process is None or self.stopped is not None:
            return self.stopped or {}
        self.children()  # remember the current workers
        how = "already exited"
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            how = "SIGTERM"
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                how = f"SIGKILL after {timeout:g} s"
        for pid in self.known_pids:  # workers that outlived their master: ours only, by pid
            try:
                if os.getpgid(pid) == self.process.pid:
                    os.kill(pid, signal.SIGKILL)
                    how += f"; worker {pid} killed"
            except (ProcessLookupError, PermissionError):
                pass
        self.stopped = {"how": how, "exit_code": self.process.returncode}
        return self.stopped

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def findings(self) -> dict:
        """What the server's own output says: its failures (each traceback by its last line), worker
        (re)starts, reloads, and the answers its request log counted, by status."""
        found = {"problems": {}, "workers_booted": 0, "reloads": 0, "status": {}}
        try:
            out = open(self.log_path, errors="replace")
        except OSError:
            return found
        in_traceback = False
        with out:
            for line in out:
                line = line.rstrip("\n")
                problem = None
                if line.startswith("{"):  # one JSON line per request
                    try:
                        status = str(orjson.loads(line).get("status"))
                    except (orjson.JSONDecodeError, AttributeError):
                        status = "unreadable"
                    found["status"][status] = found["status"].get(status, 0) + 1
                elif line.startswith("Traceback"):
                    in_traceback = True
                elif in_traceback and line and not line.startswith(" "):
                    in_traceback, problem = False, line  # "SomeError: message", what the traceback ends with
                elif re.search(r"Booting worker with pid: \d", line):  # gunicorn's line, not its source
                    found["workers_booted"] += 1
                elif "supportpolicy: reloaded" in line or "reload refused" in line:
                    found["reloads"] += 1
                elif any(mark in line for mark in ("[ERROR]", "[CRITICAL]", "WORKER TIMEOUT", "was sent SIG",
                                                   "exited with code")):
                    problem = line.split("] ", 3)[-1]  # without gunicorn's time and pid, so repeats add up
                if problem:
                    found["problems"][problem] = found["problems"].get(problem, 0) + 1
        return found


def master_listening_on(port: int) -> int | None:
    """For --url: the pid of the (gunicorn master) process serving ``port`` on this machine, if this user
    may see it. The master and its workers share the listening socket, and psutil names one of them:
    go up through the parents for as long as they hold it too."""
    try:
        holder = next((c.pid for c in psutil.net_connections("tcp") if c.pid and c.status == psutil.CONN_LISTEN
                       and c.laddr and c.laddr.port == port), None)
    except psutil.Error:
        return None
    pid = holder
    try:
        while pid is not None and _listens(psutil.Process(pid).ppid(), port):
            pid = psutil.Process(pid).ppid()
    except psutil.Error:  # it ended meanwhile
        return None
    return pid


def _listens(pid: int, port: int) -> bool:
    try:
        return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port
                   for c in psutil.Process(pid).net_connections("tcp"))
    except psutil.Error:  # gone, or not ours to look at (pid 1)
        return False


def snapshot(master_pid: int) -> dict | None:
    """RSS and USS (bytes) and CPU time (s) of the master and every process under it."""
    try:
        master = psutil.Process(master_pid)
        processes = [master] + master.children(recursive=True)
    except psutil.Error:
        return None
    rows = []
    for p in processes:
        try:
            with p.oneshot():
                info = p.memory_full_info()  # uss reads smaps: pages this process alone holds
                cpu = p.cpu_times()
            rows.append({"pid": p.pid, "role": "master" if p.pid == master_pid else "worker",
                         "rss": info.rss, "uss": getattr(info, "uss", None), "cpu_s": cpu.user + cpu.system})
        except psutil.Error:
            pass  # it ended between the listing and the reading
    uss = [r["uss"] for r in rows]
    return {"at": time.monotonic(), "rss": sum(r["rss"] for r in rows),
            "uss": sum(uss) if None not in uss else None,
            "cpu_s": sum(r["cpu_s"] for r in rows), "processes": rows}
