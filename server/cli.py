"""The ``supportpolicy`` command line: parse arguments, call the engine, print, exit.

Support contracts as versioned policy, decided by rules.

\b
Exit codes (the same for every command):
  0  success: valid, decided, every test passed, nothing changed
  1  the checked files are invalid, a test failed, the request was refused,
     or (with --fail-on-change) a decision changed
  2  usage error
  3  the policy set the command needs is invalid
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import timezone
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import click
import orjson

from engine import EngineError
from engine.explain import as_json as explanation_json
from engine.explain import explain as explain_request
from engine.impact import checkout_ref, compare, read_requests
from engine.live import LivePolicy
from engine.load import label_from_root_name
from engine.assemble import check_policy_set, default_roots
from engine.decisionlog import MAX_PAGE, open_log
from engine.request import decode_json
from engine.suites import below, load_suites, run
from server import reports

EXIT_FAILED, EXIT_USAGE, EXIT_POLICY = 1, 2, 3

_dir = click.Path(exists=True, file_okay=False, path_type=Path)
policies_option = click.option("--policies", type=_dir, envvar="SUPPORTPOLICY_POLICIES",
                               help="Folder of plans and customers [default: the shipped policy].")
rules_option = click.option("--rules", type=_dir, envvar="SUPPORTPOLICY_RULES",
                            help="Folder of rule sets [default: the shipped rules].")


class _Percent(click.ParamType):
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


def _roots(policies: Path | None, rules: Path | None) -> tuple:
    shipped_policies, shipped_rules = default_roots()
    return policies or shipped_policies, rules or shipped_rules


def _label(policies, rules):
    """Files are named as the user gave their folders; the shipped ones as policies/... and rules/..."""
    return (lambda root, path: os.path.normpath(path)) if policies or rules else label_from_root_name


def _load_or_exit(policies, rules, roots=None, label=None, what="policy set"):
    policy_set, errors = check_policy_set(roots or _roots(policies, rules), label or _label(policies, rules))
    if policy_set is None:
        click.echo(reports.errors_text(errors), err=True, nl=False)
        click.echo(f"supportpolicy: the {what} is invalid ({reports.validation_summary(errors)[15:]})", err=True)
        sys.exit(EXIT_POLICY)
    return policy_set


def _base_label(base: str, scratch: Path):
    """Files of an impact base: as given for a folder, as ``REF:path`` for a git ref."""
    if Path(base).is_dir():
        return lambda root, path: os.path.normpath(path)
    return lambda root, path: f"{base}:{path.relative_to(scratch).as_posix()}"


def _read_request(request_file):
    try:
        return decode_json(request_file.read())
    except EngineError as error:
        click.echo(f"supportpolicy: {error.detail}", err=True)
        sys.exit(EXIT_FAILED)


def _refused(error: EngineError):
    click.echo(f"supportpolicy: refused ({error.status} {error.title}): {error.detail}", err=True)
    for field in error.errors:
        click.echo(f"  {field.pointer}: {field.message}", err=True)
    sys.exit(EXIT_FAILED)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, help=__doc__.split("\n", 2)[2])
@click.version_option(package_name="supportpolicy")
def main():
    pass


data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                               envvar="SUPPORTPOLICY_DATA_DIR",
                               help="Where the SQLite decision log lives [default: ~/.local/share/supportpolicy].")
decision_log_option = click.option("--decision-log", metavar="postgresql://...", envvar="SUPPORTPOLICY_DECISION_LOG",
                                   help="Log decisions to this PostgreSQL database instead of SQLite.")


def _open_log(decision_log, data_dir, retain_days=None):
    try:
        return open_log(decision_log, data_dir, retain_days)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--decision-log") from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="gunicorn worker processes.")
@data_dir_option
@decision_log_option
@click.option("--retain-days", type=click.IntRange(1, 36500), metavar="N",
              help="Delete logged decisions older than N days [default: keep them all].")
@click.option("--no-decision-log", is_flag=True, help="Keep no decision log (for measuring what it costs).")
@click.option("--no-watch", is_flag=True, help="Do not follow changes to the policy folders (SIGHUP still reloads).")
@policies_option
@rules_option
def serve(host, port, workers, data_dir, decision_log, retain_days, no_decision_log, no_watch, policies, rules):
    """Serve the decision API with gunicorn.

    The policy folders are followed: a valid change is put in force in every
    worker, an invalid one is refused (GET /v1/status shows why) and the last
    good set stays. SIGHUP and POST /v1/admin/reload reload too.
    """
    from server.gunicorn import serve as run_server

    roots = _roots(policies, rules)
    policy_set = _load_or_exit(policies, rules, roots)
    live = LivePolicy(roots, _label(policies, rules), policy_set)
    log = None if no_decision_log else _open_log(decision_log, data_dir, retain_days)
    if log is not None:
        try:
            log.setup()  # the table exists before the workers start writing
            pruned = log.prune()
        except EngineError as error:
            click.echo(f"supportpolicy: {error.detail}", err=True)
            sys.exit(EXIT_FAILED)
        log.close()  # each worker opens its own connection
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    click.echo(f"supportpolicy: policy set {policy_set.digest} ({len(policy_set.files)} files)", err=True)
    for f in policy_set.describe():
        click.echo(f"  {f['kind']:8} {f['id']} {f['version']} from {f['effective_from']}  {f['path']}", err=True)
    if log is None:
        click.echo("supportpolicy: no decision log", err=True)
    else:
        kept = f", keeping {retain_days} days ({pruned} older removed)" if retain_days else ""
        click.echo(f"supportpolicy: decision log {type(log).__name__} at {log.where}{kept}", err=True)
    click.echo(f"supportpolicy: listening on http://{bind} with {workers} worker(s)", err=True)
    run_server(live, bind, workers, log, watch=not no_watch, echo=lambda text: click.echo(text, err=True))


@main.group("log")
def log_group():
    """The decision log."""


@log_group.command("export")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z"]),
              help="Decisions made from this date (UTC) or RFC 3339 time on.")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z"]),
              help="Decisions made before this date (UTC) or RFC 3339 time.")
@click.option("--customer", help="Only this customer's decisions.")
@data_dir_option
@decision_log_option
def log_export(since, until, customer, data_dir, decision_log):
    """Write logged decisions as JSON lines, oldest first (`impact --requests` reads them)."""
    log = _open_log(decision_log, data_dir)
    since, until = (t if t is None or t.tzinfo else t.replace(tzinfo=timezone.utc) for t in (since, until))
    after = None
    try:
        while True:
            page = log.find(customer, since, until, after, MAX_PAGE)
            for record in page:
                click.echo(orjson.dumps(record.as_json()).decode())
            if len(page) < MAX_PAGE:
                break
            after = page[-1].decision_id
    except EngineError as error:
        click.echo(f"supportpolicy: {error.detail}", err=True)
        sys.exit(EXIT_FAILED)


@main.command()
@click.argument("request_file", metavar="FILE|-", type=click.File("rb"))
@policies_option
@rules_option
def decide(request_file, policies, rules):
    """Print the decision for one request (a JSON file, or - for standard input)."""
    policy_set = _load_or_exit(policies, rules)
    try:
        decision = policy_set.decide(_read_request(request_file))
    except EngineError as error:
        _refused(error)
    click.echo(json.dumps(decision.as_json(), indent=2))


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
    if paths:
        roots, label = paths, (lambda root, path: os.path.normpath(path))
    else:
        roots, label = _roots(policies, rules), _label(policies, rules)
    _, errors = check_policy_set(roots, label, suites=True)
    click.echo(reports.VALIDATE_REPORTERS[output](errors), nl=False)
    if output != "json":
        click.echo(reports.validation_summary(errors), err=True)
    failed = any(e.severity == "error" or strict for e in errors)
    sys.exit(EXIT_FAILED if failed else 0)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "output", type=click.Choice(sorted(reports.TEST_REPORTERS)), default="text",
              show_default=True, help="junit writes JUnit XML for CI test reports.")
@click.option("--filter", "patterns", multiple=True, metavar="PATTERN",
              help="Run only cases whose suite/case name contains PATTERN or matches it as a glob (repeatable).")
@click.option("--min-coverage", type=_Percent(), metavar="PERCENT",
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
    roots = _roots(policies, rules)
    policy_set = _load_or_exit(policies, rules, roots)
    if paths:
        suites, errored = load_suites(paths, lambda root, path: os.path.normpath(path))
    else:
        suites, errored = load_suites([roots[0]], _label(policies, rules), tests=True)
    result = run(policy_set, suites, errored, patterns)
    click.echo(reports.TEST_REPORTERS[output](result, verbose), nl=False)
    too_low = min_coverage is not None and below(result.coverage, min_coverage)
    if too_low:
        click.echo(f"supportpolicy: rule coverage is below {float(min_coverage):g}%", err=True)
    if not any(s.cases for s in result.suites if not s.errors) and not errored:
        click.echo("supportpolicy: no test case was run" + (" (check --filter)" if patterns else ""), err=True)
        sys.exit(EXIT_FAILED)
    sys.exit(EXIT_FAILED if result.counts["failed"] or result.counts["errored"] or too_low else 0)


@main.command()
@click.argument("request_file", metavar="FILE|-", type=click.File("rb"))
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@policies_option
@rules_option
def explain(request_file, output, policies, rules):
    """Explain the decision for one request: the facts, and every rule considered."""
    policy_set = _load_or_exit(policies, rules)
    try:
        explanation = explain_request(policy_set, _read_request(request_file))
    except EngineError as error:
        _refused(error)
    if output == "json":
        click.echo(json.dumps(explanation_json(explanation), indent=2))
    else:
        click.echo(reports.explain_text(explanation), nl=False)


@main.command()
@click.option("--base", required=True, metavar="DIR_OR_GIT_REF",
              help="The policy to compare with: a folder holding policies/ and rules/, or a git ref "
                   "(e.g. main, HEAD~1) of the repository the current folders are in.")
@click.option("--requests", "requests_file", required=True, type=click.File("rb"), metavar="FILE.jsonl",
              help="Requests, one JSON object per line (or decision log records); - for standard input.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--examples", default=3, show_default=True, type=click.IntRange(0, 100),
              help="Example requests shown for each kind of change.")
@click.option("--fail-on-change", is_flag=True, help="Exit 1 when any decision changes (for CI).")
@policies_option
@rules_option
def impact(base, requests_file, output, examples, fail_on_change, policies, rules):
    """Show what the current policy changes, against a base, over the same requests."""
    roots = _roots(policies, rules)
    current = _load_or_exit(policies, rules, roots)
    with tempfile.TemporaryDirectory(prefix="supportpolicy-base-") as scratch:
        if Path(base).is_dir():
            base_roots = (Path(base) / "policies", Path(base) / "rules")
            missing = [str(r) for r in base_roots if not r.is_dir()]
            if missing:
                raise click.BadParameter(f"{base} has no {' or '.join(missing)}", param_hint="--base")
        else:
            try:
                base_roots = checkout_ref(base, roots, Path(scratch))
            except EngineError as error:
                raise click.BadParameter(f"{base} is neither a folder nor a usable git ref: {error.detail}",
                                         param_hint="--base") from None
        base_set = _load_or_exit(None, None, tuple(base_roots), label=_base_label(base, Path(scratch)), what="base")
        with _Progress(_lines(requests_file)) as progress:
            result = compare(base_set, current, read_requests(requests_file), examples, progress)
    if output == "json":
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        click.echo(reports.impact_text(result, examples), nl=False)
    sys.exit(EXIT_FAILED if fail_on_change and result.changed else 0)


def _lines(stream) -> int | None:
    """How many lines a file holds (for the progress bar), or None for a pipe."""
    try:
        position = stream.tell()
        count = sum(1 for _ in stream)
        stream.seek(position)
        return count
    except (OSError, ValueError):
        return None


class _Progress:
    """A progress bar on standard error, drawn only once a run has taken more than a second."""

    WIDTH = 30

    def __init__(self, total: int | None):
        self.total = total
        self.started = time.monotonic()
        self.drawn = 0.0
        self.done = 0

    def __call__(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        self.done = done
        if now - self.started < 1 or (now - self.drawn < 0.2 and not final):
            return
        rate = f"{done / (now - self.started):,.0f} requests/s"
        if self.total:
            filled = min(self.WIDTH, self.WIDTH * done // self.total)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            click.echo(f"\r[{bar}] {done}/{self.total} {rate}", err=True, nl=False)
        else:
            click.echo(f"\rcompared {done} requests, {rate}", err=True, nl=False)
        self.drawn = now

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.drawn:
            self(self.done, final=True)
            click.echo("", err=True)


if __name__ == "__main__":
    main()
