"""What the decision log keeps of the personal data in a request.

A request names its requester (``requester``: the e-mail, and whatever else a
ticketing system sends) and may say anything in ``summary``. By default the log
keeps neither: no summary, no other member of ``requester``, and the e-mail
only as a keyed hash (HMAC-SHA256 of the address as the engine compares it,
ASCII letters in lower case) beside whether the requester was a designated
contact. That is enough for ``impact`` to decide the request again and for an
auditor to check a given address (``log export --requester-email``), not to
read an address back. ``--log-keep`` keeps chosen fields whole, and
``--log-personal-data`` keeps the request as received. Every other field
(customer, times, channel, category, ticket id, attributes) is kept: the
decision is made from them.

The key is the server's: a file (``--log-key-file``), the environment
(``SUPPORTPOLICY_LOG_KEY``), or one generated once in the data folder, mode
0600 (``decision-log.key``). A record names the key that hashed it by
``key_id``, so a rotated key leaves older records checkable with the old one.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from supportpolicy.engine.decide.request import pointer
from supportpolicy.engine.model import comparable_email
from supportpolicy.engine.tools.masked import (
    DESIGNATED_CONTACT,
    EMAIL,
    EMAIL_HMAC,
    HMAC_SHA256,
    REMOVED,
    SUMMARY,
)

KEY_FILE = "decision-log.key"  # in the data folder
KEY_VARIABLE = "SUPPORTPOLICY_LOG_KEY"
MIN_KEY = 32  # characters
REQUESTER = "/requester/"
# Members the log writes into ``requester`` in place of the e-mail: no field of a request may be kept as them.
WRITTEN = (pointer(("requester", EMAIL_HMAC)), pointer(("requester", DESIGNATED_CONTACT)))


class LogKeyError(ValueError):
    """The key cannot be read or made; the message says where and what to do."""


@dataclass(frozen=True)
class LogKey:
    secret: bytes
    source: str  # where it was read: a file, or the environment variable

    @property
    def key_id(self) -> str:
        """Names the key in the records it hashed (an HMAC of a fixed text: it tells nothing of the key)."""
        return hmac.new(self.secret, b"supportpolicy decision log key", hashlib.sha256).hexdigest()[:16]

    def email_hmac(self, address: str) -> str:
        return hmac.new(self.secret, comparable_email(address).encode("utf-8"), hashlib.sha256).hexdigest()

    def fingerprint(self, fingerprint: str) -> str:
        """An Idempotency-Key's request fingerprint, keyed (a retry across a key rotation reads as another body)."""
        return f"hmac-sha256:{self.key_id}:" + hmac.new(self.secret, fingerprint.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Masked:
    """One field of a request the record does not keep as received."""

    field: str  # JSON Pointer into the request as received
    method: str  # HMAC_SHA256 (kept as requester.email_hmac) or REMOVED
    key_id: str | None = None

    def as_json(self) -> dict:
        if self.method == HMAC_SHA256:
            return {"field": self.field, "method": self.method, "kept_as": pointer(("requester", EMAIL_HMAC)),
                    "key_id": self.key_id}
        return {"field": self.field, "method": self.method}

    @classmethod
    def from_json(cls, entry: dict) -> "Masked":
        return cls(entry["field"], entry["method"], entry.get("key_id"))


@dataclass(frozen=True)
class LogPrivacy:
    """Which personal fields the log keeps whole (JSON Pointers: /summary, /requester/<member>), or all."""

    keep: frozenset = frozenset()
    key: LogKey | None = None  # hashes the e-mail when it is not kept
    everything: bool = False

    @classmethod
    def of(cls, keep=(), key: LogKey | None = None, everything: bool = False) -> "LogPrivacy":
        """Checked (``kept_fields``), and with a key when the e-mail is masked; else ValueError."""
        keep = kept_fields(keep)
        if not everything and EMAIL not in keep and key is None:
            raise ValueError("masking the requester's e-mail needs a key")
        return cls(keep, key, everything)

    @property
    def masks_email(self) -> bool:
        return not self.everything and EMAIL not in self.keep

    def describe(self) -> dict:
        """What the log keeps, for the status and the start-up banner."""
        if self.everything:
            return {"personal_data": "kept", "keep": [], "key_id": None}
        return {"personal_data": "masked", "keep": sorted(self.keep),
                "key_id": self.key.key_id if self.masks_email else None}

    def kept(self, request: dict, designated_contact: bool) -> tuple[dict, tuple[Masked, ...]]:
        """What the log keeps of a decided request, and each field it masked."""
        if self.everything:
            return request, ()
        kept, masked = dict(request), []
        if "summary" in kept and SUMMARY not in self.keep:
            del kept["summary"]
            masked.append(Masked(SUMMARY, REMOVED))
        requester = request["requester"]
        members = {}
        for name, value in requester.items():
            field = pointer(("requester", name))
            if field in self.keep:
                members[name] = value
            elif field != EMAIL or not self.masks_email:
                masked.append(Masked(field, REMOVED))
        if self.masks_email:
            members[EMAIL_HMAC] = self.key.email_hmac(requester["email"])
            members[DESIGNATED_CONTACT] = designated_contact
            masked.append(Masked(EMAIL, HMAC_SHA256, self.key.key_id))
        kept["requester"] = members
        return kept, tuple(sorted(masked, key=lambda m: m.field))


KEEP_ALL = LogPrivacy(everything=True)


def kept_fields(keep) -> frozenset:
    """The personal fields to keep whole, each checked to be one; ValueError says what to give instead."""
    keep = frozenset(keep)
    for field in sorted(keep):
        name = field[len(REQUESTER):] if field.startswith(REQUESTER) else ""
        if field != SUMMARY and (not name or "/" in name):
            raise ValueError(f"{field!r} is not a personal field of a request: give {SUMMARY}, {EMAIL} or another "
                             f"member of requester as {REQUESTER}<name> (every other field is always kept)")
        if field in WRITTEN:
            raise ValueError(f"{field} is what the log writes in place of the e-mail; it cannot be kept")
    return keep


def read_key(path: Path | None = None, data_dir: Path | None = None, create: bool = False) -> LogKey | None:
    """The log's key: from ``path``, else the environment, else the data folder's key file (made if missing
    when ``create``, else None). Raises LogKeyError naming the place and what to do."""
    if path is not None:
        return _key(_read(Path(path)), str(path))
    if os.environ.get(KEY_VARIABLE):
        return _key(os.environ[KEY_VARIABLE], KEY_VARIABLE)
    if data_dir is None:
        return None
    stored = Path(data_dir) / KEY_FILE
    if not stored.exists() and create:
        _generate(stored)
    return _key(_read(stored), str(stored)) if stored.exists() else None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LogKeyError(f"cannot read the decision log key {path}: {exc}") from None


def _key(text: str, source: str) -> LogKey:
    secret = text.strip()
    if len(secret) < MIN_KEY:
        raise LogKeyError(f"the decision log key in {source} is {len(secret)} characters long; give at least "
                          f"{MIN_KEY} (e.g. `openssl rand -hex 32`)")
    return LogKey(secret.encode("utf-8"), source)


def _generate(path: Path) -> None:
    """A new random key, mode 0600, put in place whole (linked, never overwriting): of two servers making one
    at the same moment, both use the first one linked."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as f:
            f.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:  # another server's, made meanwhile
            pass
    except OSError as exc:
        raise LogKeyError(f"cannot create the decision log key {path}: {exc.strerror or exc}; give one with "
                          "--log-key-file") from None
    finally:
        try:
            temporary.unlink()
        except OSError:  # never made, or its folder is not one
            pass


@dataclass(frozen=True)
class AddressCheck:
    """Whether a logged request's requester is a given address, for an auditor (``log export --requester-email``)."""

    address: str
    key: LogKey | None  # the key the address is hashed with, if any

    def matches(self, request: dict, masked: tuple) -> bool | None:
        """True or False; None when the record hashed its e-mail with another key than the one given (or
        none is given), so that this key cannot tell."""
        hashed = next((m for m in masked if m.field == EMAIL and m.method == HMAC_SHA256), None)
        requester = request.get("requester")
        if not isinstance(requester, dict):
            return False
        if hashed is None:
            email = requester.get("email")
            return isinstance(email, str) and comparable_email(email) == comparable_email(self.address)
        if self.key is None or hashed.key_id != self.key.key_id:
            return None
        return hmac.compare_digest(str(requester.get(EMAIL_HMAC)), self.key.email_hmac(self.address))
