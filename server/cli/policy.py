"""The commands contract managers and CI use on policy files: decide, validate, test, explain, impact."""
from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import click

from supportpolicy.engine.charge.price import price_work
from supportpolicy.engine.errors import EngineError
from supportpolicy.engine.tools.check import check, check_in_context
from supportpolicy.engine.tools.explain import as_json as explanation_json
from supportpolicy.engine.tools.explain import explain as explain_request
from supportpolicy.engine.tools.impact import checkout_ref, compare, read_requests, suite_requests, version_changes
from supportpolicy.engine.tools.shift import shift_requests
from supportpolicy.engine.tools.suites import below, load_suites, run
from supportpolicy.server import reports
from supportpolicy.server.cli.billing import charge_text
from supportpolicy.server.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Percent,
    folders_in_force,
    load_policy,
    main,
    policies_option,
    read_request,
    refused,
    rules_option,
)
from supportpolicy.server.cli.progress import Progress


@main.command()
@click.argument("request_file", metavar="FILE|-", type=click.File("rb"))
@policies_option
@rules_option
def decide(request_file, policies, rules):
    """Print the decision for one request (a JSON file, or - for standard input)."""
    folders = folders_in_force(policies, rules)
    policy_set = load_policy(folders.roots, folders.label)
    try:
        decision = policy_set.decide(read_request(request_file))
    except EngineError as error:
        raise refused(error) from None
    click.echo(json.dumps(decision.as_json(), indent=2))
    return EXIT_OK


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "output", type=click.Choice(sorted(reports.VALIDATE_REPORTERS)), default="text",
              show_default=True, help="github prints workflow annotations (::error file=...,line=...::).")
@click.option("--strict", is_flag=True, help="Fail on warnings too (shadowed rules, rules that never match, ...).")
@policies_option
@rules_option
def validate(paths, output, strict, policies, rules):
    """Check policy files: every schema, reference and meaning error, with its place.

    PATHS are files or folders checked together as one policy set (default:
    --policies and --rules). Prints `path:line:column: code: message` for each
    error and warning; exits 0 when valid, 1 when not (or, with --strict, when
    there is a warning).
    """
    label = lambda root, path: os.path.normpath(path)  # noqa: E731
    if paths and all(p.is_file() for p in paths):
        # One file (or a few) of a policy repository: checked as part of the set it belongs to.
        errors, context = check_in_context(paths, label)
        if context:
            click.echo(f"supportpolicy: checked as part of the policy set in {context[0]} and {context[1]}",
                       err=True)
    elif paths:
        _, errors = check(paths, label)
    else:
        folders = folders_in_force(policies, rules)
        _, errors = check(folders.roots, folders.label)
    click.echo(reports.VALIDATE_REPORTERS[output](errors), nl=False)
    if output != "json":
        click.echo(reports.validation_summary(errors), err=True)
    failed = any(e.severity == "error" or strict for e in errors)
    return EXIT_FAILED if failed else EXIT_OK


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "output", type=click.Choice(sorted(reports.TEST_REPORTERS)), default="text",
              show_default=True, help="junit writes JUnit XML for CI test reports.")
@click.option("--filter", "patterns", multiple=True, metavar="PATTERN",
              help="Run only cases whose suite/case name contains PATTERN or matches it as a glob (repeatable).")
@click.option("--min-coverage", type=Percent(), metavar="PERCENT",
              help="Fail when fewer than PERCENT of the rules decided a case (exactly: 99.99 is below 100).")
@click.option("--verbose", "-v", is_flag=True, help="List passing cases too.")
@policies_option
@rules_option
def test(paths, output, patterns, min_coverage, verbose, policies, rules):
    """Run the policy test suites (default: those in the --policies folder).

    Each case is a request and the decision fields expected for it. Exits 0
    when every case passes, 1 when a case fails or a suite cannot be loaded
    (or coverage is below --min-coverage), 3 when the policies are invalid.
    """
    folders = folders_in_force(policies, rules)
    policy_set = load_policy(folders.roots, folders.label)
    if paths:
        suites, errored = load_suites(paths, lambda root, path: os.path.normpath(path))
    else:
        suites, errored = load_suites([folders.policies.path], folders.label, tests=True)
    result = run(policy_set, suites, errored, patterns)
    click.echo(reports.TEST_REPORTERS[output](result, verbose), nl=False)
    too_low = min_coverage is not None and below(result.coverage, min_coverage)
    if too_low:
        click.echo(f"supportpolicy: rule coverage is below {float(min_coverage):g}%", err=True)
    if not any(s.cases for s in result.suites if not s.errors) and not errored:
        click.echo("supportpolicy: no test case was run" + (" (check --filter)" if patterns else ""), err=True)
        return EXIT_FAILED
    return EXIT_FAILED if result.counts["failed"] or result.counts["errored"] or too_low else EXIT_OK


@main.command()
@click.argument("request_file", metavar="FILE|-", type=click.File("rb"))
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@policies_option
@rules_option
def explain(request_file, output, policies, rules):
    """Explain the decision for one request: the facts, and every rule considered. For a charge request (as
    POST /v1/charges takes it: request, notice, entries): how its charge was computed, span by span."""
    folders = folders_in_force(policies, rules)
    policy_set = load_policy(folders.roots, folders.label)
    body = read_request(request_file)
    if isinstance(body, dict) and "entries" in body:
        return _explain_charge(policy_set, body, output)
    try:
        explanation = explain_request(policy_set, body)
    except EngineError as error:
        raise refused(error) from None
    if output == "json":
        click.echo(json.dumps(explanation_json(explanation), indent=2))
    else:
        click.echo(reports.explain_text(explanation), nl=False)
    return EXIT_OK


def _explain_charge(policy_set, body: dict, output: str) -> int:
    try:
        charge = price_work(policy_set, body, datetime.now(timezone.utc))
    except EngineError as error:
        raise refused(error) from None
    zone = policy_set.time_zone(charge.customer)
    if output == "json":
        click.echo(json.dumps(charge.as_json(lambda instant: instant.astimezone(zone).isoformat()), indent=2))
    else:
        click.echo(charge_text(charge, zone), nl=False)
    return EXIT_OK


@main.command()
@click.option("--base", required=True, metavar="DIR_OR_GIT_REF",
              help="The policy to compare with: a folder holding policies/ and rules/, or a git ref "
                   "(e.g. main, HEAD~1) of the repository the current folders are in.")
@click.option("--requests", "requests_file", type=click.File("rb"), metavar="FILE.jsonl",
              help="Requests, one JSON object per line (or decision log records); - for standard input "
                   "[default: the requests of the policy test suites in the current --policies folder].")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--examples", default=3, show_default=True, type=click.IntRange(0, 100),
              help="Example requests shown for each kind of change.")
@click.option("--fail-on-change", is_flag=True, help="Exit 1 when any decision changes (for CI).")
@click.option("--shift", is_flag=True,
              help="Replay each request received before the versions that differ take effect on or after that "
                   "date instead: moved by whole weeks, at the same weekday and local time in the zone of the "
                   "customer's support hours (daylight saving respected).")
@policies_option
@rules_option
def impact(base, requests_file, output, examples, fail_on_change, shift, policies, rules):
    """Show what the current policy changes, against a base, over the same requests.

    The report says which versions differ between the two sets and when each
    takes effect, and how many requests are decided under them; with none, it
    warns (replay them later with --shift). Requests refused by one set and
    decided by the other are one kind of change, deadlines are grouped by how
    far they moved, and every other field by its old and new value.
    """
    folders = folders_in_force(policies, rules)
    current = load_policy(folders.roots, folders.label)
    with tempfile.TemporaryDirectory(prefix="supportpolicy-base-") as scratch:
        base_set = load_policy(_base_roots(base, folders, Path(scratch)), _base_label(base, Path(scratch)),
                               what="base")
        if requests_file is None:
            requests, total = _suite_requests(folders.policies.path, folders.label,
                                              "the shipped policy" if folders.policies.source == "shipped"
                                              else str(folders.policies.path))
        else:
            requests, total = read_requests(requests_file), _lines(requests_file)
        if shift:
            requests = _shifted(requests, base_set, current)
        with Progress(total) as progress:
            result = compare(base_set, current, requests, examples, progress)
    if output == "json":
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        click.echo(reports.impact_text(result, examples), nl=False)
    warning = reports.impact_warning(result, shift)
    if warning:
        click.echo(f"supportpolicy: warning: {warning}", err=True)
    return EXIT_FAILED if fail_on_change and result.changed else EXIT_OK


def _shifted(requests, base_set, current):
    """The requests moved to the date the versions that differ are all in effect (a note when none differ)."""
    takes_effect = max((c.effective_from for c in version_changes(base_set, current)), default=None)
    if takes_effect is None:
        click.echo("supportpolicy: --shift: the two policy sets hold the same versions; nothing to shift to",
                   err=True)
        return requests
    click.echo(f"supportpolicy: replaying every request received before {takes_effect} on or after it, "
               "at the same weekday and local time", err=True)
    return shift_requests(requests, current, takes_effect)


def _base_roots(base: str, folders, scratch: Path) -> tuple:
    """The base's policies/ and rules/: a folder's, or the current folders as they are at a git ref."""
    if Path(base).is_dir():
        base_roots = (Path(base) / "policies", Path(base) / "rules")
        missing = [str(r) for r in base_roots if not r.is_dir()]
        if missing:
            raise click.BadParameter(f"{base} has no {' or '.join(missing)}", param_hint="--base")
        return base_roots
    if folders.shipped:
        raise click.BadParameter(f"{base} is not a folder, and a git ref is read from the repository of the "
                                 "policy folders in force, here the shipped policy: run in your policy repository "
                                 "(with its policies/ and rules/), or give --policies and --rules",
                                 param_hint="--base")
    try:
        return tuple(checkout_ref(base, folders.roots, scratch))
    except EngineError as error:
        raise click.BadParameter(f"{base} is neither a folder nor a usable git ref: {error.detail}",
                                 param_hint="--base") from None


def _suite_requests(policies: Path, label, shown: str) -> tuple:
    """The requests of the test suites under ``policies``, and how many; a usage error when there are none."""
    suites, errored = load_suites([policies], label, tests=True)
    for suite in errored:
        for error in suite.errors:
            click.echo(f"supportpolicy: skipping a suite that cannot be loaded: {error}", err=True)
    cases = sum(len(suite.cases) for suite in suites)
    if not cases:
        raise click.UsageError(f"no --requests given, and {shown} holds no policy test case to replay; "
                               "give --requests FILE.jsonl (e.g. from `supportpolicy log export`)")
    click.echo(f"supportpolicy: replaying the {cases} requests of the policy test suites in {shown} "
               "(give --requests for real traffic)", err=True)
    return suite_requests(suites), cases


def _lines(stream) -> int | None:
    """How many lines a file holds (for the progress bar), or None for a pipe."""
    try:
        position = stream.tell()
        count = sum(1 for _ in stream)
        stream.seek(position)
        return count
    except (OSError, ValueError):
        return None


def _base_label(base: str, scratch: Path):
    """Files of an impact base: as given for a folder, as ``REF:path`` for a git ref."""
    if Path(base).is_dir():
        return lambda root, path: os.path.normpath(path)
    return lambda root, path: f"{base}:{path.relative_to(scratch).as_posix()}"
