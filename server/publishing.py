"""What `supportpolicy publish` stores: a valid set's files under the names a replica loads them by, and its digest.

The set is validated as `supportpolicy validate` validates it (the same engine
call, from the files on disk, the same errors). Its files are stored under
``policies/...`` and ``rules/...``, the names a replica gives them when it
loads the set from the folders it writes them to (``server.policysource``),
so the digest stored is the ``PolicySet.digest`` that replica computes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from supportpolicy.engine.decide.policyset import digest as set_digest
from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.files import read_files
from supportpolicy.engine.tools.check import check
from supportpolicy.server.storage.policysource import StoredFile

ROOT_NAMES = ("policies", "rules")


@dataclass(frozen=True)
class Prepared:
    """A set ready to publish (``digest`` and ``files``), or the errors that refuse it."""

    digest: str | None
    files: tuple  # StoredFile
    errors: tuple  # PolicyError, warnings included

    @property
    def valid(self) -> bool:
        return self.digest is not None


def prepare(roots, label) -> Prepared:
    """Validate the set under ``roots`` (policies, rules) as `validate` does; when valid, its files and digest."""
    policy_set, errors = check(roots, label)
    if policy_set is None or any(e.severity == "error" for e in errors):
        return Prepared(None, (), tuple(errors))
    names = {}  # the file's name as validated -> its name stored

    def stored_name(root, path):
        name = f"{ROOT_NAMES[roots.index(root)]}/{Path(path).relative_to(root).as_posix()}"
        names[label(root, path)] = name
        return name

    snapshot = read_files(tuple(roots), stored_name, tests=False)
    files = tuple(StoredFile(f.name, f.text) for f in snapshot.files if f.error is None)
    by_name = {f.path: f for f in files}
    stored = [replace(f, path=names.get(f.path, f.path)) for f in policy_set.files]
    changed = [f.path for f in stored if f.path not in by_name or by_name[f.path].sha256 != f.sha256]
    if changed or len(files) != len(snapshot.files):
        return Prepared(None, (), (PolicyError(
            changed[0] if changed else str(roots[0]), 1, 1, "files_changing",
            "the policy files changed while they were published; nothing was stored: publish again"),))
    return Prepared(set_digest(stored), files, tuple(errors))


def default_publisher() -> str:
    """Who publishes, when --by is not given: the OS user at this host."""
    try:
        user = os.getlogin()
    except OSError:
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
    return f"{user}@{os.uname().nodename}"
