"""supportpolicy token: the API tokens of a token file (add, list, revoke)."""
from __future__ import annotations

from pathlib import Path

import click

from supportpolicy.server.auth import SCOPE_ALLOWS, SCOPES, TokenFileError, add_token, revoke_token, token_entries
from supportpolicy.server.cli.common import EXIT_FAILED, EXIT_OK, Failed, main


def _tokens_file_option(help_text: str, exists: bool):
    return click.option("--tokens", "tokens_file", required=True,
                        type=click.Path(exists=exists, dir_okay=False, path_type=Path),
                        envvar="SUPPORTPOLICY_TOKENS_FILE", help=help_text)


@main.group("token")
def token_group():
    """API tokens: a server started with `serve --tokens FILE` reads FILE when it starts."""


@token_group.command("add")
@click.argument("name")
@click.option("--scopes", required=True, metavar="SCOPE[,SCOPE...]",
              help="What the token may do, comma-separated: "
                   + "; ".join(f"{scope} ({allows})" for scope, allows in SCOPE_ALLOWS.items()) + ".")
@_tokens_file_option("The token file to add it to (created if missing).", exists=False)
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


@token_group.command("list")
@_tokens_file_option("The token file.", exists=True)
def token_list(tokens_file):
    """List the tokens of a file: name, scopes and when each was created (never a secret: none is stored)."""
    try:
        entries = token_entries(tokens_file)
    except (OSError, TokenFileError) as exc:
        raise Failed(EXIT_FAILED, f"supportpolicy: {exc}") from None
    width = max((len(e["name"]) for e in entries), default=4)
    for entry in entries:
        click.echo(f"{entry['name']:{width}}  {','.join(entry['scopes']):28}  {entry.get('created_at', '')}".rstrip())
    click.echo(f"supportpolicy: {len(entries)} token(s) in {tokens_file}", err=True)
    return EXIT_OK


@token_group.command("revoke")
@click.argument("name")
@_tokens_file_option("The token file to remove it from.", exists=True)
def token_revoke(name, tokens_file):
    """Remove a token from the file. A running server keeps accepting it until it is restarted."""
    try:
        revoke_token(tokens_file, name)
    except (OSError, TokenFileError) as exc:
        raise Failed(EXIT_FAILED, f"supportpolicy: {exc}") from None
    click.echo(f"supportpolicy: token {name!r} removed from {tokens_file}; a server already running with this "
               "file still accepts it until it is restarted", err=True)
    return EXIT_OK
