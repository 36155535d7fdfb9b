"""What ``supportpolicy validate`` checks: a policy set, and the policy test suites beside it."""
from __future__ import annotations

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
