"""Idempotency keys: a retried decision request gets the decision its key first gave, and logs nothing more.

A key is stored in the same transaction as the decision it gave, with that
decision's ``decided_at``, and retention removes the two together: a key is
kept exactly as long as the decision it answers with. Commits hold the log's
write turn (across processes and servers), so finding the earlier use of a
key and storing a new one cannot interleave with another commit: of requests
sent at once with one key, one decision is written, and the others answer
with it.
"""
from __future__ import annotations

from dataclasses import dataclass

from supportpolicy.engine.errors import EngineError

STATEMENTS = ("""
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope        TEXT NOT NULL,  -- whose key: the bearer token's name, '' on a server without tokens
    key          TEXT NOT NULL,  -- the Idempotency-Key, as the client sent it (unquoted)
    fingerprint  TEXT NOT NULL,  -- of the request body it came with (server.params.fingerprint)
    decision_id  TEXT NOT NULL,  -- the decision it gave
    decided_at   TEXT NOT NULL,  -- that decision's, so retention removes both together
    PRIMARY KEY (scope, key)
)""", "CREATE INDEX IF NOT EXISTS idempotency_keys_by_time ON idempotency_keys (decided_at)")
KEY_COLUMNS = "scope, key, fingerprint, decision_id, decided_at"


@dataclass(frozen=True)
class IdempotencyKey:
    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Earlier:
    """The decision a key gave before, and the fingerprint of the body it came with."""

    decision_id: str
    fingerprint: str


class IdempotencyKeyReused(EngineError):
    status = 422
    slug = "idempotency-key-reused"
    title = "The Idempotency-Key was used with another request"

    def __init__(self, key: IdempotencyKey):
        super().__init__("this Idempotency-Key was first sent with a different request body, and answered then; "
                         "send that same body again to get its decision, or use a new key for a new request")


def earlier_uses(transaction, placeholder: str, records) -> list[Earlier | None]:
    """For each record, within the commit's transaction: None when it is to be written (it has no key, or its key
    is new), else the earlier use of its key (in the log, or by a record before it in ``records``)."""
    keys = [r.idempotency for r in records if r.idempotency is not None]
    if not keys:
        return [None] * len(records)
    marks = ", ".join([placeholder] * len(keys))
    found = {(scope, key): Earlier(decision_id, fingerprint) for scope, key, fingerprint, decision_id in
             transaction.rows(f"SELECT scope, key, fingerprint, decision_id FROM idempotency_keys "
                              f"WHERE key IN ({marks})", [k.key for k in keys])}
    uses = []
    for record in records:
        key = record.idempotency
        use = None if key is None else found.get((key.scope, key.key))
        if key is not None and use is None:
            found[(key.scope, key.key)] = Earlier(record.decision_id, key.fingerprint)
        uses.append(use)
    return uses


def key_row(record) -> tuple:
    key = record.idempotency
    return key.scope, key.key, key.fingerprint, record.decision_id, record.decided_at


def insert_sql(placeholder: str) -> str:
    return f"INSERT INTO idempotency_keys ({KEY_COLUMNS}) VALUES ({', '.join([placeholder] * 5)})"
