"""Serving the app with gunicorn, configured from the command line.

The policy set lives in the master process and the workers are forked from
it. A reload (SIGHUP to the master, a change to the policy folders, or
POST /v1/admin/reload in any worker, which signals the master) loads the new
set in the master, off to the side; gunicorn then replaces the workers
gracefully, so every worker moves to the new set (or, when the new files are
invalid, keeps the last good one and reports the failed attempt), and
requests in flight finish on the worker that took them.
"""
from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import sys
import tempfile

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication

from supportpolicy.server import problems
from supportpolicy.server.app import create_app
from supportpolicy.server.metrics import use_multiprocess, worker_exited
from supportpolicy.server.watch import PolicyWatcher

THREADS = 16  # per worker: requests answered at once by one worker (slow clients never hold one: server.worker)
KEEPALIVE = 5  # seconds an idle connection (new, or between requests) is kept open


class _Application(BaseApplication):
    def __init__(self, app, options: dict):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings:  # settings newer than the oldest gunicorn we support
                self.cfg.set(key, value)

    def load(self):
        return self.application


def _log_requests() -> None:
    """One JSON line per request on standard error (server/app.py writes them)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("supportpolicy.requests")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    # Nothing this server logs names a thread or source line: skip collecting them on every record
    # (the logging HOWTO's "Optimization" settings). Not the process id: gunicorn's own lines print it.
    logging._srcfile = None
    logging.logThreads = logging.logMultiprocessing = False


def _answer_unparsable_requests_with_problems() -> None:
    """Requests gunicorn cannot parse get a problem document, not gunicorn's HTML page.

    A request line over 4094 bytes (414), headers over gunicorn's limits (431)
    or malformed HTTP (400) are answered by the worker before any app runs,
    through ``gunicorn.util.write_error``; gunicorn has no setting for that
    page, so its writer is replaced, in this process and the workers it forks.
    """
    def write_problem(sock, status_int, reason, mesg):
        gunicorn_util.write_nonblock(sock, problems.raw_response(status_int, reason, mesg))

    gunicorn_util.write_error = write_problem


def _signal_master() -> None:
    os.kill(os.getppid(), signal.SIGHUP)


def _refuse_new_connections_on_term(arbiter) -> None:
    """On SIGTERM, stop listening at once, while the workers finish the requests they have.

    gunicorn's master closes only its own copy of the listening socket; a worker keeps its copy
    open until its request in flight is answered, so the kernel goes on accepting connections no worker
    will take, and resets them when the last worker exits (gunicorn #922, #2529, #3397). Here the
    workers are told first (so that none wakes to accept() on the socket), then the socket itself,
    shared by the master and every worker, is shut down: on Linux that stops its listening in every
    process, and a new connection is refused. On SIGTERM only: a reload keeps listening. Not with a
    socket handed over (systemd, USR2 re-exec), which must go on listening for whoever holds it next.
    """
    handle_term = arbiter.handle_term

    def stop_listening_then_terminate():
        if arbiter.reexec_pid == arbiter.master_pid == 0 and not arbiter.systemd and not arbiter.cfg.reuse_port:
            arbiter.kill_workers(signal.SIGTERM)
            for listener in arbiter.LISTENERS:
                try:
                    listener.sock.shutdown(socket.SHUT_RD)
                except OSError:  # a system that cannot shut a listening socket down: closed as before
                    pass
        handle_term()

    arbiter.handle_term = stop_listening_then_terminate


def serve(live, bind: str, workers: int, decision_log=None, watch: bool = True, echo=print, tokens=None,
          threads: int = THREADS) -> None:
    use_multiprocess(tempfile.mkdtemp(prefix="supportpolicy-metrics-"))
    _log_requests()
    _answer_unparsable_requests_with_problems()
    app = create_app({"LIVE": live, "DECISION_LOG": decision_log, "RELOAD_NOTIFY": _signal_master,
                      "TOKENS": tokens})
    metrics = app.extensions.get("metrics")  # benchmarks/bare_app.py serves an app without any

    def on_reload(arbiter):
        attempt = live.reload("SIGHUP")
        if not attempt.ok and metrics is not None:
            metrics.reload_failures.inc()
        if attempt.ok:
            echo(f"supportpolicy: reloaded, policy set {attempt.digest}")
        else:
            echo(f"supportpolicy: reload refused, still deciding with {live.current.digest}:")
            for error in attempt.errors:
                echo(f"  {error}")

    def when_ready(arbiter):
        _refuse_new_connections_on_term(arbiter)
        if watch:
            master = os.getpid()
            PolicyWatcher(live.roots, lambda: os.kill(master, signal.SIGHUP)).start()
            echo(f"supportpolicy: following changes to {', '.join(str(r) for r in live.roots)}")

    # Everything loaded so far lives as long as the server: keep it out of the
    # garbage collector's scans, and so out of the workers' copy-on-write pages.
    gc.freeze()
    # server.worker: gunicorn's threaded worker, in which slow and idle clients hold no thread.
    _Application(app, {"bind": bind, "workers": workers, "worker_class": "supportpolicy.server.worker.Worker",
                       "threads": threads, "keepalive": KEEPALIVE, "worker_connections": 1000,
                       "preload_app": True, "accesslog": None,
                       "graceful_timeout": 20, "timeout": 30, "proc_name": "supportpolicy",
                       "on_reload": on_reload, "when_ready": when_ready,
                       "child_exit": lambda arbiter, worker: worker_exited(worker.pid),
                       # gunicorn 27's control socket sits at one path per user: two servers would share it.
                       "control_socket_disable": True,
                       # gunicorn takes SCRIPT_NAME (and PATH_INFO) from request headers of trusted peers, by
                       # default loopback ones, and strips SCRIPT_NAME off the path (a 500 when it is no prefix).
                       # This server is mounted at / and no proxy sets them: no header may change routing.
                       "forwarder_headers": ""}).run()
