"""What a request says beside its body: its query parameters and its Idempotency-Key header, read and checked.

Every parameter is checked with the pattern the OpenAPI document gives it; a
parameter the operation does not take is a 400 naming it (a misspelt
``dry_run`` must never log a decision), and one given twice is a 422. Views
call these before anything else, so a refused request has done nothing.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime

import orjson

from supportpolicy.engine.errors import EngineError, FieldError, InvalidRequest
from supportpolicy.engine.instants import (
    ANY_DATE,
    FIRST_YEAR,
    INSTANT,
    LAST_YEAR,
    POLICY_DATE,
    parse_date,
    parse_instant,
    parse_instant_or_date,
)
from supportpolicy.server.storage.idempotency import IdempotencyKey
from supportpolicy.server.storage.log import MAX_PAGE

# The parameters of the operations on decisions, as the OpenAPI document lists them.
DECIDE_PARAMETERS = ("dry_run",)
LOG_PARAMETERS = ("customer", "ticket_id", "since", "until", "order", "limit", "after")
ORDERS = ("oldest_first", "newest_first")
# since and until: a date (read as 00:00 UTC, as `log export` reads one) or an instant.
DATE_OR_INSTANT = f"{ANY_DATE}|{INSTANT}"
BOOLEAN = "^(?:true|false)$"

# Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): a structured-field string, "...", in which only
# \" and \\ are escapes (RFC 8941 3.3.3); a bare value of visible ASCII is read as the same key.
MAX_KEY = 255
_SF_STRING = r'"(?:[ !#-\[\]-~]|\\["\\]){1,255}"'
_BARE = r"[!#-\[\]-~]{1,255}"
IDEMPOTENCY_KEY = f"^(?:{_SF_STRING}|{_BARE})$"


class UnknownParameter(EngineError):
    status = 400
    slug = "unknown-parameter"
    title = "The query names a parameter this operation does not take"


class InvalidIdempotencyKey(EngineError):
    status = 400
    slug = "invalid-idempotency-key"
    title = "The Idempotency-Key header cannot be used"


def only(args, allowed: tuple[str, ...]) -> None:
    """Refuse a query naming a parameter not in ``allowed`` (400), or one of them more than once (422)."""
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) if allowed else "no query parameters"
        raise UnknownParameter(
            f"this operation takes {takes}; the query also names {', '.join(unknown)}: remove "
            f"{'it' if len(unknown) == 1 else 'them'}, or check the spelling",
            [FieldError(name, f"is not a parameter of this operation (it takes {takes})", "parameter")
             for name in unknown])
    repeated = sorted(name for name in args if len(args.getlist(name)) > 1)
    if repeated:
        raise InvalidRequest(f"the query gives {', '.join(repeated)} more than once; give each once",
                             [FieldError(name, "is given more than once", "parameter") for name in repeated])


def dry_run(args) -> bool:
    """``dry_run=true``: decide without logging; only ``true`` or ``false``."""
    if not args:  # nearly every request: nothing to check
        return False
    only(args, DECIDE_PARAMETERS)
    text = args.get("dry_run")
    if text is None:
        return False
    if text not in ("true", "false"):
        raise InvalidRequest("the query parameter dry_run must be true or false",
                             [FieldError("dry_run", "must be true or false", "parameter")])
    return text == "true"


@dataclass(frozen=True)
class LogQuery:
    """GET /v1/decisions: which logged decisions, in which order, from where."""

    customer: str | None
    ticket_id: str | None
    since: datetime | None
    until: datetime | None
    newest_first: bool
    limit: int
    after: str | None
    given: tuple  # (name, text) of each parameter as given, for the link to the next page

    def next_args(self, after: str) -> dict:
        """The next page's parameters: those given (never another), the order made explicit, and ``after``."""
        return dict(self.given, order=ORDERS[self.newest_first], after=after)


def log_query(args) -> LogQuery:
    only(args, LOG_PARAMETERS)
    order = args.get("order")
    if order is not None and order not in ORDERS:
        raise InvalidRequest(f"the query parameter order must be {' or '.join(ORDERS)}",
                             [FieldError("order", f"must be {' or '.join(ORDERS)}", "parameter")])
    ticket_id = args.get("ticket_id")
    # A ticket's decisions are asked for to see the latest: newest first unless the order is given.
    newest_first = order == "newest_first" if order is not None else ticket_id is not None
    return LogQuery(args.get("customer"), ticket_id, _date_or_instant(args, "since"),
                    _date_or_instant(args, "until"), newest_first, integer(args, "limit", 100, 1, MAX_PAGE),
                    args.get("after"), tuple((name, args[name]) for name in LOG_PARAMETERS
                                             if name in args and name not in ("order", "after")))


def _date_or_instant(args, name: str) -> datetime | None:
    text = args.get(name)
    if text is None:
        return None
    instant = parse_instant_or_date(text)
    if instant is None:
        raise InvalidRequest(f"the query parameter {name} is neither a date (YYYY-MM-DD, read as 00:00 UTC) nor an "
                             "RFC 3339 date-time with an offset",
                             [FieldError(name, "must be a date (YYYY-MM-DD, read as 00:00 UTC) or an RFC 3339 "
                                               "date-time with an offset", "parameter")])
    return instant


def instant(args, name: str, pattern: str = INSTANT) -> datetime | None:
    # Checked with the pattern the OpenAPI document gives the parameter: RFC 3339 only (fromisoformat alone
    # also takes week dates and basic forms), real days only, and for `at` the years the calendar reckons in.
    text = args.get(name)
    if text is None:
        return None
    found = parse_instant(text, pattern)
    if found is None:
        years = "" if pattern == INSTANT else f", from {FIRST_YEAR} to {LAST_YEAR}"
        raise InvalidRequest(f"the query parameter {name} is not an RFC 3339 date-time with an offset{years}",
                             [FieldError(name, f"must be an RFC 3339 date-time with an offset{years}", "parameter")])
    return found


def day(args, name: str) -> date | None:
    text = args.get(name)
    if text is None:
        return None
    found = parse_date(text, POLICY_DATE)
    if found is None:
        raise InvalidRequest(f"the query parameter {name} is not a date (YYYY-MM-DD) from {FIRST_YEAR} to {LAST_YEAR}",
                             [FieldError(name, f"must be a date (YYYY-MM-DD) from {FIRST_YEAR} to {LAST_YEAR}",
                                         "parameter")])
    return found


def integer(args, name: str, default: int, low: int, high: int) -> int:
    text = args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise InvalidRequest(f"the query parameter {name} must be a whole number from {low} to {high}",
                             [FieldError(name, f"must be a whole number from {low} to {high}", "parameter")])
    return int(text)


def idempotency_key(headers, scope: str, body: object) -> IdempotencyKey | None:
    """The request's Idempotency-Key, for the client ``scope`` (a token's name, or ""), with the fingerprint
    of ``body``; None without the header."""
    if headers.get("Idempotency-Key") is None:  # a look-up; getlist reads every header
        return None
    values = headers.getlist("Idempotency-Key")
    text = values[0]
    if len(values) > 1:
        raise _bad_key("is given more than once; send one")
    if re.fullmatch(_SF_STRING, text):
        key = re.sub(r"\\(.)", r"\1", text[1:-1])
    elif re.fullmatch(_BARE, text):
        key = text
    else:
        raise _bad_key(f"must be a string of 1 to {MAX_KEY} visible ASCII characters, quoted (\"...\", with \\\" "
                       "and \\\\ as escapes) as draft-ietf-httpapi-idempotency-key-header has it, or bare; "
                       "e.g. \"8e03978e-40d5-43e8-bc93-6894a57f9324\"")
    return IdempotencyKey(scope, key, fingerprint(body))


def _bad_key(problem: str) -> InvalidIdempotencyKey:
    return InvalidIdempotencyKey(f"the Idempotency-Key header {problem}",
                                 [FieldError("Idempotency-Key", problem, "header")])


def fingerprint(body: object) -> str:
    """The request body's fingerprint: sha256 of its JSON with keys sorted, so that a retry that only spaces or
    orders the body differently is the same request."""
    return "sha256:" + hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
