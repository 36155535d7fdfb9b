"""supportpolicy publish: put a validated policy set in force for every replica following a PostgreSQL source."""
from __future__ import annotations

import click

from supportpolicy.server import reports
from supportpolicy.server.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Failed,
    folders_in_force,
    main,
    policies_option,
    rules_option,
)
from supportpolicy.server.publishing import default_publisher, prepare
from supportpolicy.server.storage.policysource import NotFound, PolicyStore, SourceUnreachable, source_url

policy_source_option = click.option(
    "--to", "to", metavar="postgresql://...", envvar="SUPPORTPOLICY_POLICY_SOURCE",
    help="The database the fleet follows (`serve --policy-source`); or SUPPORTPOLICY_POLICY_SOURCE.")


@main.command()
@policies_option
@rules_option
@policy_source_option
@click.option("--by", "by", metavar="WHO", help="Who publishes, as --list shows it [default: the OS user@host].")
@click.option("--list", "listing", is_flag=True, help="List the published sets, newest first, and which is in force.")
@click.option("--rollback", metavar="DIGEST",
              help="Put an earlier published set back in force (a unique start of its digest will do).")
def publish(policies, rules, to, by, listing, rollback):
    """Validate the policy set and publish it: every `serve --policy-source` replica puts it in force.

    The whole set is checked as `supportpolicy validate` checks it; an invalid
    set is refused with the same file:line:column errors, and nothing is
    stored. A valid set is stored once by its digest (publishing the same
    files again stores nothing new) and put in force in one transaction.
    """
    if not to:
        raise click.UsageError("give the database to publish to: --to postgresql://... (or "
                               "SUPPORTPOLICY_POLICY_SOURCE)")
    if listing and rollback:
        raise click.UsageError("--list and --rollback go alone: give one of them")
    if (listing or rollback) and (policies or rules):
        raise click.UsageError("--list and --rollback read only the database: leave out --policies and --rules")
    try:
        store = PolicyStore(source_url(to))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--to") from None
    by = by or default_publisher()
    if listing:
        return _list(store)
    if rollback:
        return _roll_back(store, rollback, by)
    return _publish(store, policies, rules, by)


def _publish(store: PolicyStore, policies, rules, by: str) -> int:
    folders = folders_in_force(policies, rules)
    prepared = prepare(folders.roots, folders.label)
    click.echo(reports.errors_text(prepared.errors), nl=False)
    if not prepared.valid:
        click.echo(reports.validation_summary(prepared.errors), err=True)
        click.echo(f"supportpolicy: the policy set is invalid: nothing was published to {store.where}", err=True)
        return EXIT_FAILED
    with _opened(store):
        new, put = store.publish(prepared.digest, list(prepared.files), by)
    click.echo(f"{'published' if new else 'already published'} {prepared.digest} ({len(prepared.files)} files)")
    click.echo(f"{prepared.digest} is now in force" if put else f"{prepared.digest} was already in force")
    return EXIT_OK


def _list(store: PolicyStore) -> int:
    with _opened(store):
        sets = store.published()
    if not sets:
        click.echo(f"supportpolicy: nothing has been published to {store.where}", err=True)
    for s in sets:
        click.echo(f"{s.digest}  {s.published_at.isoformat(timespec='seconds')}  {s.published_by}  "
                   f"{s.files} files{'  in force' if s.in_force else ''}")
    return EXIT_OK


def _roll_back(store: PolicyStore, prefix: str, by: str) -> int:
    with _opened(store):
        try:
            digest = store.resolve(prefix)
        except NotFound as exc:
            raise Failed(EXIT_FAILED, f"supportpolicy: {exc}") from None
        put = store.roll_back(digest, by)
    click.echo(f"{digest} is now in force" if put else f"{digest} was already in force")
    return EXIT_OK


class _opened:
    """The store connected for one command; Failed, saying why, when the database cannot be used."""

    def __init__(self, store: PolicyStore):
        self.store = store

    def __enter__(self):
        try:
            return self.store.connect()
        except SourceUnreachable as exc:
            raise Failed(EXIT_FAILED, f"supportpolicy: {exc}; nothing was published") from None

    def __exit__(self, kind, exc, traceback):
        import psycopg

        self.store.close()
        if isinstance(exc, psycopg.Error):  # the transaction was rolled back: nothing of it is stored
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise Failed(EXIT_FAILED, f"supportpolicy: the policy source {self.store.where} failed: {reason}; "
                                      "nothing was changed there") from None
        return False
