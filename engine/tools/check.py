"""What ``supportpolicy validate`` checks: a policy set, and the policy test suites beside it."""
from __future__ import annotations

from pathlib import Path

from supportpolicy.engine.decide.build import build
from supportpolicy.engine.decide.policyset import PolicySet
from supportpolicy.engine.load.assemble import assemble
from supportpolicy.engine.load.files import label_from_root_name, read_documents
from supportpolicy.engine.tools.suites import load_suites, suite_problems


def check(roots, label=label_from_root_name) -> tuple[PolicySet | None, list]:
    """Every error and warning of the policy set under ``roots`` and of its suites, sorted; and the set, if valid.

    A broken suite is reported but never makes the policy set invalid.
    """
    documents, read_errors = read_documents(roots, label, tests=False)
    checked, errors = assemble(documents, read_errors, roots)
    policy_set = None
    if checked is not None:
        policy_set, errors = build(checked, errors)
    errors = list(errors)
    errors += [e for doc in documents if doc.kind == "suite" for e in suite_problems(doc)]
    errors += [e for result in load_suites(roots, label, tests=True)[1] for e in result.errors]
    return policy_set, sorted(set(errors))


def context_of(path: Path) -> tuple[Path, Path] | None:
    """The policies/ and rules/ folders of the policy set a file belongs to, when it lies in one."""
    for folder in path.parents:
        if folder.name in ("policies", "rules"):
            other = folder.with_name("rules" if folder.name == "policies" else "policies")
            if other.is_dir():
                return (folder, other) if folder.name == "policies" else (other, folder)
    return None


def check_in_context(files, label=label_from_root_name) -> tuple[list, tuple | None]:
    """The errors and warnings of ``files``, each checked as part of the policy set its folders hold;
    and those folders (None, and the files checked alone, when they do not lie in one policy set)."""
    contexts = {context_of(Path(f)) for f in files}
    if len(contexts) != 1 or None in contexts:
        return check(files, label)[1], None
    roots = contexts.pop()
    wanted = {Path(f).resolve() for f in files}
    _, errors = check(roots, label)
    return [e for e in errors if Path(e.file).resolve() in wanted], roots
