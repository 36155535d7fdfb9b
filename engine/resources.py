"""Where the shipped schemas, rules and default policies are.

An installed wheel carries them inside this package
(supportpolicy/engine/shipped/...); a source checkout (an editable install)
has them at the top of the repository.
"""
from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """The folder ``name`` ("schemas", "rules" or "policies") that ships with supportpolicy."""
    installed = _HERE / "shipped" / name
    if installed.is_dir():
        return installed
    return _HERE.parent / name


def default_roots() -> tuple[Path, Path]:
    """The shipped default policy and rules."""
    return shipped("policies"), shipped("rules")
