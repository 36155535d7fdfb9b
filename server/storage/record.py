"""A decision log record: what is kept of one decision, as every store writes and reads it."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone

import orjson

from supportpolicy.engine.decide.decision import Decision
from supportpolicy.server.storage.idempotency import IdempotencyKey
from supportpolicy.server.storage.privacy import LogPrivacy, Masked

# The columns a record writes; seq is given by the store, in commit order.
COLUMNS = "decision_id, decided_at, customer, ticket_id, received_at, policy_digest, request, decision, privacy"


def utc_text(instant: datetime) -> str:
    """The instant in UTC as the log stores it; instants beyond year 1 or 9999 in UTC are clamped to them."""
    try:
        return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except OverflowError:
        return "0001-01-01T00:00:00.000000Z" if instant.year < 5000 else "9999-12-31T23:59:59.999999Z"


def kept_key(key: IdempotencyKey | None, privacy: LogPrivacy) -> IdempotencyKey | None:
    """An idempotency key as a log keeping ``privacy`` stores it.

    The body's fingerprint hashes the request as received, e-mail included: where the log masks requests it is
    keyed too, so that whoever reads the log cannot test a guessed request (and so an address) against it.
    """
    if key is None or privacy.everything or privacy.key is None:
        return key
    return replace(key, fingerprint=privacy.key.fingerprint(key.fingerprint))


@dataclass(frozen=True)
class LogRecord:
    decision_id: str
    decided_at: str
    customer: str
    received_at: str
    policy_digest: str
    request: dict
    decision: dict
    masked: tuple = ()  # privacy.Masked: the fields of the request as received that it does not keep so
    # The Idempotency-Key the request came with (stored beside the record, not in it).
    idempotency: IdempotencyKey | None = None

    @classmethod
    def of(cls, request: dict, decision: Decision, document: dict | None = None) -> "LogRecord":
        """The record of a decision (``document``: its JSON form, when the caller has it already)."""
        return cls(decision.decision_id, utc_text(datetime.now(timezone.utc)), decision.customer,
                   decision.facts.received_at.isoformat(), decision.policy.digest, request,
                   document if document is not None else decision.as_json())

    @property
    def ticket_id(self) -> str | None:
        ticket = self.decision.get("ticket_id")
        return ticket if isinstance(ticket, str) else None

    def kept(self, privacy: LogPrivacy) -> "LogRecord":
        """The record as a log keeping ``privacy`` writes it (its request masked, once)."""
        if self.masked or privacy.everything:
            return self
        request, masked = privacy.kept(self.request, self.decision.get("designated_contact") is True)
        return replace(self, request=request, masked=masked, idempotency=kept_key(self.idempotency, privacy))

    def row(self) -> tuple:
        masked = orjson.dumps([m.as_json() for m in self.masked]).decode() if self.masked else None
        return (self.decision_id, self.decided_at, self.customer, self.ticket_id, self.received_at,
                self.policy_digest, orjson.dumps(self.request).decode(), orjson.dumps(self.decision).decode(),
                masked)

    @classmethod
    def from_row(cls, row) -> "LogRecord":
        decision_id, decided_at, customer, _ticket, received_at, digest, request, decision, masked = row
        return cls(decision_id, decided_at, customer, received_at, digest, orjson.loads(request),
                   orjson.loads(decision), tuple(Masked.from_json(m) for m in orjson.loads(masked or "[]")))

    def as_json(self) -> dict:
        return {"decision_id": self.decision_id, "decided_at": self.decided_at, "customer": self.customer,
                "received_at": self.received_at, "policy_digest": self.policy_digest,
                "request": self.request, "decision": self.decision,
                "privacy": {"masked": [m.as_json() for m in self.masked]}}
