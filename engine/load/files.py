"""Finding policy files and reading them as positioned YAML documents.

A document's kind is its first key: ``plan:``, ``customer:``, ``ruleset:``,
or ``suite:`` for the policy tests that live beside the policies. Files are
read in a stable order so errors come out sorted.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from supportpolicy.engine.errors import PolicyError
from supportpolicy.engine.load.yamlsource import Source, parse
from supportpolicy.engine.model import PolicyFile

KINDS = ("plan", "customer", "ruleset", "suite")
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
    takes only them, ``None`` takes everything.
    """
    if root.is_file():
        return [root]
    found = []
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if path.suffix not in SUFFIXES or any(part.startswith(".") for part in parts) or not path.is_file():
            continue
        if tests is None or tests == ("tests" in parts[:-1]):
            found.append(path)
    return sorted(found)


def read_documents(roots, label=None, tests: bool | None = None) -> tuple[list[Document], list[PolicyError]]:
    """Parse every policy file under ``roots`` (for ``tests``, see ``discover``).

    ``label(root, path)`` names a file in errors and traces; by default the
    path as the caller gave it, so editors and CI can open it.
    """
    label = label or (lambda root, path: str(path))
    documents, errors = [], []
    seen = set()
    for root in roots:
        root = Path(root)
        if not root.exists():
            errors.append(PolicyError(str(root), 1, 1, "not_found", "no such file or folder"))
            continue
        for path in discover(root, tests):
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            name = label(root, path)
            if len(seen) > MAX_FILES:
                errors.append(PolicyError(name, 1, 1, "too_many_files", f"more than {MAX_FILES} policy files"))
                return documents, errors
            try:
                text = path.read_bytes()
            except OSError as exc:
                errors.append(PolicyError(name, 1, 1, "unreadable", f"cannot read the file: {exc.strerror}"))
                continue
            source, parse_errors = parse(name, text)
            errors.extend(parse_errors)
            if source is None:
                continue
            kind = _kind(source)
            if kind is None:
                errors.append(source.error("$", "unknown_document",
                                           "a policy file starts with `plan:`, `customer:`, `ruleset:` or `suite:`, "
                                           "the id of what it holds"))
                continue
            documents.append(Document(source, kind, hashlib.sha256(text).hexdigest()))
    return documents, errors


def _kind(source: Source) -> str | None:
    if not isinstance(source.data, dict) or not source.data:
        return None
    first = next(iter(source.data))
    return first if first in KINDS else None


def label_from_root_name(root: Path, path: Path) -> str:
    """``rules/billing.yaml``: the path below the root, under the root's own name."""
    if root.is_file():
        return root.name
    return f"{root.name}/{path.relative_to(root).as_posix()}"
