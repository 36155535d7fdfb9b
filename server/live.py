"""The policy set in force, replaced whole, and only by a valid set read complete.

A reload reads every file, loads and checks the whole new set off to the
side, then reads the files again: a set that changed while it was loading
(a writer still at work) is loaded again, never put in force half-read. When
the new set is valid, one reference assignment puts it in force (a request
in flight keeps deciding with the set it started with); when it is not, the
set in force stays and the attempt is recorded with its errors. Files whose
content has not changed since the last attempt (a fingerprint of their
names and sha256) are not loaded again at all, and within a load each file
whose content the last load saw is not parsed or checked again (the memo).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from supportpolicy.engine.decide.build import build
from supportpolicy.engine.decide.policyset import PolicySet
from supportpolicy.engine.errors import PolicyError, PolicySetInvalid
from supportpolicy.engine.load.assemble import assemble
from supportpolicy.engine.load.files import label_from_root_name, parse_files, read_files

MAX_READS = 10  # loads of a set that keeps changing while it loads, before the attempt gives up


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

    @classmethod
    def from_json(cls, document: dict) -> "Attempt":
        return cls(datetime.fromisoformat(document["at"]), document["reason"], document["ok"], document["digest"],
                   tuple(PolicyError(**error) for error in document["errors"]))

    def again(self, reason: str) -> "Attempt":
        """The same outcome, for files found unchanged since."""
        return Attempt(datetime.now(timezone.utc), reason, self.ok, self.digest, self.errors)


class Memo:
    """What the last load computed for each file's content, for the next load to reuse (files.no_memo).

    Each load keeps only what it used: the memo holds one set's worth of
    results, and those of the load under way.
    """

    def __init__(self):
        self._last, self._this = {}, {}

    def __call__(self, key, compute):
        if key in self._this:
            return self._this[key]
        value = self._last[key] if key in self._last else compute()
        self._this[key] = value
        return value

    def turn(self) -> None:
        """A load is done: what it used is what the next one may reuse."""
        self._last, self._this = self._this, {}


class LivePolicy:
    """Holds the policy set in force for a server, and reloads it from its folders."""

    def __init__(self, roots, label=label_from_root_name, policy_set: PolicySet | None = None):
        self.roots = tuple(roots)
        self.label = label
        self._memo = Memo()
        self._fingerprint = None  # of the files the last attempt read whole; None: not read here yet
        if policy_set is None:
            snapshot = read_files(self.roots, self.label, tests=False, memo=self._memo)
            policy_set, errors = self._load(snapshot)
            if policy_set is None:
                raise PolicySetInvalid(errors)
            self._fingerprint = snapshot.fingerprint
        self.current = policy_set
        self.last_attempt = self._checked = Attempt(datetime.now(timezone.utc), "start", True, policy_set.digest,
                                                    policy_set.warnings)
        self.shared_attempts = None  # where a gunicorn worker reads its master's attempts (server.reloads)
        self._reloading = threading.Lock()

    def reload(self, reason: str) -> Attempt:
        """Load the folders again; put the new set in force only if it is valid."""
        with self._reloading:
            attempt, candidate = self.check(reason)
            self.put_in_force(attempt, candidate)
            return attempt

    def check(self, reason: str, unchanged_is_news: bool = True) -> tuple[Attempt | None, PolicySet | None]:
        """Load and check the folders off to the side: the attempt, and the new set when it is valid.

        Files unchanged since the last attempt are not loaded: the attempt has
        that one's outcome, or is None when ``unchanged_is_news`` is false (a
        watcher saw something that changed no policy file). Nothing is put in
        force here (see ``put_in_force``): under gunicorn the master checks in
        a thread of its own and puts the set in force in its main loop.
        Attempts run one at a time.
        """
        snapshot = read_files(self.roots, self.label, tests=False, memo=self._memo)
        if snapshot.fingerprint == self._fingerprint:
            if not unchanged_is_news:
                return None, None
            self._checked = self._checked.again(reason)
            return self._checked, None
        for _ in range(MAX_READS):
            candidate, errors = self._load(snapshot)
            again = read_files(self.roots, self.label, tests=False, memo=self._memo)
            if again.fingerprint == snapshot.fingerprint:
                break
            snapshot = again  # changed while it loaded: load what is there now
        else:
            self._fingerprint = None
            self._checked = Attempt(datetime.now(timezone.utc), reason, False, None, (PolicyError(
                ", ".join(map(str, self.roots)), 1, 1, "files_changing",
                f"the policy files changed each of the {MAX_READS} times they were read; nothing was put in force"),))
            return self._checked, None
        self._fingerprint = snapshot.fingerprint
        self._checked = Attempt(datetime.now(timezone.utc), reason, candidate is not None,
                                candidate.digest if candidate else None, tuple(errors))
        return self._checked, candidate

    def warm(self) -> bool:
        """Read the folders once, as a reload would, so that the first reload reuses what it can; whether
        they still hold the set in force.

        For a set given at start: a set loaded elsewhere left nothing to reuse
        here. Nothing is put in force and no attempt is recorded; when the
        files are no longer those of the set in force, the next reload loads
        them as changed.
        """
        attempt, _ = self.check("start")
        same = attempt.ok and attempt.digest == self.current.digest
        if not same:
            self._fingerprint = None
        self._checked = self.last_attempt
        return same

    def put_in_force(self, attempt: Attempt, candidate: PolicySet | None) -> bool:
        """Record the attempt; put the candidate in force when it differs from the set in force. Whether it did."""
        self.last_attempt = attempt
        if candidate is None or candidate.digest == self.current.digest:
            return False
        self.current = candidate
        return True

    def _load(self, snapshot) -> tuple[PolicySet | None, list]:
        """The set the snapshot holds (``engine.decide.build.check_policy_set``, reusing the memo)."""
        documents, read_errors = parse_files(snapshot, self._memo)
        checked, errors = assemble(documents, read_errors, self.roots, self._memo)
        self._memo.turn()
        if checked is None:
            return None, errors
        return build(checked, errors)

    def attempt_shown(self) -> Attempt:
        """The last attempt, as the server made it: a gunicorn worker's comes from its master."""
        shared = self.shared_attempts.latest() if self.shared_attempts is not None else None
        return shared or self.last_attempt

    def status(self) -> dict:
        active = self.current
        return {
            "active": {"digest": active.digest, "loaded_at": active.loaded_at.isoformat(),
                       "files": active.describe()},
            "last_attempt": self.attempt_shown().as_json(),
            "folders": [str(r) for r in self.roots],
            "pid": os.getpid(),
        }
