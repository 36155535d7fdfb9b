"""What every command shares: the command group, its options, loading the policy set, exit codes."""
from __future__ import annotations

import os
import sys
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import click

from engine import EngineError
from engine.assemble import check_policy_set, default_roots
from engine.load import label_from_root_name
from engine.request import decode_json
from server import reports

HELP = """Support contracts as versioned policy, decided by rules.

\b
Exit codes (the same for every command):
  0  success: valid, decided, every test passed, nothing changed
  1  the checked files are invalid, a test failed, the request was refused,
     or (with --fail-on-change) a decision changed
  2  usage error
  3  the policy set the command needs is invalid
"""
EXIT_FAILED, EXIT_USAGE, EXIT_POLICY = 1, 2, 3

_dir = click.Path(exists=True, file_okay=False, path_type=Path)
policies_option = click.option("--policies", type=_dir, envvar="SUPPORTPOLICY_POLICIES",
                               help="Folder of plans and customers [default: the shipped policy].")
rules_option = click.option("--rules", type=_dir, envvar="SUPPORTPOLICY_RULES",
                            help="Folder of rule sets [default: the shipped rules].")


class Percent(click.ParamType):
    """A percentage from 0 to 100, read exactly as written (a decimal, never a float)."""

    name = "percent"

    def convert(self, value, param, ctx):
        try:
            percent = Fraction(Decimal(str(value).strip().rstrip("%")))
        except (InvalidOperation, ValueError, OverflowError):  # also NaN and Infinity
            self.fail(f"{value!r} is not a number", param, ctx)
        if not 0 <= percent <= 100:
            self.fail(f"{value} is not between 0 and 100", param, ctx)
        return percent


def roots_for(policies: Path | None, rules: Path | None) -> tuple:
    shipped_policies, shipped_rules = default_roots()
    return policies or shipped_policies, rules or shipped_rules


def note_local_folders_unused(policies, rules) -> None:
    """Said when a command falls back to the shipped policy in a folder that has its own.

    A contract manager who runs ``supportpolicy validate`` in a policy repository
    without naming its folders would otherwise be told that the shipped policy
    is valid, and could take it for their own.
    """
    if policies or rules:
        return
    local = [name for name, shipped in zip(("policies", "rules"), default_roots())
             if Path(name).is_dir() and Path(name).resolve() != shipped.resolve()]
    if local:
        click.echo(f"supportpolicy: note: this checks the shipped default policy, not ./{' and ./'.join(local)}; "
                   "give --policies policies --rules rules to check yours", err=True)


def label_for(policies, rules):
    """Files are named as the user gave their folders; the shipped ones as policies/... and rules/..."""
    return (lambda root, path: os.path.normpath(path)) if policies or rules else label_from_root_name


def load_or_exit(policies, rules, roots=None, label=None, what="policy set"):
    policy_set, errors = check_policy_set(roots or roots_for(policies, rules), label or label_for(policies, rules))
    if policy_set is None:
        click.echo(reports.errors_text(errors), err=True, nl=False)
        click.echo(f"supportpolicy: the {what} is invalid ({reports.validation_summary(errors)[15:]})", err=True)
        sys.exit(EXIT_POLICY)
    return policy_set


def read_request(request_file):
    try:
        return decode_json(request_file.read())
    except EngineError as error:
        click.echo(f"supportpolicy: {error.detail}", err=True)
        sys.exit(EXIT_FAILED)


def refused(error: EngineError):
    click.echo(f"supportpolicy: refused ({error.status} {error.title}): {error.detail}", err=True)
    for field in error.errors:
        click.echo(f"  {field.pointer}: {field.message}", err=True)
    sys.exit(EXIT_FAILED)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, help=HELP)
@click.version_option(package_name="supportpolicy")
def main():
    pass
