"""supportpolicy serve, and the decision log's commands."""
from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import click
import orjson

from supportpolicy.engine.errors import EngineError
from supportpolicy.engine.tools.statement import MONTH
from supportpolicy.server.auth import TokenFileError, is_loopback, load_tokens
from supportpolicy.server.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Failed,
    Instant,
    folders_in_force,
    load_policy,
    main,
    policies_option,
    rules_option,
)
from supportpolicy.server.cli.privacy import (
    export_key,
    keep_option,
    key_file_option,
    log_privacy,
    personal_data_option,
    unchecked_note,
)
from supportpolicy.server.cli.startup import banner, listen_or_fail, open_decision_log, prepare_log
from supportpolicy.server.live import LivePolicy
from supportpolicy.server.storage.decisionlog import (
    MAX_PAGE,
    data_dir_for,
    default_data_dir,
    sqlite_path,
)
from supportpolicy.server.storage.privacy import AddressCheck

data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                               envvar="SUPPORTPOLICY_DATA_DIR",
                               help="Where the SQLite decision log lives [default: one folder per policy folder, "
                                    "under ~/.local/share/supportpolicy/logs/; serve says which].")


def decision_log_option(help_text: str):
    return click.option("--decision-log", metavar="postgresql://...", envvar="SUPPORTPOLICY_DECISION_LOG",
                        help=help_text)


def stored_log(decision_log, data_dir: Path):
    """The log a report reads: the one `serve` wrote with these options; Failed when there is no SQLite log."""
    if not decision_log and not sqlite_path(data_dir).is_file():
        raise Failed(EXIT_FAILED, f"supportpolicy: no decision log at {sqlite_path(data_dir)}: give the --data-dir "
                                  "(or --decision-log) the server used, as its start-up lines say")
    return open_decision_log(decision_log, data_dir)


def valid_month(ctx, param, value: str) -> str:
    """A click callback: ``value`` as YYYY-MM, or a usage error saying so."""
    if not re.fullmatch(MONTH, value or ""):
        raise click.BadParameter(f"{value!r} is not a month: give YYYY-MM, e.g. 2026-11")
    return value


def _data_dir(data_dir: Path | None, folders) -> Path:
    """The SQLite log's folder: --data-dir, or the policy folder's own (``data_dir_for``)."""
    return data_dir if data_dir is not None else data_dir_for(folders.policies.path)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="gunicorn worker processes.")
@click.option("--threads", default=16, show_default=True, type=click.IntRange(1, 256),
              help="Threads per worker: requests one worker answers at once (a slow client holds none while it "
                   "sends its request head).")
@data_dir_option
@decision_log_option("Log decisions to this PostgreSQL database instead of SQLite.")
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
@click.option("--policy-source", metavar="postgresql://...", envvar="SUPPORTPOLICY_POLICY_SOURCE",
              help="Follow the policy set published to this database (`supportpolicy publish`) instead of folders; "
                   "the decision log, ticket events and work entries go there too unless --decision-log is given.")
@click.option("--replica-name", metavar="NAME",
              help="This replica's name in the fleet's status (with --policy-source) [default: hostname:port].")
@policies_option
@rules_option
def serve(host, port, workers, threads, data_dir, decision_log, retain_days, no_decision_log, log_personal_data, keep,
          key_file, no_watch, tokens_file, insecure_no_auth, policy_source, replica_name, policies, rules):
    """Serve the decision API with gunicorn.

    The policy folders are followed: a valid change is put in force in every
    worker, an invalid one is refused (GET /v1/status shows why) and the last
    good set stays. SIGHUP and POST /v1/admin/reload reload too. With
    --policy-source, the set in force in that database is followed instead
    (LISTEN/NOTIFY, and a re-check every 10 s), from a local copy that the
    replica starts from when the database cannot be reached.
    """
    from supportpolicy.server.gunicorn import serve as run_server

    tokens = _tokens(tokens_file, host, insecure_no_auth)
    webhooks = _webhook_secrets()
    if policy_source:
        from supportpolicy.server.cli.following import ReplicaOptions, serve_followed

        if policies or rules:
            raise click.UsageError("--policy-source replaces --policies and --rules: publish the folders with "
                                   "`supportpolicy publish --to ...` and leave them out here")
        return serve_followed(policy_source, replica_name, ReplicaOptions(
            host, port, workers, threads, data_dir, decision_log, retain_days, no_decision_log,
            (log_personal_data, keep, key_file), tokens, webhooks))
    folders = folders_in_force(policies, rules)
    log_dir = _data_dir(data_dir, folders)
    log = None
    if not no_decision_log:  # a --decision-log that is no URL is a usage error (2), whatever the port
        log = open_decision_log(decision_log, log_dir, retain_days,
                                log_privacy(log_personal_data, keep, key_file, log_dir))
    listener = listen_or_fail(host, port)
    port = listener.getsockname()[1]  # --port 0: the one the system chose
    policy_set = load_policy(folders.roots, folders.label)
    live = LivePolicy(folders.roots, folders.label, policy_set)
    note = _shared_log_note(log) if log is not None and not decision_log and data_dir is None else None
    pruned = prepare_log(log)
    bind = f"[{host.strip('[]')}]:{port}" if ":" in host else f"{host}:{port}"
    banner(policy_set, log, retain_days, pruned, tokens, host, log_dir)
    click.echo(f"supportpolicy: webhooks: {webhooks.describe()}", err=True)
    if note:
        click.echo(note, err=True)
    click.echo(f"supportpolicy: listening on http://{bind} with {workers} worker(s) of {threads} threads; "
               f"the policy explorer is at http://{bind}/", err=True)
    # gunicorn takes the bound socket over (and closes this descriptor): it never binds, so never retries.
    run_server(live, f"fd://{listener.detach()}", workers, log, watch=not no_watch,
               echo=lambda text: click.echo(text, err=True), tokens=tokens, threads=threads)
    return EXIT_OK


def _shared_log_note(log) -> str | None:
    """Said when a new log starts while the one folder every server used to share holds decisions."""
    shared = sqlite_path(default_data_dir())
    if shared.is_file() and not Path(log.where).exists():
        return (f"supportpolicy: note: decisions logged before each policy folder had a log of its own are in "
                f"{shared}; give --data-dir {shared.parent} to keep using that log")
    return None


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
@decision_log_option("Read decisions from this PostgreSQL database instead of the SQLite log.")
@key_file_option
@policies_option
def log_export(since, until, customer, requester_email, data_dir, decision_log, key_file, policies):
    """Write logged decisions as JSON lines, oldest first (`impact --requests` reads them).

    The log is the one `serve` writes: --decision-log, --data-dir, or by default
    the SQLite log of the policy folder in force (chosen as `serve` chooses it).
    A log that does not exist is an error; nothing is created. Each record's
    privacy.masked names the fields of its request that the log did not keep as received.
    """
    # The folder serve used: the SQLite log's, and the log key's with either store.
    data_dir = _data_dir(data_dir, folders_in_force(policies, None, announce=False))
    if not decision_log:
        if not sqlite_path(data_dir).is_file():
            raise Failed(EXIT_FAILED, f"supportpolicy: no decision log at {sqlite_path(data_dir)}: nothing has been "
                                      "logged there; give the --data-dir (or --decision-log) the server used, as "
                                      "its start-up lines say")
        click.echo(f"supportpolicy: decision log {sqlite_path(data_dir)}", err=True)
    log = open_decision_log(decision_log, data_dir)
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
    finally:
        log.close()
    note = unchecked_note(unchecked, key)
    if note:
        click.echo(note, err=True)
    return EXIT_OK
