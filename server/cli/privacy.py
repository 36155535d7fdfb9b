"""The decision log's privacy on the command line: what `serve` keeps, and the key it hashes e-mails with."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from supportpolicy.engine.tools.masked import EMAIL
from supportpolicy.server.storage.decisionlog import default_data_dir
from supportpolicy.server.storage.privacy import (
    KEEP_ALL,
    KEY_FILE,
    KEY_VARIABLE,
    LogKeyError,
    LogPrivacy,
    kept_fields,
    read_key,
)

personal_data_option = click.option(
    "--log-personal-data", is_flag=True, envvar="SUPPORTPOLICY_LOG_PERSONAL_DATA",
    help="Keep requests in the decision log as received, personal data included [default: no summary, no "
         "requester fields, the requester's e-mail only as a keyed hash beside whether it is a designated "
         "contact].")
keep_option = click.option(
    "--log-keep", "keep", multiple=True, metavar="FIELD", envvar="SUPPORTPOLICY_LOG_KEEP",
    help="Keep this personal field whole in the decision log, as a JSON Pointer: /summary, /requester/email, "
         "or another member of requester (/requester/name); repeatable.")
key_file_option = click.option(
    "--log-key-file", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="SUPPORTPOLICY_LOG_KEY_FILE",
    help=f"The secret key that hashes requesters' e-mails in the decision log (at least 32 characters); or "
         f"the key itself in {KEY_VARIABLE} [default: {KEY_FILE} in the data folder, made with mode 0600 on "
         f"first use].")


def log_privacy(personal_data: bool, keep, key_file, data_dir) -> LogPrivacy:
    """What `serve` has the log keep, its key read (or made in the data folder); a usage error says why not."""
    if personal_data:
        if keep:
            raise click.UsageError("--log-personal-data keeps every field already; give it or --log-keep, not both")
        return KEEP_ALL
    try:
        keep = kept_fields(keep)  # checked before any key is made
        key = read_key(key_file, data_dir or default_data_dir(), create=True) if EMAIL not in keep else None
        return LogPrivacy.of(keep, key)
    except LogKeyError as exc:
        raise click.BadParameter(str(exc), param_hint="--log-key-file") from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--log-keep") from None


def describe(privacy: LogPrivacy, shared: bool, data_dir) -> list[str]:
    """The start-up banner's lines on what the log keeps; ``shared``: other servers may write the same log."""
    if privacy.everything:
        return ["supportpolicy: the decision log keeps requests as received, personal data included "
                "(--log-personal-data)"]
    kept = f"; kept whole: {', '.join(sorted(privacy.keep))}" if privacy.keep else ""
    if not privacy.masks_email:
        return [f"supportpolicy: the decision log masks personal data{kept}"]
    key = privacy.key
    lines = [f"supportpolicy: the decision log masks personal data: the requester's e-mail as HMAC-SHA256 "
             f"(key {key.key_id} from {key.source}){kept}"]
    if shared and key.source == str(Path(data_dir or default_data_dir()) / KEY_FILE):
        lines.append("supportpolicy: warning: this key is this server's own; every server writing the same "
                     f"PostgreSQL log should hash with one key (--log-key-file or {KEY_VARIABLE}), so that an "
                     "address can be checked against all their records with it")
    return lines


def export_key(key_file, data_dir):
    """The key `log export --requester-email` hashes the address with: as `serve` finds it, never made."""
    try:
        return read_key(key_file, data_dir or default_data_dir(), create=False)
    except LogKeyError as exc:
        raise click.BadParameter(str(exc), param_hint="--log-key-file") from None


def unchecked_note(unchecked: Counter, key) -> str | None:
    """What --requester-email could not check: records whose e-mails another key (or one not given) hashed."""
    if not unchecked:
        return None
    count = sum(unchecked.values())
    given = f"the key given ({key.key_id})" if key else "no key (none given, none in the data folder)"
    return (f"supportpolicy: {count} record{'s' if count != 1 else ''} not checked: {'their' if count != 1 else 'its'}"
            f" e-mail was hashed with another key than {given}: key_id {', '.join(sorted(unchecked))}; run again "
            "with that key (--log-key-file) to check them")
