"""Group commit: the writers of one process share transactions.

A writer that finds no commit under way becomes the leader: it takes every
batch queued so far, commits them in one transaction, and wakes the writers
whose batches it committed. Writers that arrive during a commit queue up and
wait; the first of them to wake after it leads the next one. Each writer
returns only once the transaction holding its batch has committed, with what
the commit said of each of its records (the store's answer: whether it was
written, or what stood in its way), or gets that transaction's error when it
failed, so nothing is acknowledged that is not stored, and a failure is never
half-applied to a batch.

With one request at a time per process (a sync worker) every writer leads its
own commit at once; with several (threads) commits carry several batches.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class _Batch:
    records: list
    results: list = field(default_factory=list)
    done: bool = False
    error: BaseException | None = None
    waiting: threading.Event = field(default_factory=threading.Event)


class GroupCommit:
    MAX_RECORDS = 500  # in one transaction: a bound on how long one commit holds the log's turn

    def __init__(self, commit):
        # Called with a list of records, in one transaction; returns one result per record; raises on failure.
        self._commit = commit
        self._lock = threading.Lock()
        self._queue: list[_Batch] = []
        self._leading = False

    def submit(self, records: list) -> list:
        """Return once ``records`` are committed, with the commit's result for each; raise its error if it failed."""
        batch = _Batch(list(records))
        with self._lock:
            self._queue.append(batch)
        while True:
            with self._lock:
                if batch.done:
                    break
                lead = not self._leading
                if lead:
                    self._leading = True
                    taken = self._take()
                else:
                    batch.waiting.clear()  # set again when its commit is done, or it is to lead the next
            if lead:
                self._lead(taken)
            else:
                batch.waiting.wait()
        if batch.error is not None:
            raise batch.error
        return batch.results

    def _take(self) -> list[_Batch]:
        taken, count = [], 0
        while self._queue and (not taken or count + len(self._queue[0].records) <= self.MAX_RECORDS):
            count += len(self._queue[0].records)
            taken.append(self._queue.pop(0))
        return taken

    def _lead(self, taken: list[_Batch]) -> None:
        error, results = None, []
        try:
            results = self._commit([record for batch in taken for record in batch.records])
        except BaseException as exc:  # handed to every writer of the transaction, each raises it
            error = exc
        with self._lock:
            start = 0
            for batch in taken:
                batch.done, batch.error = True, error
                if error is None:
                    batch.results, start = results[start:start + len(batch.records)], start + len(batch.records)
                batch.waiting.set()
            self._leading = False
            if self._queue:  # the next leader: a writer that queued during this commit
                self._queue[0].waiting.set()
