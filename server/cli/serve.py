"""supportpolicy serve, and the decision log's commands."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import click
import orjson

from supportpolicy.engine.errors import EngineError
from supportpolicy.server.auth import SCOPE_ALLOWS, SCOPES, TokenFileError, add_token, is_loopback, load_tokens
from supportpolicy.server.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Failed,
    Instant,
    label_for,
    load_policy,
    main,
    policies_option,
    roots_for,
    rules_option,
)
from supportpolicy.server.cli.privacy import (
    describe,
    export_key,
    keep_option,
    key_file_option,
    log_privacy,
    personal_data_option,
    unchecked_note,
)
from supportpolicy.server.live import LivePolicy
from supportpolicy.server.storage.decisionlog import MAX_PAGE, PostgresLog, open_log
from supportpolicy.server.storage.privacy import KEEP_ALL, AddressCheck

data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                               envvar="SUPPORTPOLICY_DATA_DIR",
                               help="Where the SQLite decision log lives [default: ~/.local/share/supportpolicy].")
decision_log_option = click.option("--decision-log", metavar="postgresql://...", envvar="SUPPORTPOLICY_DECISION_LOG",
                                   help="Log decisions to this PostgreSQL database instead of SQLite.")


def _open_log(decision_log, data_dir, retain_days=None, privacy=KEEP_ALL):
    try:
        return open_log(decision_log, data_dir, retain_days, privacy)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--decision-log") from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="gunicorn worker processes.")
@click.option("--threads", default=16, show_default=True, type=click.IntRange(1, 256),
              help="Threads per worker: requests one worker answers at once (a slow client holds none while it "
                   "sends its request head).")
@data_dir_option
@decision_log_option
@click.option("--retain-days", type=click.IntRange(1, 36500), metavar="N",
              help="Delete logged decisions older than N days [default: keep them all].")
@click.option("--no-decision-log", is_flag=True, help="Keep no decision log (for measuring what it costs).")
@personal_data_option
@keep_option
@key_file_option
@click.option("--no-watch", is_flag=True, help="Do not follow changes to the policy folders (SIGHUP still reloads).")
@click.option("--tokens", "tokens_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              envvar="SUPPORTPOLICY_TOKENS_FILE",
              help="Token file (see `supportpolicy token add`); or its content in SUPPORTPOLICY_TOKENS.")
@click.option("--insecure-no-auth", is_flag=True,
              help="Serve without tokens on an address other than loopback (anyone who reaches it may call it).")
@policies_option
@rules_option
def serve(host, port, workers, threads, data_dir, decision_log, retain_days, no_decision_log, log_personal_data, keep,
          key_file, no_watch, tokens_file, insecure_no_auth, policies, rules):
    """Serve the decision API with gunicorn.

    The policy folders are followed: a valid change is put in force in every
    worker, an invalid one is refused (GET /v1/status shows why) and the last
    good set stays. SIGHUP and POST /v1/admin/reload reload too.
    """
    from supportpolicy.server.gunicorn import serve as run_server

    tokens = _tokens(tokens_file, host, insecure_no_auth)
    webhooks = _webhook_secrets()
    roots = roots_for(policies, rules)
    policy_set = load_policy(policies, rules, roots)
    live = LivePolicy(roots, label_for(policies, rules), policy_set)
    log = None
    if not no_decision_log:
        log = _open_log(decision_log, data_dir, retain_days, log_privacy(log_personal_data, keep, key_file, data_dir))
    pruned = _prepare(log)
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    _banner(policy_set, log, retain_days, pruned, tokens, host, data_dir)
    click.echo(f"supportpolicy: webhooks: {webhooks.describe()}", err=True)
    click.echo(f"supportpolicy: listening on http://{bind} with {workers} worker(s) of {threads} threads; "
               f"the policy explorer is at http://{bind}/", err=True)
    run_server(live, bind, workers, log, watch=not no_watch, echo=lambda text: click.echo(text, err=True),
               tokens=tokens, threads=threads)
    return EXIT_OK


def _tokens(tokens_file, host: str, insecure_no_auth: bool):
    try:
        tokens = load_tokens(tokens_file, os.environ.get("SUPPORTPOLICY_TOKENS"))
    except (OSError, TokenFileError) as exc:
        raise click.BadParameter(str(exc), param_hint="--tokens") from None
    if tokens is None and not is_loopback(host) and not insecure_no_auth:
        raise click.UsageError(f"refusing to serve {host} without authentication: anyone who can reach it could "
                               "read logged decisions and reload the policy. Give --tokens FILE (create one with "
                               "`supportpolicy token add`), serve on 127.0.0.1, or say --insecure-no-auth.")
    return tokens


def _webhook_secrets():
    from supportpolicy.server.webhooks import WebhookSecretError, load_secrets  # the web app: only to serve

    try:
        return load_secrets(os.environ, "SUPPORTPOLICY_")
    except WebhookSecretError as exc:
        raise click.UsageError(str(exc)) from None


def _prepare(log) -> int:
    """The log's table made, and old entries pruned, before the workers start writing; how many were pruned."""
    if log is None:
        return 0
    try:
        log.setup()
        pruned = log.prune()
    except EngineError as error:
        raise Failed(EXIT_FAILED, f"supportpolicy: {error.detail}") from None
    log.close()  # each worker opens its own connection
    return pruned


def _banner(policy_set, log, retain_days, pruned: int, tokens, host: str, data_dir) -> None:
    """What the server is about to serve: the policy set, the decision log, authentication."""
    click.echo(f"supportpolicy: policy set {policy_set.digest} ({len(policy_set.files)} files)", err=True)
    for f in policy_set.describe():
        click.echo(f"  {f['kind']:8} {f['id']} {f['version']} from {f['effective_from']}  {f['path']}", err=True)
    if log is None:
        click.echo("supportpolicy: no decision log", err=True)
    else:
        kept = f", keeping {retain_days} days ({pruned} older removed)" if retain_days else ""
        click.echo(f"supportpolicy: decision log {type(log).__name__} at {log.where}{kept}", err=True)
        for line in describe(log.privacy, isinstance(log, PostgresLog), data_dir):
            click.echo(line, err=True)
    if tokens is None:
        click.echo("supportpolicy: authentication off" + (" (loopback only)" if is_loopback(host) else
                                                          " (--insecure-no-auth)"), err=True)
    else:
        click.echo(f"supportpolicy: authentication on, {len(tokens)} token(s)", err=True)


@main.group("token")
def token_group():
    """API tokens."""


@token_group.command("add")
@click.argument("name")
@click.option("--scopes", required=True, metavar="SCOPE[,SCOPE...]",
              help="What the token may do, comma-separated: "
                   + "; ".join(f"{scope} ({allows})" for scope, allows in SCOPE_ALLOWS.items()) + ".")
@click.option("--tokens", "tokens_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              envvar="SUPPORTPOLICY_TOKENS_FILE", help="The token file to add it to (created if missing).")
def token_add(name, scopes, tokens_file):
    """Create a token; its secret is printed once, and only its hash is stored."""
    wanted = [s.strip() for s in scopes.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(SCOPES))
    if unknown or not wanted:
        raise click.BadParameter(f"scopes are {', '.join(SCOPES)}" + (f", not {', '.join(unknown)}" if unknown
                                                                      else ""), param_hint="--scopes")
    try:
        secret = add_token(tokens_file, name, wanted)
    except (OSError, ValueError, KeyError) as exc:
        raise click.BadParameter(str(exc), param_hint="--tokens") from None
    click.echo(secret)
    click.echo(f"supportpolicy: token {name!r} ({', '.join(sorted(set(wanted)))}) added to {tokens_file}; "
               "the secret above is not stored and will not be shown again", err=True)
    return EXIT_OK


@main.group("log")
def log_group():
    """The decision log."""


@log_group.command("export")
@click.option("--since", type=Instant(),
              help="Decisions made from this date (UTC) or RFC 3339 time on.")
@click.option("--until", type=Instant(),
              help="Decisions made before this date (UTC) or RFC 3339 time.")
@click.option("--customer", help="Only this customer's decisions.")
@click.option("--requester-email", metavar="ADDRESS",
              help="Only the decisions this address asked for (compared as the engine compares e-mails), also "
                   "where the log kept the e-mail only as a keyed hash: hashed with the log's key to match.")
@data_dir_option
@decision_log_option
@key_file_option
def log_export(since, until, customer, requester_email, data_dir, decision_log, key_file):
    """Write logged decisions as JSON lines, oldest first (`impact --requests` reads them).

    Each record's privacy.masked names the fields of its request that the log did not keep as received.
    """
    log = _open_log(decision_log, data_dir)
    key = export_key(key_file, data_dir) if requester_email is not None else None
    check = AddressCheck(requester_email, key) if requester_email is not None else None
    unchecked = Counter()  # key_id of the records the key cannot check -> how many
    after = None
    try:
        while True:
            page = log.find(customer, since, until, after, MAX_PAGE)
            for record in page:
                found = check.matches(record.request, record.masked) if check else True
                if found is None:
                    unchecked.update(m.key_id for m in record.masked if m.key_id)
                if found:
                    click.echo(orjson.dumps(record.as_json()).decode())
            if len(page) < MAX_PAGE:
                break
            after = page[-1].decision_id
    except EngineError as error:
        raise Failed(EXIT_FAILED, f"supportpolicy: {error.detail}") from None
    note = unchecked_note(unchecked, key)
    if note:
        click.echo(note, err=True)
    return EXIT_OK
