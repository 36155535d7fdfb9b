"""A logged request whose personal data the decision log masked, and how it is decided again.

By default the decision log keeps no summary and keeps the requester's e-mail
only as a keyed hash (``requester.email_hmac``), beside whether the requester
was a designated contact (``requester.designated_contact``); the record's
``privacy.masked`` names each field so treated. The e-mail is what decides
designated-contact status, so a replay takes that status from the record, not
from an address it no longer has: for an unchanged policy the replayed
decision is the one that was logged.

These are the words of the log's record format (``supportpolicy log export``,
``GET /v1/decisions``); the server's privacy module writes them.
"""
from __future__ import annotations

from dataclasses import dataclass

EMAIL = "/requester/email"  # the field masked as a keyed hash
SUMMARY = "/summary"
EMAIL_HMAC = "email_hmac"  # in requester, in place of the e-mail
DESIGNATED_CONTACT = "designated_contact"  # in requester, beside it
HMAC_SHA256 = "hmac-sha256"  # how the e-mail is masked
REMOVED = "removed"  # how any other personal field is masked
# An address no one has (RFC 2606's .invalid), given to the engine in place of the masked one: with the
# recorded status given too, the engine never compares it with anything.
PLACEHOLDER_EMAIL = "masked@invalid"


@dataclass(frozen=True)
class MaskedRequest:
    """A request as a masked log record keeps it, with the designated-contact status the log recorded."""

    kept: dict  # the request as the log kept it (what examples show)
    designated_contact: bool

    def decidable(self) -> dict:
        """The request as the engine reads it: the masked e-mail replaced by an address no one has."""
        return dict(self.kept, requester={"email": PLACEHOLDER_EMAIL})


def email_masked(record: dict) -> bool:
    """Whether a log record (as exported) says its requester's e-mail was masked as a keyed hash."""
    privacy = record.get("privacy")
    masked = privacy.get("masked") if isinstance(privacy, dict) else None
    return isinstance(masked, list) and any(
        isinstance(m, dict) and m.get("field") == EMAIL and m.get("method") == HMAC_SHA256 for m in masked)


def replayable(record: dict) -> tuple[dict | MaskedRequest | None, str | None]:
    """What to decide again for a log record: its request (as it is, whatever it is), or a MaskedRequest;
    or (None, why not)."""
    request = record["request"]
    if not isinstance(request, dict) or not email_masked(record):
        return request, None
    requester = request.get("requester")
    designated = requester.get(DESIGNATED_CONTACT) if isinstance(requester, dict) else None
    if not isinstance(designated, bool):
        return None, (f"a log record whose e-mail is masked but whose requester has no {DESIGNATED_CONTACT} "
                      "(true or false) to decide it with")
    return MaskedRequest(request, designated), None
