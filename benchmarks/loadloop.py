"""The timed load of bench_decisions.py and bench_lifecycle.py: threads posting to ``POST /v1/decisions``.

Each thread has one keep-alive connection (client.KeepAlive: reopened when the
server closes it, as gunicorn's sync workers did after every response; a
request that fails is counted, never retried) and sends the request bodies in
turn, from its own place in the list, until the run's time is up or ``stop``
is set. Every request is kept as a Sample: when it was sent, how long it took,
and what went wrong, if anything. bench_decisions.py sums a run up
(summary()); bench_lifecycle.py also adds runs together (combine()) and picks
out, by their start, the requests sent while a reload was under way.

(benchmarks/load/drive.py is another kind of load: a fixed count of numbered
requests, every answer checked against its request.)
"""
from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

from client import KeepAlive, Target, percentile

HEADERS = {"Content-Type": "application/json", "Connection": "keep-alive"}


class Sample(NamedTuple):
    start: float  # time.perf_counter() when the request was sent
    latency: float  # seconds until the answer was read, or the exchange failed
    error: str | None  # None when answered 200 with a body, else "HTTP 503", "ConnectionResetError", ...


@dataclass
class Run:
    samples: list[Sample]
    seconds: float  # from the common start to the end of the last thread
    connections: int  # connections opened
    client_cpu_s: float  # CPU time of this process meanwhile: the client threads', mostly


class Load:
    def __init__(self, target: Target, bodies: list[bytes], concurrency: int, stop: threading.Event):
        self.target, self.bodies, self.concurrency, self.stop = target, bodies, concurrency, stop

    def run(self, duration: float) -> Run:
        results = [None] * self.concurrency
        start_at = time.perf_counter() + 0.05  # every thread starts at once
        stop_at = start_at + duration
        threads = [threading.Thread(target=self._client, args=(i, start_at, stop_at, results), daemon=True)
                   for i in range(self.concurrency)]
        cpu_before = time.process_time()
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.2)
        cpu = time.process_time() - cpu_before
        done = [r for r in results if r]
        return Run(samples=[sample for samples, _, _ in done for sample in samples],
                   seconds=max((ended for _, _, ended in done), default=start_at) - start_at,
                   connections=sum(opened for _, opened, _ in done), client_cpu_s=cpu)

    def _client(self, index: int, start_at: float, stop_at: float, results: list) -> None:
        clock = time.perf_counter
        samples = []
        connection = KeepAlive(self.target)
        bodies = self.bodies
        n = index * 97
        while clock() < start_at:
            time.sleep(0.001)
        try:
            while not self.stop.is_set() and clock() < stop_at:
                body = bodies[n % len(bodies)]
                n += 1
                t0 = clock()
                try:
                    status, data = connection.request("POST", "/v1/decisions", body, HEADERS)
                    error = None if status == 200 and data else f"HTTP {status}"
                except (OSError, http.client.HTTPException) as failure:
                    error = type(failure).__name__
                samples.append(Sample(t0, clock() - t0, error))
        finally:
            connection.close()
            results[index] = (samples, connection.opened, clock())


def combine(runs: list[Run]) -> Run:
    """Several runs as one: their requests together, over the sum of their times."""
    return Run(samples=[sample for run in runs for sample in run.samples],
               seconds=sum(run.seconds for run in runs),
               connections=sum(run.connections for run in runs),
               client_cpu_s=sum(run.client_cpu_s for run in runs))


def summary(run: Run) -> dict:
    """Requests sent, answered 200, errors (and how many of each kind), seconds, requests answered 200
    a second, and the median and p99 latency in milliseconds (None without requests)."""
    latencies = sorted(sample.latency for sample in run.samples)
    error_kinds = Counter(sample.error for sample in run.samples if sample.error is not None)
    errors = sum(error_kinds.values())
    ok = len(run.samples) - errors

    def ms(q):
        return 1000 * percentile(latencies, q) if latencies else None
    return {"requests": len(run.samples), "ok": ok, "errors": errors, "error_kinds": dict(error_kinds),
            "seconds": run.seconds, "requests_per_s": ok / run.seconds if run.seconds > 0 else 0.0,
            "p50_ms": ms(0.50), "p99_ms": ms(0.99)}
