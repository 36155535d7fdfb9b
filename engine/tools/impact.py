"""What a policy change changes: the same requests decided by two policy sets.

Requests come as JSON lines: a request body per line, or a logged decision
record holding one under "request"; or, without traffic to replay, the
requests of the policy test suites. Decisions are compared field by field
(decision_id and policy excepted), and by the rule that decided each rule set.
Each request carries where it came from (``{"line": n}`` in a file, or the
suite case's file, line and id), for the examples and the skipped lines. A
record whose e-mail the log masked is decided with the designated-contact
status it recorded (``masked``).
"""
from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from supportpolicy.engine.decide.request import decode_json
from supportpolicy.engine.errors import EngineError, MalformedRequest
from supportpolicy.engine.tools.masked import MaskedRequest, replayable

IGNORED = ("decision_id", "policy", "trace")


@dataclass
class Group:
    """Requests that changed in the same way."""

    count: int = 0
    examples: list = field(default_factory=list)


@dataclass
class Impact:
    total: int = 0
    changed: int = 0
    masked: int = 0  # of total: records whose e-mail was masked, decided with the status they recorded
    unreadable: list = field(default_factory=list)  # (where, message)
    fields: dict = field(default_factory=dict)  # (field, before, after), values as JSON text -> Group
    rules: dict = field(default_factory=dict)  # (ruleset, before, after) -> Group

    def as_json(self) -> dict:
        def groups(table, names, decode):
            return [dict(zip(names, (key[0], decode(key[1]), decode(key[2]))), count=g.count, examples=g.examples)
                    for key, g in sorted(table.items(), key=lambda kv: (-kv[1].count, kv[0]))]
        return {"requests": self.total, "changed": self.changed, "masked": self.masked,
                "unreadable": [dict(where, error=m) for where, m in self.unreadable],
                "fields": groups(self.fields, ("field", "before", "after"), orjson.loads),
                "rules": groups(self.rules, ("ruleset", "before", "after"), lambda rule: rule)}


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


def _outcome(policy_set, body):
    try:
        decision = decide_again(policy_set, body)
    except EngineError as error:
        return {"refused": f"{error.status} {error.title}"}, {}
    rules = {}
    for rule in decision.trace:
        rules[rule.ruleset] = ", ".join(filter(None, [rules.get(rule.ruleset), rule.name]))
    document = {k: v for k, v in decision.as_json().items() if k not in IGNORED}
    # A target's rule is reported with the deciding rules; what changed about the target itself is its time.
    document["targets"] = {name: {k: v for k, v in target.items() if k not in ("rule", "file", "line")}
                           for name, target in document["targets"].items()}
    return document, rules


def _text(value) -> str:
    return orjson.dumps(value).decode()


def compare(base, current, requests, examples: int = 3, progress=None) -> Impact:
    impact = Impact()
    for where, body, problem in requests:
        if problem:
            impact.unreadable.append((where, problem))
            continue
        impact.total += 1
        impact.masked += isinstance(body, MaskedRequest)
        (before, rules_before), (after, rules_after) = _outcome(base, body), _outcome(current, body)
        changed = False
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                changed = True
                _add(impact.fields, (name, _text(before.get(name)), _text(after.get(name))), where, body, examples)
        for ruleset in sorted(set(rules_before) | set(rules_after)):
            if rules_before.get(ruleset) != rules_after.get(ruleset):
                changed = True
                _add(impact.rules, (ruleset, rules_before.get(ruleset), rules_after.get(ruleset)), where, body,
                     examples)
        impact.changed += changed
        if progress:
            progress(impact.total)
    return impact


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
