"""The ``supportpolicy`` command line: parse arguments, call the engine, print, exit.

Exit codes: 0 success; 1 the request or the checked files are invalid;
2 usage error; 3 the policy set the command needs is invalid.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from engine import EngineError
from engine.load import label_from_root_name
from engine.policyset import check_policy_set, default_roots
from engine.request import decode_json

EXIT_INVALID, EXIT_USAGE, EXIT_POLICY = 1, 2, 3

_dir = click.Path(exists=True, file_okay=False, path_type=Path)
policies_option = click.option("--policies", type=_dir, envvar="SUPPORTPOLICY_POLICIES",
                               help="Folder of plans and customers [default: the shipped policy].")
rules_option = click.option("--rules", type=_dir, envvar="SUPPORTPOLICY_RULES",
                            help="Folder of rule sets [default: the shipped rules].")


def _roots(policies: Path | None, rules: Path | None) -> tuple:
    shipped_policies, shipped_rules = default_roots()
    return policies or shipped_policies, rules or shipped_rules


def _load_or_exit(policies, rules):
    policy_set, errors = check_policy_set(_roots(policies, rules))
    if policy_set is None:
        for error in errors:
            click.echo(str(error), err=True)
        click.echo(f"supportpolicy: the policy set is invalid ({_count(errors)}); nothing was started", err=True)
        sys.exit(EXIT_POLICY)
    return policy_set


def _count(errors) -> str:
    n = sum(e.severity == "error" for e in errors)
    return f"{n} error{'s' if n != 1 else ''}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="supportpolicy")
def main():
    """Support contracts as versioned policy, decided by rules."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="gunicorn worker processes.")
@policies_option
@rules_option
def serve(host, port, workers, policies, rules):
    """Serve the decision API with gunicorn."""
    from server.gunicorn import serve as run

    policy_set = _load_or_exit(policies, rules)
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    click.echo(f"supportpolicy: policy set {policy_set.digest} ({len(policy_set.files)} files)", err=True)
    for f in policy_set.describe():
        click.echo(f"  {f['kind']:8} {f['id']} {f['version']} from {f['effective_from']}  {f['path']}", err=True)
    click.echo(f"supportpolicy: listening on http://{bind} with {workers} worker(s)", err=True)
    run(policy_set, bind, workers)


@main.command()
@click.argument("request_file", metavar="FILE|-", type=click.File("rb"))
@policies_option
@rules_option
def decide(request_file, policies, rules):
    """Print the decision for one request (a JSON file, or - for standard input)."""
    policy_set = _load_or_exit(policies, rules)
    try:
        decision = policy_set.decide(decode_json(request_file.read()))
    except EngineError as error:
        click.echo(f"supportpolicy: {error.detail}", err=True)
        for field in error.errors:
            click.echo(f"  {field.pointer}: {field.message}", err=True)
        sys.exit(EXIT_INVALID)
    click.echo(json.dumps(decision.as_json(), indent=2))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@policies_option
@rules_option
def validate(paths, output, policies, rules):
    """Check policy files: every schema, reference and meaning error, with its place.

    PATHS are files or folders checked together as one policy set (default:
    --policies and --rules). Prints `path:line:column: code: message` per
    error; exits 0 when valid, 1 when not.
    """
    if paths:
        roots, label = paths, None
    else:
        roots, label = _roots(policies, rules), (None if policies or rules else label_from_root_name)
    _, errors = check_policy_set(roots, label or (lambda root, path: os.path.normpath(path)))
    failed = any(e.severity == "error" for e in errors)
    if output == "json":
        click.echo(json.dumps({"valid": not failed, "errors": [e.as_dict() for e in errors]}, indent=2))
    else:
        for error in errors:
            click.echo(str(error))
        click.echo(f"supportpolicy: {_count(errors)}" if failed else "supportpolicy: the policy set is valid",
                   err=True)
    sys.exit(EXIT_INVALID if failed else 0)


if __name__ == "__main__":
    main()
