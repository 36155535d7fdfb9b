"""Tracked tickets: each ticket's decision request and events, in the decision log's store, and its deadlines.

A ticket is appended to, never rewritten: its events keep the order they were
stored in, each with the caller's event id, unique within the ticket, and a
fingerprint of the event as sent, so a retried webhook is stored once and the
same id with another event is refused. An append holds the log's write turn
(across processes and servers) from reading the ticket to committing what it
adds, so two appends to one ticket cannot interleave; a batch of events is
stored whole or not at all. The request and the events are kept as the log's
privacy says (server.storage.privacy: by default no summary, the e-mail as a
keyed hash, no event's ``by``).

Each append also writes the ticket's deadlines at its last event (the first
warning and the first breach of a clock still open, foreseen exactly until the
next event): ``next_at``, the sooner of the two, is indexed, so the queue of
tickets due before an instant is read from the index, soonest first.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

import orjson

from supportpolicy.engine.clock.deadlines import BREACH, WARNING, Deadlines
from supportpolicy.engine.errors import FieldError, InvalidRequest
from supportpolicy.engine.tools.masked import replayable
from supportpolicy.server.storage.idempotency import IdempotencyKey
from supportpolicy.server.storage.log import kept_key, utc_text
from supportpolicy.server.storage.privacy import Masked

STATEMENTS = ("""
CREATE TABLE IF NOT EXISTS tickets (
    ticket_id      TEXT PRIMARY KEY,  -- the caller's own id (the decision request's ticket_id)
    customer       TEXT NOT NULL,
    plan           TEXT NOT NULL,     -- "<id> <version>": the plan in effect when the ticket was received
    request        TEXT NOT NULL,     -- JSON: the decision request, as the log's privacy keeps it
    privacy        TEXT,              -- JSON: the request's fields masked; NULL when kept as received
    fingerprint    TEXT NOT NULL,     -- of the request as received (keyed where the log masks requests)
    events         INTEGER NOT NULL,  -- how many are stored
    state          TEXT NOT NULL,     -- at the last event: breached, running, paused or met
    warning_at     TEXT,              -- UTC, as the log writes instants: the first warning of an open clock
    warning_target TEXT,
    breach_at      TEXT,              -- the first breach of an open clock (passed, or foreseen)
    breach_target  TEXT,
    next_at        TEXT,              -- the sooner of the two: the queue's order
    next_kind      TEXT,              -- warning or breach
    updated_at     TEXT NOT NULL
)""", """
CREATE TABLE IF NOT EXISTS ticket_events (
    ticket_id   TEXT NOT NULL,
    position    INTEGER NOT NULL,     -- 0, 1, ...: the order stored, oldest first
    event_id    TEXT NOT NULL,        -- the caller's id, unique within the ticket
    fingerprint TEXT NOT NULL,        -- of the event as sent (keyed where the log masks requests)
    event       TEXT NOT NULL,        -- JSON, as the log's privacy keeps it
    PRIMARY KEY (ticket_id, position),
    UNIQUE (ticket_id, event_id)
)""", "CREATE INDEX IF NOT EXISTS tickets_by_next ON tickets (next_at, ticket_id) WHERE next_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS tickets_by_warning ON tickets (warning_at, ticket_id) WHERE warning_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS tickets_by_breach ON tickets (breach_at, ticket_id) WHERE breach_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS tickets_by_customer ON tickets (customer, next_at, ticket_id)", """
CREATE TABLE IF NOT EXISTS ticket_clocks (
    ticket_id   TEXT NOT NULL,
    target      TEXT NOT NULL,        -- each clock still open at the ticket's last event (none: none is)
    plan        TEXT NOT NULL,
    state       TEXT NOT NULL,        -- then: breached, running or paused
    warning_at  TEXT,                 -- its first warning, fired or foreseen
    breach_at   TEXT,                 -- its breach, passed or foreseen
    PRIMARY KEY (ticket_id, target)
)""")
TICKET_COLUMNS = ("ticket_id, customer, plan, request, privacy, fingerprint, events, state, warning_at, "
                  "warning_target, breach_at, breach_target, next_at, next_kind, updated_at")
UNSHARED = ("by",)  # what an event keeps of personal data only when the log keeps everything
# The queue's orders: by the sooner deadline, or by one kind.
QUEUE_COLUMN = {None: "next_at", WARNING: "warning_at", BREACH: "breach_at"}


def fingerprint(value) -> str:
    """sha256 of the JSON with keys sorted, as server.params fingerprints a request body."""
    return "sha256:" + hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class TicketEvent:
    """An event to store: the caller's id, the event as sent, and its place in the body that sent it."""

    event_id: str
    event: dict
    index: int = 0


@dataclass(frozen=True)
class StoredTicket:
    ticket_id: str
    customer: str
    request: dict  # as the log kept it
    masked: tuple  # privacy.Masked
    fingerprint: str
    events: tuple  # the events as stored (dicts), oldest first
    event_ids: tuple

    def decidable(self) -> tuple[dict, bool | None]:
        """The request as the engine reads it, and the designated-contact status the log recorded (None: the
        request's own e-mail decides it)."""
        found, _ = replayable({"request": self.request, "privacy": {"masked": [m.as_json() for m in self.masked]}})
        if isinstance(found, dict):
            return found, None
        return found.decidable(), found.designated_contact


@dataclass(frozen=True)
class Settled:
    """What an append's check made of the ticket: the answer to give, and what the ticket is now."""

    answer: object
    customer: str
    plan: str
    deadlines: Deadlines
    request: dict | None = None  # the request as received, when the ticket is new
    designated_contact: bool = False
    kept_as: tuple | None = None  # (request, masked) as a log record kept it, when the request came from one


@dataclass(frozen=True)
class Appended:
    answer: object  # Settled.answer
    stored: int  # events stored now
    already_stored: int  # events sent before and stored then (a retry)


class TicketStore:
    """Tickets in the store of ``log`` (a server.storage.log.DecisionLog), whose privacy they are kept with."""

    def __init__(self, log):
        self.log = log

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.log.placeholder)

    def get(self, ticket_id: str) -> StoredTicket | None:
        return self.read(lambda sql, parameters: self.log.read(sql, parameters), ticket_id)

    def read(self, rows, ticket_id: str, events: bool = True) -> StoredTicket | None:
        """The ticket, with ``rows(sql, parameters)`` (in a transaction, or not); its events left out unless
        ``events``."""
        found = rows("SELECT customer, request, privacy, fingerprint FROM tickets WHERE ticket_id = ?", (ticket_id,))
        if not found:
            return None
        customer, request, masked, request_fingerprint = found[0]
        events = rows("SELECT event_id, fingerprint, event FROM ticket_events WHERE ticket_id = ? "
                      "ORDER BY position", (ticket_id,)) if events else []
        return StoredTicket(ticket_id, customer, orjson.loads(request),
                            tuple(Masked.from_json(m) for m in orjson.loads(masked or "[]")), request_fingerprint,
                            tuple(orjson.loads(e) for _, _, e in events), tuple((i, f) for i, f, _ in events))

    def of_customer(self, customer: str) -> list[StoredTicket]:
        """Every ticket of the customer, by ticket id."""
        found = self.log.read("SELECT ticket_id FROM tickets WHERE customer = ? ORDER BY ticket_id", (customer,))
        return [ticket for ticket in map(self.get, (row[0] for row in found)) if ticket is not None]

    def keyed(self, value) -> str:
        """The fingerprint of ``value`` as this store keeps it (keyed where the log masks requests)."""
        return kept_key(IdempotencyKey("", "", fingerprint(value)), self.log.privacy).fingerprint

    def append(self, ticket_id: str, events: list[TicketEvent], settle) -> Appended:
        """Add ``events`` to the ticket, each once, in one transaction.

        ``settle(stored, fresh)`` is called within it with the ticket as stored (None: not yet) and the events
        not stored before; it returns a Settled, or raises (then nothing is stored). An event id stored (or sent
        in this batch) with another event is an InvalidRequest naming each such event."""
        with self.log.turn() as transaction:
            stored = self.read(lambda sql, parameters: transaction.rows(self._sql(sql), parameters), ticket_id)
            fresh, repeated = self._fresh(stored, events)
            settled = settle(stored, fresh)
            if stored is None or fresh:
                self._write(transaction, ticket_id, stored, fresh, settled)
        return Appended(settled.answer, len(fresh), repeated)

    def _fresh(self, stored: StoredTicket | None, events: list[TicketEvent]) -> tuple[list[TicketEvent], int]:
        known = dict(stored.event_ids) if stored is not None else {}
        fresh, repeated, errors = [], 0, []
        for event in events:
            print_ = self.keyed(event.event)
            earlier = known.get(event.event_id)
            if earlier is None:
                known[event.event_id] = print_
                fresh.append(event)
            elif earlier == print_:
                repeated += 1
            else:
                errors.append(FieldError(f"/events/{event.index}/id", f"names an event ({event.event_id!r}) stored "
                                         "before, or sent before in this batch, with different content; give each "
                                         "event an id of its own, and send a retried event unchanged"))
        if errors:
            raise InvalidRequest("an event id names another event of this ticket", errors)
        return fresh, repeated

    def _write(self, transaction, ticket_id: str, stored: StoredTicket | None, fresh: list[TicketEvent],
               settled: Settled) -> None:
        privacy, first = self.log.privacy, len(stored.events) if stored is not None else 0
        transaction.insert(self._sql("INSERT INTO ticket_events (ticket_id, position, event_id, fingerprint, event) "
                                     "VALUES (?, ?, ?, ?, ?)"),
                           [(ticket_id, first + n, e.event_id, self.keyed(e.event),
                             orjson.dumps(_kept_event(e.event, privacy.everything)).decode())
                            for n, e in enumerate(fresh)])
        transaction.execute(self._sql("DELETE FROM ticket_clocks WHERE ticket_id = ?"), (ticket_id,))
        transaction.insert(self._sql("INSERT INTO ticket_clocks (ticket_id, target, plan, state, warning_at, "
                                     "breach_at) VALUES (?, ?, ?, ?, ?, ?)"),
                           [(ticket_id, t.target, settled.plan, t.state, t.warning and utc_text(t.warning),
                             t.breach and utc_text(t.breach)) for t in settled.deadlines.targets])
        marks = _deadline_values(settled.deadlines)
        now = utc_text(datetime.now(timezone.utc))
        if stored is None:
            request, masked = settled.kept_as or privacy.kept(settled.request, settled.designated_contact)
            transaction.insert(self._sql(f"INSERT INTO tickets ({TICKET_COLUMNS}) VALUES "
                                         f"({', '.join(['?'] * 15)})"),
                               [(ticket_id, settled.customer, settled.plan, orjson.dumps(request).decode(),
                                 orjson.dumps([m.as_json() for m in masked]).decode() if masked else None,
                                 self.keyed(settled.request), len(fresh), *marks, now)])
        else:
            transaction.execute(self._sql(
                "UPDATE tickets SET events = ?, state = ?, warning_at = ?, warning_target = ?, breach_at = ?, "
                "breach_target = ?, next_at = ?, next_kind = ?, updated_at = ? WHERE ticket_id = ?"),
                (first + len(fresh), *marks, now, ticket_id))

    def queue(self, customer: str | None, due_before: datetime | None, kind: str | None, after: tuple | None,
              limit: int) -> list[dict]:
        """The tickets with a deadline of ``kind`` (None: either) before ``due_before``, soonest first, after
        ``after`` ((instant text, ticket id) of the last one of the page before)."""
        column = QUEUE_COLUMN[kind]
        where, parameters = [f"{column} IS NOT NULL"], []
        for clause, value in ((f"{column} < ?", due_before and utc_text(due_before)), ("customer = ?", customer)):
            if value is not None:
                where.append(clause)
                parameters.append(value)
        if after is not None:
            where.append(f"({column} > ? OR ({column} = ? AND ticket_id > ?))")
            parameters += [after[0], after[0], after[1]]
        rows = self.log.read(f"SELECT ticket_id, customer, plan, state, warning_at, warning_target, breach_at, "
                             f"breach_target, next_at, next_kind, events, updated_at FROM tickets "
                             f"WHERE {' AND '.join(where)} ORDER BY {column}, ticket_id LIMIT {int(limit)}",
                             tuple(parameters))
        now = utc_text(datetime.now(timezone.utc))
        return [_queued(row, now) for row in rows]


def open_clocks(log, now: datetime) -> list[tuple[str, str, str, int]]:
    """(plan, target, state, how many) of the open clocks of every tracked ticket, their states now: breached
    once the breach has passed, warning once a warning has (and no breach), else running or paused."""
    now_text = utc_text(now)
    return [tuple(row) for row in log.read(
        "SELECT plan, target, CASE WHEN state = 'breached' OR breach_at <= ? THEN 'breached' "
        "WHEN warning_at <= ? THEN 'warning' ELSE state END AS now_state, count(*) FROM ticket_clocks "
        "GROUP BY plan, target, now_state ORDER BY plan, target, now_state", (now_text, now_text))]


def _kept_event(event: dict, everything: bool) -> dict:
    return event if everything else {k: v for k, v in event.items() if k not in UNSHARED}


def _deadline_values(deadlines: Deadlines) -> tuple:
    warning, breach, following = deadlines.warning, deadlines.breach, deadlines.next
    return (deadlines.state, warning and utc_text(warning.at), warning and warning.target,
            breach and utc_text(breach.at), breach and breach.target,
            following and utc_text(following[1].at), following and following[0])


def _queued(row, now: str) -> dict:
    """A ticket of the queue; its state now: breached once a breach has passed, at a warning once one has (while
    a clock runs or is paused), else as at its last event."""
    ticket_id, customer, plan, state, warning_at, warning_target, breach_at, breach_target, next_at, next_kind, \
        events, updated_at = row
    if breach_at is not None and breach_at <= now:
        state = "breached"
    elif warning_at is not None and warning_at <= now:
        state = "warning"
    return {"ticket_id": ticket_id, "customer": customer, "plan": plan, "state": state,
            "state_at_last_event": row[3],
            "warning": None if warning_at is None else {"at": warning_at, "target": warning_target},
            "breach": None if breach_at is None else {"at": breach_at, "target": breach_target},
            "next": None if next_at is None else {"at": next_at, "kind": next_kind,
                                                  "target": warning_target if next_kind == WARNING else breach_target},
            "events": events, "updated_at": updated_at}
