"""The policy set in force, replaced whole, and only by a valid one.

A reload loads and checks the whole new set off to the side; when it is
valid, one reference assignment puts it in force (a request in flight keeps
deciding with the set it started with); when it is not, the set in force
stays and the attempt is recorded with its errors.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from supportpolicy.engine.decide.build import check_policy_set, load_policy_set
from supportpolicy.engine.decide.policyset import PolicySet
from supportpolicy.engine.load.files import label_from_root_name


@dataclass(frozen=True)
class Attempt:
    at: datetime
    reason: str
    ok: bool
    digest: str | None
    errors: tuple  # PolicyError, warnings included

    def as_json(self) -> dict:
        return {"at": self.at.isoformat(), "reason": self.reason, "ok": self.ok, "digest": self.digest,
                "errors": [e.as_dict() for e in self.errors]}


class LivePolicy:
    """Holds the policy set in force for a server, and reloads it from its folders."""

    def __init__(self, roots, label=label_from_root_name, policy_set: PolicySet | None = None):
        self.roots = tuple(roots)
        self.label = label
        self.current = policy_set or load_policy_set(*self.roots, label=label)
        self.last_attempt = Attempt(datetime.now(timezone.utc), "start", True, self.current.digest,
                                    self.current.warnings)
        self._reloading = threading.Lock()

    def reload(self, reason: str) -> Attempt:
        """Load the folders again; put the new set in force only if it is valid."""
        with self._reloading:
            candidate, errors = check_policy_set(self.roots, self.label)
            attempt = Attempt(datetime.now(timezone.utc), reason, candidate is not None,
                              candidate.digest if candidate else None, tuple(errors))
            if candidate is not None and candidate.digest != self.current.digest:
                self.current = candidate
            self.last_attempt = attempt
            return attempt

    def status(self) -> dict:
        active = self.current
        return {
            "active": {"digest": active.digest, "loaded_at": active.loaded_at.isoformat(),
                       "files": active.describe()},
            "last_attempt": self.last_attempt.as_json(),
            "folders": [str(r) for r in self.roots],
            "pid": os.getpid(),
        }
