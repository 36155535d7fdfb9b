"""Validation, in one call: every file under the roots read and checked, as one policy set."""
from __future__ import annotations

from supportpolicy.engine.load.assemble import CheckedSet, assemble
from supportpolicy.engine.load.files import label_from_root_name, read_documents


def validate(roots, label=label_from_root_name) -> tuple[CheckedSet | None, list]:
    """The checked set when it has no error (else None), and every error and warning, sorted.

    Policy test suites (in ``tests`` folders, or files starting ``suite:``) are
    not part of a policy set; ``tools.check`` checks them too.
    """
    documents, errors = read_documents(roots, label, tests=False)
    return assemble(documents, errors, roots)
