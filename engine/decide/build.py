"""A policy set from its folders: validated (``load``), then its rule sets compiled for durable-rules."""
from __future__ import annotations

from supportpolicy.engine.decide.compiler import compile_rulesets
from supportpolicy.engine.decide.durable import CompiledRules
from supportpolicy.engine.decide.policyset import CompiledBundle, PolicySet
from supportpolicy.engine.errors import PolicyError, PolicySetInvalid
from supportpolicy.engine.load.assemble import CheckedSet
from supportpolicy.engine.load.files import label_from_root_name
from supportpolicy.engine.load.validate import validate
from supportpolicy.engine.resources import default_roots


def build(checked: CheckedSet, errors: list) -> tuple[PolicySet | None, list]:
    """The checked set with its rule bundles compiled; None, with an error, if durable-rules refuses one."""
    bundles = {}
    for plan_id, plan_bundles in checked.bundles.items():
        bundles[plan_id] = []
        for bundle in plan_bundles:
            try:
                compiled = CompiledRules(compile_rulesets(bundle.rulesets))
            except Exception as exc:  # durable-rules refuses a definition: report it, never crash
                first = bundle.rulesets[0]
                line = (first.rules or (first.default,))[0].line
                refused = PolicyError(first.file.path, line, 1, "compile_error", f"the rules engine refused the "
                                      f"rule sets in effect from {bundle.effective_from}: {exc}", "$.rules")
                return None, sorted(set(errors) | {refused})
            bundles[plan_id].append(CompiledBundle.of(bundle, compiled))
    return PolicySet(checked, {plan_id: tuple(b) for plan_id, b in bundles.items()}), errors


def check_policy_set(roots, label=label_from_root_name) -> tuple[PolicySet | None, list]:
    """Load and check every file under ``roots``; the set when it is valid, and every error and warning."""
    checked, errors = validate(roots, label)
    if checked is None:
        return None, errors
    return build(checked, errors)


def load_policy_set(*roots, label=label_from_root_name) -> PolicySet:
    """The valid policy set under ``roots`` (default: the shipped policy), or PolicySetInvalid with every error."""
    policy_set, errors = check_policy_set(roots or default_roots(), label)
    if policy_set is None:
        raise PolicySetInvalid(errors)
    return policy_set
