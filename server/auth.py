"""Bearer tokens with scopes.

A token file holds, for each token, its name, its scopes and the SHA-256 of
its secret, never the secret itself (``supportpolicy token add`` prints a new
secret once). Secrets are 32 random bytes, so a plain hash is as strong as a
slow one. A presented token is hashed and compared, in constant time, with
every stored hash, so neither the answer nor its timing tells whether a token
exists.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

# What each scope lets a token do. A Prometheus scraper gets a token of its own with `metrics` alone: the
# metrics show decision counts by team, billing and emergency, the policy digest and worker pids, which is
# no reason to let its token read logged decisions (personal data) as `read` would.
SCOPE_ALLOWS = {"decide": "POST /v1/decisions", "read": "policies, customers, logged decisions and status",
                "admin": "reloads", "metrics": "GET /metrics, for a Prometheus scraper"}
SCOPES = tuple(SCOPE_ALLOWS)
PREFIX = "sp_"


@dataclass(frozen=True)
class Token:
    name: str
    scopes: frozenset
    digest: str  # sha256 of the secret, hex


class TokenFileError(ValueError):
    pass


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_tokens(text: str, where: str) -> tuple[Token, ...]:
    """Tokens from a token file's text; a malformed file is an error naming what is wrong."""
    try:
        document = json.loads(text)
        entries = document["tokens"]
        tokens = tuple(Token(e["name"], frozenset(e["scopes"]), e["sha256"]) for e in entries)
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenFileError(f"{where} is not a token file ({type(exc).__name__}: {exc}); "
                             "create one with `supportpolicy token add`") from None
    for token in tokens:
        unknown = token.scopes - set(SCOPES)
        if unknown:
            raise TokenFileError(f"{where}: token {token.name!r} has unknown scopes {sorted(unknown)}; "
                                 f"scopes are {', '.join(SCOPES)}")
    return tokens


def load_tokens(path: Path | None, inline: str | None = None) -> tuple[Token, ...] | None:
    """The configured tokens (a file, or the file's content in an environment variable), or None."""
    if path is not None:
        return parse_tokens(Path(path).read_text(encoding="utf-8"), str(path))
    if inline:
        return parse_tokens(inline, "SUPPORTPOLICY_TOKENS")
    return None


def authenticate(tokens, presented: str) -> Token | None:
    """The token whose secret was presented, or None; every stored hash is compared, in constant time."""
    wanted = digest(presented)
    found = None
    for token in tokens:
        if hmac.compare_digest(token.digest, wanted):
            found = token
    return found


def token_entries(path: Path) -> list[dict]:
    """The token file's entries (name, scopes, sha256, created_at), after checking it is a token file."""
    text = Path(path).read_text(encoding="utf-8")
    parse_tokens(text, str(path))  # a file that is not a token file is named so, and left as it is
    return json.loads(text)["tokens"]


def add_token(path: Path, name: str, scopes) -> str:
    """Add a token to the file (created with mode 0600 if missing); returns its secret, to be shown once."""
    tokens = token_entries(path) if path.exists() else []
    if any(t["name"] == name for t in tokens):
        raise TokenFileError(f"{path} already has a token named {name!r}; choose another name")
    secret = PREFIX + secrets.token_urlsafe(32)
    tokens.append({"name": name, "scopes": sorted(set(scopes)), "sha256": digest(secret),
                   "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    _write_tokens(path, tokens)
    return secret


def revoke_token(path: Path, name: str) -> None:
    """Remove the token named ``name`` from the file; TokenFileError if it has none of that name."""
    tokens = token_entries(path)
    kept = [t for t in tokens if t["name"] != name]
    if len(kept) == len(tokens):
        names = ", ".join(repr(t["name"]) for t in tokens) or "none"
        raise TokenFileError(f"{path} has no token named {name!r} (its tokens: {names})")
    _write_tokens(path, kept)


def _write_tokens(path: Path, tokens: list) -> None:
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as f:
        json.dump({"tokens": tokens}, f, indent=2)
        f.write("\n")
    os.replace(temporary, path)  # never a half-written token file


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
