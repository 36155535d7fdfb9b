"""Serving the app with gunicorn, configured from the command line.

The policy set lives in the master process and the workers are forked from
it. A reload (SIGHUP to the master, a change to the policy folders, or
POST /v1/admin/reload in any worker, which asks the master and waits for its
answer) loads the new set once, in the master, in a thread beside its main
loop (server.reloads); when the set is new and valid the master replaces the
workers gracefully, so every worker moves to it and requests in flight finish
on the worker that took them. An invalid set, or the same set again, replaces
no worker: the last good set keeps deciding, and every worker reports the
attempt (it reads it from a folder the master writes).
"""
from __future__ import annotations

import atexit
import gc
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from supportpolicy.engine.decide.durable import _LOCK as durable_lock
from supportpolicy.server import problems
from supportpolicy.server.app import RequestLog, create_app
from supportpolicy.server.metrics import use_multiprocess, worker_exited
from supportpolicy.server.policysource import SourceReport
from supportpolicy.server.reloads import PUBLISHED, WATCHED, Reloads, SharedAttempts
from supportpolicy.server.watch import PolicyWatcher

THREADS = 16  # per worker: requests answered at once by one worker (slow clients never hold one: server.worker)
SOURCE_REPORT = "policy-source.json"  # in the shared folder: what the policy source's follower last found
KEEPALIVE = 5  # seconds an idle connection (new, or between requests) is kept open


class _Application(BaseApplication):
    def __init__(self, app, options: dict, serving: "_Serving"):
        self.application = app
        self.options = options
        self.serving = serving
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings:  # settings newer than the oldest gunicorn we support
                self.cfg.set(key, value)

    def load(self):
        return self.application

    def run(self):
        try:
            _Arbiter(self).run()
        except RuntimeError as e:  # as BaseApplication.run, with the master above
            print(f"\nError: {e}\n", file=sys.stderr)
            sys.stderr.flush()
            sys.exit(1)


def _log_requests() -> RequestLog:
    """One JSON line per request on standard error (server/app.py writes them)."""
    # Nothing else this server logs names a thread or source line: skip collecting them on every record
    # (the logging HOWTO's "Optimization" settings). Not the process id: gunicorn's own lines print it.
    logging._srcfile = None
    logging.logThreads = logging.logMultiprocessing = False
    return RequestLog(sys.stderr.fileno())


def _answer_unparsable_requests_with_problems(live) -> None:
    """Requests gunicorn cannot parse get a problem document, not gunicorn's HTML page.

    A request line over 4094 bytes (414), headers over gunicorn's limits (431)
    or malformed HTTP (400) are answered by the worker before any app runs,
    through ``gunicorn.util.write_error``; gunicorn has no setting for that
    page, so its writer is replaced, in this process and the workers it forks.
    """
    def write_problem(sock, status_int, reason, mesg):
        gunicorn_util.write_nonblock(sock, problems.raw_response(status_int, reason, mesg, live.current.digest))

    gunicorn_util.write_error = write_problem


_STOPS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
RELOAD_WAIT_S = 10.0  # how long POST /v1/admin/reload waits for the master's attempt (then 202)


class _Arbiter(Arbiter):
    """gunicorn's master, which never loads a policy set in its main loop, and stops first.

    gunicorn handles signals one after the other in its main loop, and calls
    the on_reload hook there on SIGHUP: a slow load held every signal behind
    it, SIGTERM too, and each SIGHUP of a burst loaded the set once more. Here
    SIGHUP (like the file watcher and POST /v1/admin/reload) only asks
    ``server.reloads.Reloads``, which loads in a thread of the master; when an
    attempt is done, the main loop puts the new set in force and replaces the
    workers (``_put_in_force``). A stopping signal is handled before anything
    queued with it, and drops every reload pending.
    """

    def __init__(self, app: "_Application"):
        super().__init__(app)
        self.serving = app.serving
        source = self.serving.source
        self.reloads = Reloads(self.serving.live, self.serving.shared, self.wakeup,
                               refresh=source.refresh if source is not None else None)
        self._watcher = None

    def wait_for_signals(self, timeout=1.0):
        signals = super().wait_for_signals(timeout)
        return [s for s in signals if s in _STOPS][:1] or signals

    def handle_hup(self):
        self.reloads.request("SIGHUP")

    def handle_term(self):
        self._stop_reloading()
        self._stop_listening()
        super().handle_term()

    def handle_int(self):
        self._stop_reloading()
        super().handle_int()

    def handle_quit(self):
        self._stop_reloading()
        super().handle_quit()

    def start(self):
        super().start()
        source = self.serving.source
        if source is not None:  # before the first workers answer: no publish after that goes unseen
            source.start(self.serving.live, lambda: self.reloads.request(PUBLISHED),
                         self.serving.shared.folder / SOURCE_REPORT)
            self.serving.echo(f"supportpolicy: following the policy set in force at {source.where}")
        if self.serving.watch:  # before the first workers answer: no change made after that goes unseen
            live = self.serving.live
            self._watcher = PolicyWatcher(live.roots, lambda: self.reloads.request(WATCHED)).start()
            self.serving.echo(f"supportpolicy: following changes to {', '.join(str(r) for r in live.roots)}")

    def manage_workers(self):
        """gunicorn's main loop calls this after every signal and wake-up: a finished reload is taken here."""
        outcome = self.reloads.take()
        if outcome is not None:
            try:
                self._put_in_force(*outcome)
            finally:
                self.reloads.taken()
        super().manage_workers()
        if not self.reloads.started and self.WORKERS:  # the first workers are forked: now load beside them
            # Folders found changed at start are loaded as the watcher loads a change: once no file is
            # still being written.
            self.reloads.start(follow=self._watcher is not None,
                               stale=self._watcher.recheck if self._watcher is not None else None)

    def _stop_reloading(self) -> None:
        self.reloads.stop()
        if self.serving.source is not None:
            self.serving.source.stop()
        if self._watcher is not None:
            self._watcher.stop()

    def _put_in_force(self, attempt, candidate, tickets) -> None:
        live, serving = self.serving.live, self.serving
        replaced = live.put_in_force(attempt, candidate)
        try:
            serving.shared.publish(attempt, tickets, live.status)
        except OSError as exc:  # its folder removed under it: the workers miss this one, the server goes on
            serving.echo(f"supportpolicy: cannot tell the workers of the reload attempt: {exc}")
        if not attempt.ok:
            if serving.metrics is not None:
                serving.metrics.reload_failures.inc()
            serving.echo(f"supportpolicy: reload refused, still deciding with {live.current.digest}:")
            for error in attempt.errors:
                serving.echo(f"  {error}")
        elif replaced:
            serving.echo(f"supportpolicy: reloaded, policy set {attempt.digest}")
        else:
            serving.echo(f"supportpolicy: {attempt.reason}: the policy set is unchanged, {live.current.digest}")
        if not replaced:
            return  # the same set (or none valid): the workers deciding with it stay
        if serving.source is not None:
            serving.source.beat_soon()
        # The replaced set is freed as its last reference goes (it holds no cycle). What the load left in
        # cycles is collected, and what the new workers share is kept out of the collector's scans.
        gc.collect()
        gc.freeze()
        for _ in range(self.num_workers):
            self.spawn_worker()
        # manage_workers then sends SIGTERM to the oldest beyond num_workers: the old workers finish the
        # requests they hold and exit.

    def _stop_listening(self) -> None:
        """On SIGTERM, stop listening at once, while the workers finish the requests they have.

        gunicorn's master closes only its own copy of the listening socket; a worker keeps its copy
        open until its request in flight is answered, so the kernel goes on accepting connections no worker
        will take, and resets them when the last worker exits (gunicorn #922, #2529, #3397). Here the
        workers are told first (so that none wakes to accept() on the socket), then the socket itself,
        shared by the master and every worker, is shut down: on Linux that stops its listening in every
        process, and a new connection is refused. On SIGTERM only: a reload keeps listening. Not with a
        socket handed over (systemd, USR2 re-exec), which must go on listening for whoever holds it next.
        """
        if self.reexec_pid == self.master_pid == 0 and not self.systemd and not self.cfg.reuse_port:
            self.kill_workers(signal.SIGTERM)
            for listener in self.LISTENERS:
                try:
                    listener.sock.shutdown(socket.SHUT_RD)
                except OSError:  # a system that cannot shut a listening socket down: closed as before
                    pass


@dataclass
class _Serving:
    """What the master needs to reload: the set in force, where the workers learn of attempts, and so on."""

    live: object
    shared: SharedAttempts
    watch: bool
    echo: object
    metrics: object
    source: object = None  # server.policysource.Follower, with --policy-source


def _reload_wait(echo) -> float:
    """SUPPORTPOLICY_RELOAD_WAIT (seconds, 0 to 25: a sync worker must answer within gunicorn's 30 s)."""
    text = os.environ.get("SUPPORTPOLICY_RELOAD_WAIT")
    if text is None:
        return RELOAD_WAIT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 25:
        echo(f"supportpolicy: SUPPORTPOLICY_RELOAD_WAIT={text!r} is not a number of seconds from 0 to 25; "
             f"POST /v1/admin/reload waits {RELOAD_WAIT_S:g} s")
        return RELOAD_WAIT_S
    return seconds


def _keep_forks_from_durable_rules_lock() -> None:
    """The master forks workers while its reload thread may be registering rules with durable-rules, under
    its process-wide lock: a worker forked then would inherit the lock held by a thread it does not have,
    and every decision would wait for it forever. Forks wait for the lock instead (microseconds)."""
    os.register_at_fork(before=durable_lock.acquire, after_in_parent=durable_lock.release,
                        after_in_child=durable_lock.release)


def serve(live, bind: str, workers: int, decision_log=None, watch: bool = True, echo=print, tokens=None,
          threads: int = THREADS, source=None) -> None:
    use_multiprocess(tempfile.mkdtemp(prefix="supportpolicy-metrics-"))
    requests_log = _log_requests()
    _answer_unparsable_requests_with_problems(live)
    shared = SharedAttempts(tempfile.mkdtemp(prefix="supportpolicy-reloads-"))
    master = os.getpid()
    atexit.register(lambda: os.getpid() == master and shutil.rmtree(shared.folder, ignore_errors=True))
    live.shared_attempts = shared
    wait = _reload_wait(echo)

    def ask_the_master():
        """In a worker: the master reloads (once, for every worker) and this waits for what it found."""
        ticket = shared.ask()
        os.kill(os.getppid(), signal.SIGHUP)
        return shared.answer(ticket, wait)

    app = create_app({"LIVE": live, "DECISION_LOG": decision_log, "RELOAD_NOTIFY": ask_the_master,
                      "TOKENS": tokens, "REQUEST_LOG": requests_log,
                      "POLICY_SOURCE": SourceReport(shared.folder / SOURCE_REPORT) if source is not None else None})
    metrics = app.extensions.get("metrics")  # benchmarks/bare_app.py serves an app without any
    _keep_forks_from_durable_rules_lock()
    # Everything loaded so far lives as long as the server: keep it out of the
    # garbage collector's scans, and so out of the workers' copy-on-write pages.
    gc.freeze()
    # server.worker: gunicorn's threaded worker, in which slow and idle clients hold no thread.
    _Application(app, {"bind": bind, "workers": workers, "worker_class": "supportpolicy.server.worker.Worker",
                       "threads": threads, "keepalive": KEEPALIVE, "worker_connections": 1000,
                       "preload_app": True, "accesslog": None,
                       "graceful_timeout": 20, "timeout": 30, "proc_name": "supportpolicy",
                       "child_exit": lambda arbiter, worker: worker_exited(worker.pid),
                       # gunicorn 27's control socket sits at one path per user: two servers would share it.
                       "control_socket_disable": True,
                       # gunicorn takes SCRIPT_NAME (and PATH_INFO) from request headers of trusted peers, by
                       # default loopback ones, and strips SCRIPT_NAME off the path (a 500 when it is no prefix).
                       # This server is mounted at / and no proxy sets them: no header may change routing.
                       "forwarder_headers": ""},
                 _Serving(live, shared, watch, echo, metrics, source)).run()
