"""Errors as values: each one says where it is and what to do about it.

Policy errors carry a file position and a JSON path and are collected, all of
them, before a policy set is refused. Request errors carry the JSON Pointer of
the field at fault. Both share one base class so an adapter can render any of
them in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable


@dataclass(frozen=True, order=True)
class PolicyError:
    """One problem in one policy file, at one place.

    ``str()`` gives ``file:line:column: code: message``, the form editors and
    CI annotations understand; a warning's message starts with ``warning:``,
    so a reader tells at once what fails a run from what does not. Codes are
    stable; messages may improve.
    """

    file: str
    line: int
    column: int
    code: str
    message: str
    json_path: str = "$"
    severity: str = "error"

    def __str__(self) -> str:
        marker = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.file}:{self.line}:{self.column}: {self.code}: {marker}{self.message}"

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "json_path": self.json_path,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a request: a body field named by JSON Pointer, or a query parameter."""

    pointer: str  # or the parameter's name
    message: str
    kind: str = "pointer"  # or "parameter"
    key: str | None = None  # a key the object at ``pointer`` holds more than once

    def as_dict(self) -> dict:
        if self.key is not None:
            return {self.kind: self.pointer, "key": self.key, "detail": self.message}
        return {self.kind: self.pointer, "detail": self.message}


class EngineError(Exception):
    """Base of every error the engine reports to its callers.

    ``status`` is the HTTP status an adapter should use, ``slug`` names the
    problem type; both live here so the server chooses them in one place.
    """

    status = 500
    slug = "engine-error"
    title = "The policy engine could not decide"

    def __init__(self, detail: str, errors: Iterable[FieldError] = ()):
        super().__init__(detail)
        self.detail = detail
        self.errors = tuple(errors)


class MalformedRequest(EngineError):
    status = 400
    slug = "malformed-json"
    title = "The request body is not JSON"


class RequestTooComplex(EngineError):
    """Nested deeper, or holding more items, than any real request needs (see request.LIMITS)."""

    status = 413
    slug = "limit-exceeded"
    title = "The request exceeds a limit"


class InvalidRequest(EngineError):
    status = 422
    slug = "invalid-request"
    title = "The request is not valid"


class UnknownCustomer(EngineError):
    status = 404
    slug = "unknown-customer"
    title = "No contract for this customer"

    def __init__(self, customer_id: str, field: FieldError | None = None):
        super().__init__(f"no customer contract has the id {customer_id!r}", [field] if field else ())
        self.customer_id = customer_id

    def naming(self, pointer: str) -> "UnknownCustomer":
        """The same error, naming the request field that holds the id."""
        return UnknownCustomer(self.customer_id, FieldError(pointer, "is not a customer of this policy set"))


class NoPolicyInEffect(EngineError):
    """Nothing of ``what`` was in effect yet at the time asked about; it first takes effect on ``first``."""

    status = 422
    slug = "no-policy-in-effect"
    title = "No policy version was in effect at that time"

    def __init__(self, what: str, first: date, field: FieldError | None = None):
        asked = field.pointer.lstrip("/") if field else "the time asked about"
        super().__init__(f"{what} takes effect on {first.isoformat()}, after {asked}", [field] if field else ())
        self.what, self.first = what, first

    def naming(self, name: str, kind: str = "pointer") -> "NoPolicyInEffect":
        """The same error, naming the field or query parameter that gave the time."""
        return NoPolicyInEffect(self.what, self.first, FieldError(
            name, f"is before {self.what} takes effect ({self.first.isoformat()})", kind))


class OutsideHolidayCalendar(InvalidRequest):
    """A day the public holiday calendar has no data for: the holidays package knows each country's
    holidays from a first to a last year, and finds none outside them.

    Deciding on such a day would silently treat every holiday as a working day,
    so it is refused; ``naming`` says which request field led there.
    """

    def __init__(self, calendar: str, years: tuple[int, int], day: date, field: FieldError | None = None,
                 detail: str | None = None):
        self.calendar, self.years, self.day = calendar, years, day
        super().__init__(detail or f"{day.isoformat()} is outside {self.known}", [field] if field else ())

    @property
    def known(self) -> str:
        return f"the years the contract's holiday calendar knows ({self.calendar}: {self.years[0]} to {self.years[1]})"

    def naming(self, name: str, kind: str = "pointer", deadline: bool = False) -> "OutsideHolidayCalendar":
        """The same error, naming the field or query parameter whose time (or whose deadline) led to the day."""
        asked = name.lstrip("/")
        if deadline:
            problem = f"puts the response deadline past {self.known}"
            detail = (f"{asked}: the response deadline would count support hours on {self.day.isoformat()}, "
                      f"outside {self.known}, whose holidays are unknown")
        else:
            problem = f"is outside {self.known}"
            detail = f"{asked}: {self.day.isoformat()} (local date) is outside {self.known}, whose holidays are unknown"
        return OutsideHolidayCalendar(self.calendar, self.years, self.day, FieldError(name, problem, kind), detail)


class PolicySetInvalid(EngineError):
    """A policy set with any error is never used; this carries all of them."""

    status = 500
    slug = "invalid-policy-set"
    title = "The policy set is not valid"

    def __init__(self, errors: Iterable[PolicyError]):
        self.policy_errors = tuple(sorted(set(errors)))
        count = len(self.policy_errors)
        lines = "\n".join(str(e) for e in self.policy_errors)
        super().__init__(f"{count} error{'s' if count != 1 else ''} in the policy set:\n{lines}")
