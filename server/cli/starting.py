"""supportpolicy init (a new policy repository) and supportpolicy schemas export (the JSON Schemas)."""
from __future__ import annotations

from importlib.metadata import version as installed_version
from pathlib import Path

import click

from supportpolicy.engine.tools.starter import schema_files, starter_files
from supportpolicy.server.cli.common import EXIT_FAILED, EXIT_OK, Failed, main

_folder = click.Path(file_okay=False, path_type=Path)


@main.command()
@click.argument("directory", metavar="DIR", type=_folder)
@click.option("--force", is_flag=True,
              help="Write into DIR even though it is not empty; files of the same names are replaced.")
def init(directory, force):
    """Start a policy repository in DIR: the shipped policy to edit, its schemas, checks for commits and CI.

    \b
    DIR/policies/   plans, customers and policy tests (policies/tests/), the shipped ones to start from
    DIR/rules/      the rule sets
    DIR/schemas/    the JSON Schemas, which every file's modeline points at (editor completion)
    DIR/.pre-commit-config.yaml, DIR/.github/workflows/policy.yml, DIR/README.md
    Refuses a DIR that is not empty, unless --force.
    """
    present = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    if present and not force:
        shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
        raise Failed(EXIT_FAILED, f"supportpolicy: {directory} is not empty (it holds {shown}); nothing was "
                                  "written. Give a new or empty folder, or --force to write into it (files of the "
                                  "same names are replaced)")
    files = starter_files(installed_version("supportpolicy"))
    replaced = _write(directory, files)
    for path in replaced:
        click.echo(f"supportpolicy: replaced {directory / path}", err=True)
    kinds = {top: sum(1 for f in files if f.path.startswith(top + "/")) for top in ("policies", "rules", "schemas")}
    click.echo(f"supportpolicy: wrote {len(files)} files to {directory}: policies/ ({kinds['policies']} files, the "
               f"policy tests in policies/tests/), rules/ ({kinds['rules']}), schemas/ ({kinds['schemas']}), "
               ".pre-commit-config.yaml, .github/workflows/policy.yml, README.md", err=True)
    click.echo(f"supportpolicy: next: cd {directory} && git init && supportpolicy validate && supportpolicy test",
               err=True)
    return EXIT_OK


@main.group("schemas")
def schemas_group():
    """The JSON Schemas of policy files (plans, customers, rule sets, policy tests) and decisions."""


@schemas_group.command("export")
@click.argument("directory", metavar="DIR", type=_folder)
def schemas_export(directory):
    """Write the JSON Schemas into DIR (created if missing; schema files already there are replaced).

    A policy file's first line, `# yaml-language-server: $schema=<path>`, points
    an editor at its schema: the path is relative to the file (from
    policies/customers/, ../../schemas/customer.schema.json).
    """
    files = [type(f)(Path(f.path).name, f.content) for f in schema_files()]
    _write(directory, files)
    click.echo(f"supportpolicy: wrote {', '.join(f.path for f in files)} to {directory}", err=True)
    return EXIT_OK


def _write(directory: Path, files) -> list[str]:
    """Write every file under ``directory``; the paths of those that were there already."""
    replaced = []
    try:
        for f in files:
            target = directory / f.path
            if target.exists():
                replaced.append(f.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.content)
    except OSError as exc:
        raise Failed(EXIT_FAILED, f"supportpolicy: cannot write {exc.filename}: {exc.strerror}") from None
    return replaced
