"""What every command shares: the command group, its options, loading the policy set, exit codes.

Each command has the shape check-jsonschema's has: click parses the
arguments, the command builds what it needs (a policy set, a log, a
reporter), runs, and returns an exit code. Nothing below the group calls
``sys.exit``: a helper that cannot go on raises ``Failed``, and the group
prints it and exits with its code.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import click
from click.core import ParameterSource

from supportpolicy.engine.decide.build import check_policy_set
from supportpolicy.engine.decide.request import decode_json
from supportpolicy.engine.errors import EngineError
from supportpolicy.engine.instants import parse_instant_or_date
from supportpolicy.engine.load.files import label_from_root_name
from supportpolicy.engine.resources import default_roots
from supportpolicy.server import reports

HELP = """Support contracts as versioned policy, decided by rules.

Every command that reads policy uses --policies and --rules when given, else
./policies and ./rules when the current folder has them, else the shipped
policy, and says which on standard error. `supportpolicy init DIR` starts a
policy repository.

\b
Exit codes (the same for every command):
  0  success: valid, decided, every test passed, nothing changed
  1  the checked files are invalid, a test failed, the request was refused,
     the server cannot start (its port is taken, its log is unusable), the
     log to export does not exist, or (with --fail-on-change) a decision
     changed
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
                               help="Folder of plans and customers [default: ./policies if there is one, else the "
                                    "shipped policy].")
rules_option = click.option("--rules", type=_dir, envvar="SUPPORTPOLICY_RULES",
                            help="Folder of rule sets [default: ./rules if there is one, else the shipped rules].")


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


@dataclass(frozen=True)
class Folder:
    """One folder a command reads: where it is, and why that one."""

    path: Path
    source: str  # "given" (an option or its environment variable), "here" (./policies, ./rules) or "shipped"
    given_by: str = ""  # the option or variable that named it

    def shown(self) -> str:
        if self.source == "shipped":
            return f"the shipped {self.path.name} ({self.path})"
        if self.source == "here":
            return f"./{self.path} (found here)"
        return f"{self.path} ({self.given_by})"


@dataclass(frozen=True)
class Folders:
    """The policy and rules folders in force for a command, chosen by one rule for every command.

    --policies and --rules (or SUPPORTPOLICY_POLICIES and SUPPORTPOLICY_RULES) when given; else
    ./policies and ./rules when the current folder has them; else the shipped policy. Each folder is
    chosen on its own, and every command says which are in force (``announce``), so a contract
    manager never edits one folder while another decides.
    """

    policies: Folder
    rules: Folder

    @property
    def roots(self) -> tuple[Path, Path]:
        return self.policies.path, self.rules.path

    @property
    def shipped(self) -> bool:
        return self.policies.source == "shipped" and self.rules.source == "shipped"

    def label(self, root, path) -> str:
        """Files are named as the user's folders name them; the shipped ones as policies/... and rules/..."""
        if any(root == f.path and f.source == "shipped" for f in (self.policies, self.rules)):
            return label_from_root_name(root, path)
        return os.path.normpath(path)

    def describe(self) -> str:
        if self.shipped:
            return (f"supportpolicy: policies and rules: the shipped policy ({self.policies.path.parent}); "
                    "run in a folder with policies/ and rules/, or give --policies and --rules, to use yours")
        return f"supportpolicy: policies {self.policies.shown()}, rules {self.rules.shown()}"

    def announce(self) -> None:
        """One line on standard error: which folders are in force."""
        click.echo(self.describe(), err=True)


def _folder(name: str, given: Path | None, shipped: Path) -> Folder:
    if given is not None:
        source = click.get_current_context().get_parameter_source(name)
        by = f"SUPPORTPOLICY_{name.upper()}" if source is ParameterSource.ENVIRONMENT else f"--{name}"
        return Folder(given, "given", by)
    if Path(name).is_dir():
        return Folder(Path(name), "here")
    return Folder(shipped, "shipped")


def folders_in_force(policies: Path | None, rules: Path | None, announce: bool = True) -> Folders:
    """The folders a command uses (see ``Folders``); said on standard error unless ``announce`` is false."""
    shipped_policies, shipped_rules = default_roots()
    folders = Folders(_folder("policies", policies, shipped_policies), _folder("rules", rules, shipped_rules))
    if announce:
        folders.announce()
    return folders


def load_policy(roots, label, what="policy set"):
    """The valid policy set the command needs; Failed with every error when it is invalid."""
    policy_set, errors = check_policy_set(roots, label)
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
