"""serve --policy-source: a replica of a fleet, following the policy set published to PostgreSQL."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import click

from supportpolicy.engine.load.files import label_from_root_name
from supportpolicy.server.cli.common import EXIT_FAILED, EXIT_OK, Failed, load_policy
from supportpolicy.server.cli.privacy import log_privacy
from supportpolicy.server.cli.startup import banner, listen_or_fail, open_decision_log, prepare_log
from supportpolicy.server.live import LivePolicy
from supportpolicy.server.storage.decisionlog import default_data_dir
from supportpolicy.server.storage.policysource import source_url
from supportpolicy.server.storage.postgres import shown


@dataclass(frozen=True)
class ReplicaOptions:
    """What serve's options say of a replica, besides its policy source and name."""

    host: str
    port: int
    workers: int
    threads: int
    data_dir: Path | None
    decision_log: str | None
    retain_days: int | None
    no_decision_log: bool
    privacy: tuple  # --log-personal-data, --log-keep, --log-key-file
    tokens: object
    webhooks: object


def serve_followed(url: str, name: str | None, given: ReplicaOptions) -> int:
    """serve --policy-source: the set in force in the database, the decision log there too (unless given)."""
    from supportpolicy.server.gunicorn import serve as run_server
    from supportpolicy.server.policysource import Cache, CannotStart, Follower, replica_name

    try:
        source_url(url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy-source") from None
    data_dir = given.data_dir or replica_data_dir(url)
    log = None
    if not given.no_decision_log:
        log = open_decision_log(given.decision_log or url, data_dir, given.retain_days,
                                log_privacy(*given.privacy, data_dir))
    listener = listen_or_fail(given.host, given.port)
    port = listener.getsockname()[1]
    replica = replica_name(name, port)
    echo = lambda text: click.echo(text, err=True)  # noqa: E731
    follower = Follower(url, Cache(data_dir / "policy-source", replica), replica, echo)
    try:
        how = follower.begin()
    except CannotStart as exc:
        raise Failed(EXIT_FAILED, f"supportpolicy: cannot start: {exc}") from None
    roots = follower.cache.roots
    policy_set = load_policy(roots, label_from_root_name)
    live = LivePolicy(roots, label_from_root_name, policy_set)
    pruned = prepare_log(log)
    bind = f"[{given.host.strip('[]')}]:{port}" if ":" in given.host else f"{given.host}:{port}"
    echo(f"supportpolicy: replica {replica}, policy source {follower.where}: deciding with {how}")
    banner(policy_set, log, given.retain_days, pruned, given.tokens, given.host, data_dir)
    if log is not None and not given.decision_log:
        echo("supportpolicy: the decision log, ticket events and work entries are in the policy source's database")
    echo(f"supportpolicy: webhooks: {given.webhooks.describe()}")
    echo(f"supportpolicy: listening on http://{bind} with {given.workers} worker(s) of {given.threads} threads; "
         f"the policy explorer is at http://{bind}/")
    run_server(live, f"fd://{listener.detach()}", given.workers, log, watch=False, echo=echo, tokens=given.tokens,
               threads=given.threads, source=follower)
    return EXIT_OK


def replica_data_dir(url: str) -> Path:
    """A replica's own folder by default (its cached sets, its log key): one per policy source."""
    where = shown(url)
    return default_data_dir() / "replicas" / hashlib.sha256(where.encode()).hexdigest()[:16]
