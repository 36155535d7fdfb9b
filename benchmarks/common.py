"""What the benchmark scripts share around their measurements: imports, stderr, Ctrl-C, clean-up.

``python benchmarks/<script>.py`` puts this folder first on sys.path, so every
script imports this module as ``common`` (benchmarks/load/load.py appends the
folder to sys.path itself). The figures go to stdout; everything said here
goes to stderr.
"""
from __future__ import annotations

import importlib
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, NoReturn

CHECKOUT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def time_calls(step: Callable[[], object], rounds: int, warm_up: int) -> dict:
    """Microseconds per ``step()``, median and 99th percentile, over ``rounds`` calls after ``warm_up`` calls."""
    for _ in range(warm_up):
        step()
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        step()
        timings.append((time.perf_counter() - start) * 1e6)
    timings.sort()
    return {"median_us": round(statistics.median(timings), 1), "p99_us": round(timings[int(len(timings) * .99)], 1)}


def make_engine_importable() -> None:
    """Call before importing ``supportpolicy``: it must be installed (``pip install -e .`` in a checkout)."""
    try:
        importlib.import_module("supportpolicy.engine")
    except ImportError:
        sys.exit(f"supportpolicy is not installed: run `pip install -e {CHECKOUT}` first (or `tox -e bench`)")


def interrupt_on_signals() -> None:
    """SIGTERM and SIGHUP stop the run as Ctrl-C does (KeyboardInterrupt), so its servers are stopped too."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def die_with_parent() -> None:
    """A server's preexec_fn (Linux): the server gets SIGTERM if the benchmark dies without stopping it."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort; stopping the server is the real clean-up
        pass


class Serving:
    """``with Serving(name, stop, clean_up) as serving:`` around the part of a benchmark that runs servers
    and client threads. However the block ends, ``stop`` is set (the client threads end) and then
    ``clean_up()`` runs (the servers are stopped). Ctrl-C (or SIGTERM, SIGHUP: interrupt_on_signals)
    and RuntimeError (a server that would not start, say) end the block with a line on stderr and
    leave their exit code in ``serving.exit_code``, 130 or 2 (None when the block ran to its end);
    any other exception goes on up."""

    def __init__(self, name: str, stop, clean_up: Callable[[], None],
                 interrupted: str = "interrupted; stopping the servers"):
        self.name, self.stop, self.clean_up, self.interrupted = name, stop, clean_up, interrupted
        self.exit_code: int | None = None

    def __enter__(self) -> "Serving":
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        self.stop.set()
        try:
            if kind is not None and issubclass(kind, KeyboardInterrupt):
                log(self.interrupted)
                self.exit_code = 130
            elif kind is not None and issubclass(kind, RuntimeError):
                log(f"{self.name}: {error}")
                self.exit_code = 2
        finally:
            self.clean_up()
        return self.exit_code is not None


def run(main: Callable[[], int]) -> NoReturn:
    """A script's last line: exit with main()'s code; Ctrl-C outside a Serving block ends it with 130."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
