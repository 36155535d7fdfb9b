"""The load: client threads, each with its own keep-alive connection, optionally in several processes.

Requests are numbered; request n sends template n mod len(templates) with the
ticket id LOAD-n, so every answer can be matched to its request. Threads take
the next number from a shared iterator, so a slow connection does not leave
its share of the count undone; with several processes each has a fixed slice.
A run ends when its numbers are used up, at ``stop_at`` (a perf_counter
time), or when ``stop`` is set (Ctrl-C), and returns a Tally of everything
seen. Per request the client decodes and checks the answer (mix.check), so
its own CPU is measured and reported: a client near one full core is what
limits the figures, not the server.
"""
from __future__ import annotations

import http.client
import multiprocessing
import signal
import threading
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field

import mix

from client import KeepAlive, Target

HEADERS = {"Content-Type": "application/json", "Connection": "keep-alive"}
EXAMPLES = 5  # error examples kept, for the report


@dataclass
class Tally:
    sent: int = 0
    answered: int = 0  # 200 answers, whatever their body: the server logged each before answering
    latencies: array = field(default_factory=lambda: array("d"))  # seconds, one per request sent
    errors: Counter = field(default_factory=Counter)  # kind -> count
    examples: list = field(default_factory=list)  # the first few errors, with details
    connections: int = 0
    decision_ids: set = field(default_factory=set)
    answers: dict = field(default_factory=dict)  # template index -> Counter of decision signatures
    seen: Counter = field(default_factory=Counter)  # what the answers covered: rows, holidays, offsets
    client_cpu_s: float = 0.0
    interrupted: bool = False  # Ctrl-C or SIGTERM stopped it

    def error(self, kind: str, detail: str, n: int = 1) -> None:
        self.errors[kind] += n
        if len(self.examples) < EXAMPLES:
            self.examples.append(f"{kind}: {detail}")

    def merge(self, other: "Tally") -> None:
        self.sent += other.sent
        self.answered += other.answered
        self.latencies.extend(other.latencies)
        self.errors.update(other.errors)
        self.examples = (self.examples + other.examples)[:EXAMPLES]
        self.connections += other.connections
        # The same decision id twice breaks docs/decision-api.md's "unique id"; counted as errors.
        duplicates = len(self.decision_ids & other.decision_ids)
        if duplicates:
            self.error("decision_id given twice", f"{duplicates} ids answered on two connections", duplicates)
        self.decision_ids |= other.decision_ids
        for template, signatures in other.answers.items():
            self.answers.setdefault(template, Counter()).update(signatures)
        self.seen.update(other.seen)
        self.client_cpu_s += other.client_cpu_s
        self.interrupted |= other.interrupted

    def inconsistent(self) -> int:
        """Answers that differ from the most common answer to the same request (same policy digest
        included in the comparison, so a reload during the run is not counted)."""
        return sum(sum(c.values()) - max(c.values()) for c in self.answers.values() if len(c) > 1)


def _client(target: Target, templates: list, numbers, stop_at: float, stop, tally: Tally) -> None:
    connection = KeepAlive(target)
    clock = time.perf_counter
    try:
        for n in numbers:  # shared with the other threads; next() is atomic under the GIL
            if stop.is_set() or clock() >= stop_at:
                break
            template = n % len(templates)
            ticket = f"LOAD-{n:07d}"
            body = mix.encode(templates[template], ticket)
            t0 = clock()
            try:
                status, data = connection.request("POST", "/v1/decisions", body, HEADERS)
            except (OSError, http.client.HTTPException) as error:
                tally.latencies.append(clock() - t0)
                tally.sent += 1
                tally.error(type(error).__name__, f"{ticket}: {error}")
                continue
            tally.latencies.append(clock() - t0)
            tally.sent += 1
            tally.answered += status == 200
            kind, decision = mix.check(status, data, ticket)
            if kind:
                tally.error(kind, f"{ticket}: {data[:300]!r}")
                continue
            if decision["decision_id"] in tally.decision_ids:
                tally.error("decision_id given twice", f"{ticket}: {decision['decision_id']}")
            tally.decision_ids.add(decision["decision_id"])
            tally.answers.setdefault(template, Counter())[mix.signature(decision)] += 1
            tally.seen[f"row {mix.table_row(decision)}"] += 1
            tally.seen["holiday" if decision["holiday"] else "not a holiday"] += 1
            tally.seen["in hours" if decision["in_business_hours"] else "out of hours"] += 1
            tally.seen[f"offset {decision['local_time'][-6:]}"] += 1  # -05:00 daylight, -06:00 standard
    finally:
        tally.connections = connection.opened
        connection.close()


def run_threads(target: Target, templates: list, first: int, count: int, threads: int, stop_at: float,
                stop, progress=None) -> Tally:
    """``count`` requests numbered from ``first`` on ``threads`` threads; ``progress(sent)`` about once
    a second while they run."""
    numbers = iter(range(first, first + count))
    tallies = [Tally() for _ in range(threads)]
    cpu = time.process_time()
    workers = [threading.Thread(target=_client, args=(target, templates, numbers, stop_at, stop, t), daemon=True)
               for t in tallies]
    for worker in workers:
        worker.start()

    def finished() -> bool:
        for worker in workers:
            worker.join(timeout=1.0 / len(workers))
        if progress:
            progress(sum(t.sent for t in tallies))
        return not any(worker.is_alive() for worker in workers)
    interrupted = _wait(finished, stop)
    total = Tally(interrupted=interrupted)
    for t in tallies:
        total.merge(t)
    total.client_cpu_s = time.process_time() - cpu
    return total


def _wait(finished, stop) -> bool:
    """Call ``finished()`` until it is true. On Ctrl-C (or a signal main() turns into one) set ``stop``
    and go on waiting, deaf to more of them, so that the clients end and what they did is reported.
    Whether it was interrupted."""
    try:
        while not finished():
            pass
        return False
    except KeyboardInterrupt:
        stop.set()
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not finished():
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return True


def _process(target, templates, first, count, threads, stop_at, stop, slot, sent, pipe) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and sets ``stop``
    tally = run_threads(target, templates, first, count, threads, stop_at, stop,
                        progress=lambda n: sent.__setitem__(slot, n))
    pipe.send(tally)
    pipe.close()


def run(target: Target, templates: list, first: int, count: int, concurrency: int, processes: int,
        stop_at: float, stop, progress=None) -> Tally:
    """The requests on ``concurrency`` threads in all, spread over ``processes`` client processes
    (1: threads of this process). ``stop`` must be a multiprocessing.Event when processes > 1."""
    processes = max(1, min(processes, concurrency, count or 1))
    if processes == 1:
        return run_threads(target, templates, first, count, concurrency, stop_at, stop, progress)
    context = multiprocessing.get_context("fork")  # the children start from this state: no re-import
    sent = context.RawArray("q", processes)
    children = []
    for i in range(processes):
        share = count // processes + (i < count % processes)
        begin = first + i * (count // processes) + min(i, count % processes)
        threads = concurrency // processes + (i < concurrency % processes)
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_process, daemon=True,
                                args=(target, templates, begin, share, threads, stop_at, stop, i, sent, send))
        child.start()
        send.close()
        children.append((child, receive))
    total = Tally()
    pending = list(children)

    def finished() -> bool:
        for child, receive in list(pending):
            if receive.poll(1.0 / len(pending)):
                try:
                    total.merge(receive.recv())
                except EOFError:
                    total.error("client process died", f"pid {child.pid}, exit code {child.exitcode}")
                pending.remove((child, receive))
                child.join(timeout=10)
            elif not child.is_alive() and not receive.poll():
                total.error("client process died", f"pid {child.pid}, exit code {child.exitcode}")
                pending.remove((child, receive))
        if progress:
            progress(sum(sent))
        return not pending
    total.interrupted = _wait(finished, stop) or total.interrupted
    return total
