"""What both kinds of `serve` do before gunicorn starts: open the decision log, listen, say what is served."""
from __future__ import annotations

import click

from supportpolicy.engine.errors import EngineError
from supportpolicy.server.auth import is_loopback
from supportpolicy.server.cli.common import EXIT_FAILED, Failed
from supportpolicy.server.cli.privacy import describe
from supportpolicy.server.listen import CannotListen, listen
from supportpolicy.server.storage.decisionlog import PostgresLog, open_log
from supportpolicy.server.storage.privacy import KEEP_ALL


def open_decision_log(decision_log, data_dir, retain_days=None, privacy=KEEP_ALL):
    try:
        return open_log(decision_log, data_dir, retain_days, privacy)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--decision-log") from None


def listen_or_fail(host: str, port: int):
    try:
        return listen(host, port)  # before anything says "listening": a port in use is said in words
    except CannotListen as exc:
        raise Failed(EXIT_FAILED, f"supportpolicy: {exc}") from None


def prepare_log(log) -> int:
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


def banner(policy_set, log, retain_days, pruned: int, tokens, host: str, data_dir) -> None:
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
