"""The ``supportpolicy`` command line: parse arguments, call the engine, print, exit.

The commands live in ``serve`` (the server and its decision log) and
``policy`` (what contract managers and CI run on policy files); ``common``
holds what they share, exit codes included.
"""
from server.cli.common import main
from server.cli import policy, serve  # noqa: F401  (importing them adds their commands to main)

__all__ = ["main"]
