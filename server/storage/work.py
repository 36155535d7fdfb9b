"""A tracked ticket's work entries, its notice record and its charges, month by month, in the decision log's store.

Work is appended as events are (server.storage.tickets): each entry once by the
caller's entry id, with a fingerprint of the entry as sent, so a retried entry is
stored once and the same id with another entry is refused; a ticket has one
notice record, and sending another is refused. An append holds the log's write
turn from reading the ticket to committing, so a batch is stored whole or not at
all, and two appends to one ticket cannot interleave. With the entries, the
charge of each local month their work changed is stored as priced then
(engine.charge.ledger), with the versions that priced it: a statement reads
these, so a later change of the policy folders leaves a past month as it was.
An entry keeps its ``by`` only when the log keeps everything, as an event does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

import orjson

from supportpolicy.engine.errors import FieldError, InvalidRequest
from supportpolicy.engine.instants import POLICY_INSTANT, parse_instant
from supportpolicy.server.storage.log import utc_text
from supportpolicy.server.storage.tickets import StoredTicket, TicketStore

STATEMENTS = ("""
CREATE TABLE IF NOT EXISTS ticket_work (
    ticket_id   TEXT NOT NULL,
    entry_id    TEXT NOT NULL,        -- the caller's id, unique within the ticket
    month       TEXT NOT NULL,        -- YYYY-MM: the local month it began in, which bills it
    start_at    TEXT NOT NULL,        -- UTC, as the log writes instants
    end_at      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,        -- of the entry as sent (keyed where the log masks requests)
    entry       TEXT NOT NULL,        -- JSON, as the log's privacy keeps it
    PRIMARY KEY (ticket_id, entry_id)
)""", """
CREATE TABLE IF NOT EXISTS ticket_notices (
    ticket_id   TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    notice      TEXT NOT NULL         -- JSON: given_at, response
)""", """
CREATE TABLE IF NOT EXISTS ticket_charges (
    ticket_id       TEXT NOT NULL,
    month           TEXT NOT NULL,    -- YYYY-MM: the work begun in it, priced together
    customer        TEXT NOT NULL,
    charge          TEXT NOT NULL,    -- JSON: the charge as priced when its work was stored
    prepaid_minutes TEXT NOT NULL,    -- drawn from the prepaid block (exact decimal)
    priced_at       TEXT NOT NULL,
    PRIMARY KEY (ticket_id, month)
)""", "CREATE INDEX IF NOT EXISTS ticket_charges_by_customer ON ticket_charges (customer, month, ticket_id)")
UNSHARED = ("by",)


@dataclass(frozen=True)
class StoredWork:
    ticket: StoredTicket
    entries: tuple  # dicts as stored, by start
    notice: dict | None
    charges: tuple  # (month, charge document), by month


@dataclass(frozen=True)
class Priced:
    """What an append's check made of the work: for each month it changed, (month, charge document, prepaid
    minutes drawn), and the month of each entry stored now, by entry id."""

    months: tuple
    entry_months: dict


@dataclass(frozen=True)
class WorkAppended:
    work: StoredWork
    stored: int  # entries stored now
    already_stored: int  # entries sent before with the same content (a retry)
    notice_stored: bool


class WorkStore:
    """Tickets' work in the store of ``log`` (a server.storage.log.DecisionLog)."""

    def __init__(self, log):
        self.log = log
        self.tickets = TicketStore(log)

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.log.placeholder)

    def get(self, ticket_id: str) -> StoredWork | None:
        return self._read(lambda sql, parameters: self.log.read(sql, parameters), ticket_id)

    def _read(self, rows, ticket_id: str) -> StoredWork | None:
        ticket = self.tickets.read(rows, ticket_id, events=False)
        if ticket is None:
            return None
        entries = rows("SELECT entry FROM ticket_work WHERE ticket_id = ? ORDER BY start_at, entry_id", (ticket_id,))
        notice = rows("SELECT notice FROM ticket_notices WHERE ticket_id = ?", (ticket_id,))
        charges = rows("SELECT month, charge FROM ticket_charges WHERE ticket_id = ? ORDER BY month", (ticket_id,))
        return StoredWork(ticket, tuple(orjson.loads(e) for (e,) in entries),
                          orjson.loads(notice[0][0]) if notice else None,
                          tuple((month, orjson.loads(charge)) for month, charge in charges))

    def append(self, ticket_id: str, entries: list, notice: dict | None, settle) -> WorkAppended | None:
        """Add the entries ((index in the body, entry as sent) each) and the notice to the ticket, in one
        transaction; None when the ticket is not tracked.

        ``settle(work, fresh, notice_is_new, prepaid_used)`` is called within it with the work as stored, the
        entries not stored before, whether the notice is recorded now, and the prepaid minutes the customer's
        other tickets drew, by month; it returns a Priced, or raises (then nothing is stored)."""
        with self.log.turn() as transaction:
            work = self._read(lambda sql, parameters: transaction.rows(self._sql(sql), parameters), ticket_id)
            if work is None:
                return None
            fresh, repeated = self._fresh(transaction, ticket_id, entries)
            notice_is_new = self._notice_is_new(work, notice)
            if not fresh and not notice_is_new:
                return WorkAppended(work, 0, repeated, False)
            priced = settle(work, fresh, notice_is_new, self._prepaid_used(transaction, work.ticket))
            self._write(transaction, ticket_id, work.ticket.customer, fresh, notice if notice_is_new else None,
                        priced)
            stored = self._read(lambda sql, parameters: transaction.rows(self._sql(sql), parameters), ticket_id)
        return WorkAppended(stored, len(fresh), repeated, notice_is_new)

    def _fresh(self, transaction, ticket_id: str, entries: list) -> tuple[list, int]:
        known = dict(transaction.rows(self._sql("SELECT entry_id, fingerprint FROM ticket_work WHERE ticket_id = ?"),
                                      (ticket_id,)))
        fresh, repeated, errors = [], 0, []
        for index, entry in entries:
            print_ = self.tickets.keyed(entry)
            earlier = known.get(entry.get("entry_id"))
            if earlier is None:
                known[entry.get("entry_id")] = print_
                fresh.append((index, entry))
            elif earlier == print_:
                repeated += 1
            else:
                errors.append(FieldError(f"/entries/{index}/entry_id", f"names an entry ({entry['entry_id']!r}) "
                                         "stored before, or sent before in this batch, with different content; give "
                                         "each entry an id of its own, and send a retried entry unchanged"))
        if errors:
            raise InvalidRequest("an entry id names another entry of this ticket", errors)
        return fresh, repeated

    def _notice_is_new(self, work: StoredWork, notice: dict | None) -> bool:
        if notice is None:
            return False
        if work.notice is None:
            return True
        if self.tickets.keyed(notice) != self.tickets.keyed(work.notice):
            raise InvalidRequest("the ticket has another notice record", [FieldError(
                "/notice", f"differs from the notice stored for ticket {work.ticket.ticket_id!r} (given at "
                           f"{work.notice['given_at']}, {work.notice['response']}); a ticket has one notice "
                           "record: leave it out, or send the same one")])
        return False

    def _prepaid_used(self, transaction, ticket: StoredTicket) -> dict:
        used: dict = {}
        for month, minutes in transaction.rows(self._sql(
                "SELECT month, prepaid_minutes FROM ticket_charges WHERE customer = ? AND ticket_id <> ?"),
                (ticket.customer, ticket.ticket_id)):
            used[month] = used.get(month, Decimal(0)) + Decimal(minutes)
        return used

    def _write(self, transaction, ticket_id: str, customer: str, fresh: list, notice: dict | None,
               priced: Priced) -> None:
        everything = self.log.privacy.everything
        transaction.insert(self._sql("INSERT INTO ticket_work (ticket_id, entry_id, month, start_at, end_at, "
                                     "fingerprint, entry) VALUES (?, ?, ?, ?, ?, ?, ?)"),
                           [(ticket_id, e["entry_id"], priced.entry_months[e["entry_id"]],
                             utc_text(_instant(e["start"])), utc_text(_instant(e["end"])), self.tickets.keyed(e),
                             orjson.dumps(_kept(e, everything)).decode()) for _, e in fresh])
        if notice is not None:
            transaction.insert(self._sql("INSERT INTO ticket_notices (ticket_id, fingerprint, notice) "
                                         "VALUES (?, ?, ?)"),
                               [(ticket_id, self.tickets.keyed(notice), orjson.dumps(notice).decode())])
        now = utc_text(datetime.now(timezone.utc))
        for month, document, prepaid in priced.months:
            transaction.execute(self._sql("DELETE FROM ticket_charges WHERE ticket_id = ? AND month = ?"),
                                (ticket_id, month))
            transaction.insert(self._sql("INSERT INTO ticket_charges (ticket_id, month, customer, charge, "
                                         "prepaid_minutes, priced_at) VALUES (?, ?, ?, ?, ?, ?)"),
                               [(ticket_id, month, customer, orjson.dumps(document).decode(), str(prepaid), now)])

    def charges_of(self, customer: str, month: str) -> list[tuple[str, dict]]:
        """(ticket id, charge document) of the customer's tickets' work begun in the month, by ticket id."""
        return [(ticket_id, orjson.loads(charge)) for ticket_id, charge in self.log.read(
            "SELECT ticket_id, charge FROM ticket_charges WHERE customer = ? AND month = ? ORDER BY ticket_id",
            (customer, month))]


def _instant(text: str) -> datetime:
    return parse_instant(text, POLICY_INSTANT)


def _kept(entry: dict, everything: bool) -> dict:
    return entry if everything else {k: v for k, v in entry.items() if k not in UNSHARED}
