"""What a policy change changes: the same requests decided by two policy sets.

Requests come as JSON lines: a request body per line, or a logged decision
record holding one under "request"; or, without traffic to replay, the
requests of the policy test suites. Each request carries where it came from
(``{"line": n}`` in a file, or the suite case's file, line and id), for the
examples and the skipped lines.

What is reported, kind by kind: the versions that differ between the two sets
and when each takes effect, and how many requests they reach (a request is
reached when a file that differs took part in deciding it); requests refused by
one set and decided by the other (one kind of change, not a field diff);
deadlines moved, grouped by how far (``+1 h``); other decision fields, compared
field by field (decision_id and policy excepted), and the rule that decided
each rule set. A record whose e-mail the log masked is decided with the designated-contact
status it recorded (``masked``).
"""
from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import orjson

from supportpolicy.engine.decide.request import decode_json
from supportpolicy.engine.errors import EngineError, MalformedRequest
from supportpolicy.engine.tools.masked import MaskedRequest, replayable

IGNORED = ("decision_id", "policy", "trace")
DECIDED = "decided"
# Fields holding a due time: a change of them is reported as how far the deadline moved.
DEADLINES = ("respond_by",)


@dataclass
class Group:
    """Requests that changed in the same way."""

    count: int = 0
    examples: list = field(default_factory=list)


@dataclass(frozen=True)
class VersionChange:
    """A file version that is not the same in both sets: added, changed (same version, new content) or removed."""

    change: str
    kind: str
    id: str
    version: str
    effective_from: date
    path: str

    def as_json(self) -> dict:
        return {"change": self.change, "kind": self.kind, "id": self.id, "version": self.version,
                "effective_from": self.effective_from.isoformat(), "path": self.path}


def version_changes(base, current) -> tuple:
    """The versions that differ between two policy sets, by effective date."""
    def index(policy_set):
        return {(f.kind, f.id, f.version): f for f in policy_set.files}
    before, after = index(base), index(current)
    found = []
    for key, file in after.items():
        if key not in before:
            found.append(VersionChange("added", *key, file.effective_from, file.path))
        elif before[key].sha256 != file.sha256 or before[key].effective_from != file.effective_from:
            found.append(VersionChange("changed", *key, file.effective_from, file.path))
    found += [VersionChange("removed", *key, file.effective_from, file.path)
              for key, file in before.items() if key not in after]
    return tuple(sorted(found, key=lambda c: (c.effective_from, c.kind, c.id, c.version)))


def _identity(file) -> tuple:
    return file.kind, file.id, file.version, file.sha256, file.effective_from


@dataclass
class Impact:
    total: int = 0
    changed: int = 0
    masked: int = 0  # of total: records whose e-mail was masked, decided with the status they recorded
    changes: tuple = ()  # VersionChange, by effective date
    reached: int = 0  # requests that a version in `changes` took part in deciding (in either set)
    received: list = field(default_factory=lambda: [None, None])  # the first and last received_at replayed
    shifted: int = 0  # requests replayed at a later date (--shift)
    unreadable: list = field(default_factory=list)  # (where, message)
    outcomes: dict = field(default_factory=dict)  # (before, after): "decided" or the refusal -> Group
    deadlines: dict = field(default_factory=dict)  # (field, seconds moved) -> Group
    fields: dict = field(default_factory=dict)  # (field, before, after), values as JSON text -> Group
    rules: dict = field(default_factory=dict)  # (ruleset, before, after) -> Group

    @property
    def takes_effect(self) -> date | None:
        """When every changed version is in effect: the latest of their effective dates."""
        return max((c.effective_from for c in self.changes), default=None)

    def as_json(self) -> dict:
        def groups(table, names, decode=lambda value: value):
            return [dict(zip(names, (key[0], *map(decode, key[1:]))), count=g.count, examples=g.examples)
                    for key, g in _by_count(table)]
        first, last = self.received
        return {"requests": self.total, "changed": self.changed, "masked": self.masked,
                "versions": [c.as_json() for c in self.changes],
                "takes_effect": None if self.takes_effect is None else self.takes_effect.isoformat(),
                "reached": self.reached, "shifted": self.shifted,
                "received": {"first": first and first.isoformat(), "last": last and last.isoformat()},
                "unreadable": [dict(where, error=m) for where, m in self.unreadable],
                "outcomes": [dict(before=b, after=a, change=outcome_change(b, a), count=g.count, examples=g.examples)
                             for (b, a), g in _by_count(self.outcomes)],
                "deadlines": [dict(field=name, seconds=seconds, moved=moved_text(seconds), count=g.count,
                                   examples=g.examples) for (name, seconds), g in _by_count(self.deadlines)],
                "fields": groups(self.fields, ("field", "before", "after"), orjson.loads),
                "rules": groups(self.rules, ("ruleset", "before", "after"))}


def _by_count(table: dict) -> list:
    return sorted(table.items(), key=lambda kv: (-kv[1].count, kv[0]))


def outcome_change(before: str, after: str) -> str:
    """A change of outcome in words: "refused before, decided now", and the reverse."""
    if before == DECIDED:
        return "decided before, refused now"
    return "refused before, decided now" if after == DECIDED else "refused before, refused differently now"


def moved_text(seconds: int) -> str:
    """How far a deadline moved: "+1 h", "-30 min", "+2 d 3 h"."""
    sign, left = ("-" if seconds < 0 else "+"), abs(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size} {unit}")
            left %= size
    return sign + " ".join(parts or ["0 s"])


def read_requests(path_or_stream):
    """(where, body, None) for each non-blank JSON line; one that is not a request gives (where, None, why).

    A decision log record gives its request, or a MaskedRequest when the log masked its e-mail."""
    stream = open(path_or_stream, "rb") if isinstance(path_or_stream, (str, Path)) else path_or_stream
    with stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            where = {"line": number}
            try:
                body = decode_json(line)  # as the API reads a body: a key named twice is refused, not guessed
            except MalformedRequest as exc:
                yield where, None, f"not JSON: {exc.detail}"
                continue
            if isinstance(body, dict) and "request" in body and "decision" in body:
                body, problem = replayable(body)  # a decision log record (supportpolicy log export)
                if problem:
                    yield where, None, problem
                    continue
            if not isinstance(body, (dict, MaskedRequest)):
                yield where, None, f"not a request: a JSON {type(body).__name__}, not an object"
                continue
            yield where, body, None


def suite_requests(suites):
    """(where, body, None) for each case of the suites: the requests written to pin the contract down."""
    for suite in suites:
        for case in suite.cases:
            yield {"case": case.id, "file": case.file, "line": case.line}, case.request, None


def decide_again(policy_set, body, decision_id: str = "impact"):
    """The decision for a request read by read_requests (a MaskedRequest with the status its record kept)."""
    if isinstance(body, MaskedRequest):
        return policy_set.decide(body.decidable(), decision_id, designated_contact=body.designated_contact)
    return policy_set.decide(body, decision_id)


@dataclass(frozen=True)
class Replayed:
    """One request as one policy set decides it: the decision's fields, or why it was refused."""

    refused: str | None  # "422 <title>"; None when decided
    fields: dict  # the decision's fields, flattened (targets.<name>.<key>), those compared only
    rules: dict  # rule set -> the rules that decided in it
    files: frozenset  # the files that took part, as _identity gives them
    received_at: datetime | None

    @property
    def state(self) -> str:
        return self.refused or DECIDED


def replay(policy_set, body) -> Replayed:
    try:
        decision = decide_again(policy_set, body)
    except EngineError as error:
        return Replayed(f"{error.status} {error.title}", {}, {}, frozenset(), None)
    rules = {}
    for rule in decision.trace:
        rules[rule.ruleset] = ", ".join(filter(None, [rules.get(rule.ruleset), rule.name]))
    document = decision.as_json()
    fields = {k: v for k, v in document.items() if k not in IGNORED and k != "targets"}
    for name, target in document["targets"].items():
        # A target's rule is reported with the deciding rules; the first response's due time is respond_by.
        for key, value in target.items():
            if key not in ("rule", "file", "line") and (name, key) != ("first_response", "due"):
                fields[f"targets.{name}.{key}"] = value
    return Replayed(None, fields, rules, frozenset(map(_identity, decision.policy.files)),
                    decision.facts.received_at)


def _is_deadline(name: str) -> bool:
    return name in DEADLINES or (name.startswith("targets.") and name.endswith(".due"))


def differences(before: Replayed, after: Replayed):
    """(table, key) for each way the two outcomes of one request differ (Impact's tables)."""
    if before.state != after.state:
        yield "outcomes", (before.state, after.state)  # one change: the fields of a refusal are not compared
        return
    for name in sorted(set(before.fields) | set(after.fields)):
        old, new = before.fields.get(name), after.fields.get(name)
        if old == new:
            continue
        if _is_deadline(name) and old is not None and new is not None:
            seconds = int((datetime.fromisoformat(new) - datetime.fromisoformat(old)).total_seconds())
            if seconds:
                yield "deadlines", (name, seconds)
                continue
        yield "fields", (name, _text(old), _text(new))
    for ruleset in sorted(set(before.rules) | set(after.rules)):
        if before.rules.get(ruleset) != after.rules.get(ruleset):
            yield "rules", (ruleset, before.rules.get(ruleset), after.rules.get(ruleset))


def _text(value) -> str:
    return orjson.dumps(value).decode()


def compare(base, current, requests, examples: int = 3, progress=None) -> Impact:
    impact = Impact(changes=version_changes(base, current))
    touched = {_identity(f) for f in base.files} ^ {_identity(f) for f in current.files}
    for where, body, problem in requests:
        if problem:
            impact.unreadable.append((where, problem))
            continue
        impact.total += 1
        impact.masked += isinstance(body, MaskedRequest)
        impact.shifted += "shifted_from" in where
        before, after = replay(base, body), replay(current, body)
        impact.reached += bool((before.files | after.files) & touched)
        _received(impact, before.received_at or after.received_at)
        changed = False
        for table, key in differences(before, after):
            changed = True
            _add(getattr(impact, table), key, where, body, examples)
        impact.changed += changed
        if progress:
            progress(impact.total)
    return impact


def _received(impact: Impact, at: datetime | None) -> None:
    first, last = impact.received
    if at is not None:
        impact.received = [at if first is None or at < first else first, at if last is None or at > last else last]


def _add(table: dict, key: tuple, where: dict, body, examples: int) -> None:
    group = table.setdefault(key, Group())
    group.count += 1
    if len(group.examples) < examples:
        group.examples.append(dict(where, request=body.kept if isinstance(body, MaskedRequest) else body))


class GitError(EngineError):
    status = 400
    slug = "git-error"
    title = "The base policy could not be read from git"


def checkout_ref(ref: str, folders, into: Path) -> list[Path]:
    """The ``folders`` as they are at git ``ref``, written under ``into``; the working tree is not touched."""
    folders = [Path(f).resolve() for f in folders]
    top = _git(["rev-parse", "--show-toplevel"], folders[0]).decode().strip()
    relative = []
    for folder in folders:
        try:
            relative.append(folder.relative_to(top).as_posix())
        except ValueError:
            raise GitError(f"{folder} is not inside the git repository {top}") from None
    archive = _git(["archive", "--format=tar", ref, "--", *relative], Path(top))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return [into / r for r in relative]


def _git(args: list, where: Path) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(where if where.is_dir() else where.parent), *args],
                              capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git could not run: {exc}") from None
    if done.returncode != 0:
        raise GitError(f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout
