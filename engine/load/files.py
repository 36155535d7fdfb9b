"""Finding policy files and reading them as positioned YAML documents.

A document's kind is its first key: ``plan:``, ``customer:``, ``ruleset:``,
or ``suite:`` for the policy tests that live beside the policies. Files are
read in a stable order so errors come out sorted.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.yamlsource import Source, parse
from supportpolicy.engine.model import PolicyFile

KINDS = ("plan", "customer", "ruleset", "integration", "suite")
SUFFIXES = (".yaml", ".yml")
MAX_FILES = 100_000


@dataclass(frozen=True)
class Document:
    source: Source
    kind: str
    sha256: str

    @property
    def path(self) -> str:
        return self.source.path

    def policy_file(self) -> PolicyFile:
        """What the (schema-valid) file is: its kind, id, version and effective date, and its content hash."""
        data = self.source.data
        return PolicyFile(self.path, self.kind, data[self.kind], data["version"],
                          date.fromisoformat(data["effective_from"]), self.sha256)


def discover(root: Path, tests: bool | None = None) -> list[Path]:
    """The YAML files under ``root`` (or ``root`` itself), in a stable order.

    Policy tests live in folders named ``tests``: ``tests=False`` leaves them
    out (a broken test file must not stop the policy from loading), ``True``
    takes only them, ``None`` takes everything. Names starting with ``.`` are
    skipped; symbolic links are followed (see ``_walk``).
    """
    return [Path(where) for where, _ in _found(root, tests)]


def _found(root: Path, tests: bool | None) -> list[tuple[str, str]]:
    """``discover``'s files, as paths (``root`` joined with the names below it) and real paths.

    Strings, not Paths: a server reads thousands of files on every reload, and pathlib's parsing of each
    cost more than reading it."""
    if root.is_file():
        return [(str(root), os.path.realpath(root))]
    found = sorted((parts, where, real) for parts, where, real in _walk(root)
                   if tests is None or tests == ("tests" in parts[:-1]))
    return [(where, real) for _, where, real in found]


def _walk(root: Path) -> list[tuple[tuple, str, str]]:
    """Every YAML file under ``root``: the names leading to it below ``root``, its path, its real path.

    Links are followed, to files and to folders: a Kubernetes ConfigMap
    mounts each entry as a link into ``..data``, itself a link to the folder
    of the version in force, which a new version replaces in one rename.
    Each real folder is read once, under the name of its real path below the
    root when it has one (folders reached through links are read last, in
    name order), and a link to a folder that holds the root (a loop) is not
    followed.
    """
    top = os.path.realpath(root)
    found, seen, folders, linked = [], set(), [((), str(root), top)], []
    while folders or linked:
        parts, folder, real = folders.pop() if folders else linked.pop(0)
        if real in seen or (real != top and top.startswith(real.rstrip(os.sep) + os.sep)):
            continue
        seen.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name, reverse=True)
        except OSError:  # unreadable or vanished: as rglob, which skipped it
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            link = entry.is_symlink()
            target = os.path.realpath(entry.path) if link else os.path.join(real, entry.name)
            try:
                if entry.is_dir():
                    (linked if link else folders).append((parts + (entry.name,), entry.path, target))
                elif entry.name.endswith(SUFFIXES) and entry.is_file():
                    found.append((parts + (entry.name,), entry.path, target))
            except OSError:
                continue
    return found


@dataclass(frozen=True)
class FileRead:
    """One policy file as read: its name, and its bytes with their sha256, or the error that stopped it."""

    name: str
    text: bytes | None = None
    sha256: str | None = None
    error: PolicyError | None = None


@dataclass(frozen=True)
class Snapshot:
    """Every policy file under some roots as read at one moment, in a stable order."""

    files: tuple  # FileRead, in the order read_documents reports them

    @property
    def fingerprint(self) -> str:
        """A content hash of everything read: each file's name and sha256, and each error."""
        listing = "".join(f"{f.sha256}  {f.name}\n" if f.error is None else f"{f.error}\n" for f in self.files)
        return "sha256:" + hashlib.sha256(listing.encode()).hexdigest()


def read_files(roots, label=None, tests: bool | None = None, memo=None) -> Snapshot:
    """The bytes of every policy file under ``roots`` (for ``label`` and ``tests``, see ``read_documents``).

    With a ``memo`` (see ``no_memo``), a file's name is what ``label`` gave the same path before.
    """
    label = label or (lambda root, path: str(path))
    memo = memo or no_memo
    files, seen = [], set()
    for root in roots:
        root = Path(root)
        top = str(root)
        if not root.exists():
            files.append(FileRead(str(root), error=PolicyError(str(root), 1, 1, "not_found", "no such file or folder")))
            continue
        for where, real in _found(root, tests):
            if real in seen:
                continue
            seen.add(real)
            name = memo(("name", top, where), lambda: label(root, Path(where)))
            if len(seen) > MAX_FILES:
                files.append(FileRead(name, error=PolicyError(name, 1, 1, "too_many_files",
                                                              f"more than {MAX_FILES} policy files")))
                return Snapshot(tuple(files))
            try:
                with open(where, "rb") as file:
                    text = file.read()
            except OSError as exc:
                files.append(FileRead(name, error=PolicyError(name, 1, 1, "unreadable",
                                                              f"cannot read the file: {exc.strerror}")))
                continue
            files.append(FileRead(name, text, hashlib.sha256(text).hexdigest()))
    return Snapshot(tuple(files))


def no_memo(key, compute):
    """The memo of a one-off load: computes every time. A caller that loads again and again (a server)
    passes its own ``memo(key, compute)``, which may return what it computed for the same key before:
    keys name the content a result was computed from (a file's name and sha256)."""
    return compute()


def parse_files(snapshot: Snapshot, memo=no_memo) -> tuple[list[Document], list[PolicyError]]:
    """The snapshot's files as positioned documents, and every error, in the snapshot's order."""
    documents, errors = [], []
    for read in snapshot.files:
        if read.error is not None:
            errors.append(read.error)
            continue
        document, problems = memo(("document", read.name, read.sha256), lambda: _document(read))
        errors.extend(problems)
        if document is not None:
            documents.append(document)
    return documents, errors


def _document(read: FileRead) -> tuple[Document | None, tuple]:
    source, parse_errors = parse(read.name, read.text)
    if source is None:
        return None, tuple(parse_errors)
    kind = _kind(source)
    if kind is None:
        return None, (source.error("$", "unknown_document",
                                   "a policy file starts with `plan:`, `customer:`, `ruleset:`, `integration:` or "
                                   "`suite:`, the id of what it holds"),)
    return Document(source, kind, read.sha256), ()


def read_documents(roots, label=None, tests: bool | None = None) -> tuple[list[Document], list[PolicyError]]:
    """Parse every policy file under ``roots`` (for ``tests``, see ``discover``).

    ``label(root, path)`` names a file in errors and traces; by default the
    path as the caller gave it, so editors and CI can open it.
    """
    return parse_files(read_files(roots, label, tests))


def _kind(source: Source) -> str | None:
    if not isinstance(source.data, dict) or not source.data:
        return None
    first = next(iter(source.data))
    return first if first in KINDS else None


def label_from_root_name(root: Path, path: Path) -> str:
    """``rules/billing.yaml``: the path below the root, under the root's own name."""
    if path == root:  # a file given as the root
        return root.name
    below, top = str(path), str(root)
    if below.startswith(top.rstrip("/") + "/"):  # the common case, without pathlib's parsing
        return f"{root.name}/{below[len(top.rstrip('/')) + 1:]}"
    return f"{root.name}/{path.relative_to(root).as_posix()}"
