"""What every command shares: the command group, its options, loading the policy set, exit codes.

Each command has the shape check-jsonschema's has: click parses the
arguments, the command builds what it needs (a policy set, a log, a
reporter), runs, and returns an exit code. Nothing below the group calls
``sys.exit``: a helper that cannot go on raises ``Failed``, and the group
prints it and exits with its code.
"""
from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import click

from supportpolicy.engine.decide.build import check_policy_set
from supportpolicy.engine.decide.request import decode_json
from supportpolicy.engine.errors import EngineError
from supportpolicy.engine.instants import parse_instant_or_date
from supportpolicy.engine.load.files import label_from_root_name
from supportpolicy.engine.resources import default_roots
from supportpolicy.server import reports

HELP = """Support contracts as versioned policy, decided by rules.

\b
Exit codes (the same for every command):
  0  success: valid, decided, every test passed, nothing changed
  1  the checked files are invalid, a test failed, the request was refused,
     or (with --fail-on-change) a decision changed
  2  usage error
  3  the policy set the command needs is invalid
"""
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_POLICY = 0, 1, 2, 3


class Failed(Exception):
    """A command cannot go on: these lines go to standard error, and the command exits with ``exit_code``."""

    def __init__(self, exit_code: int, *lines: str):
        super().__init__("\n".join(lines))
        self.exit_code = exit_code
        self.lines = lines


class Commands(click.Group):
    """The command group: a command's return value is its exit code, and Failed is reported in one place."""

    def invoke(self, ctx):
        try:
            code = super().invoke(ctx)
        except Failed as failure:
            for line in failure.lines:
                click.echo(line, err=True)
            code = failure.exit_code
        ctx.exit(code or EXIT_OK)


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


class Instant(click.ParamType):
    """An RFC 3339 instant with an offset, or a date (YYYY-MM-DD, read as midnight UTC)."""

    name = "instant"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        instant = parse_instant_or_date(value)
        if instant is None:
            self.fail(f"{value!r} is neither a date (YYYY-MM-DD) nor an RFC 3339 time with an offset "
                      "(e.g. 2026-11-27T10:00:00-06:00)", param, ctx)
        return instant


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


def load_policy(policies, rules, roots=None, label=None, what="policy set"):
    """The valid policy set the command needs; Failed with every error when it is invalid."""
    policy_set, errors = check_policy_set(roots or roots_for(policies, rules), label or label_for(policies, rules))
    if policy_set is None:
        raise Failed(EXIT_POLICY, reports.errors_text(errors).rstrip("\n"),
                     f"supportpolicy: the {what} is invalid ({reports.validation_summary(errors)[15:]})")
    return policy_set


def read_request(request_file):
    try:
        return decode_json(request_file.read())
    except EngineError as error:
        raise Failed(EXIT_FAILED, f"supportpolicy: {error.detail}") from None


def refused(error: EngineError) -> Failed:
    """A request the engine refused, as the command reports it."""
    return Failed(EXIT_FAILED, f"supportpolicy: refused ({error.status} {error.title}): {error.detail}",
                  *(f"  {field.pointer}: {field.message}" for field in error.errors))


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]}, help=HELP)
@click.version_option(package_name="supportpolicy")
def main():
    pass
