"""The ``supportpolicy`` command line: parse the arguments, build what the command needs, run, exit with a code.

The commands live in ``serve`` (the server and its decision log) and
``policy`` (what contract managers and CI run on policy files); ``common``
holds what they share, exit codes included.
"""
from supportpolicy.server.cli import policy, serve  # noqa: F401  (importing them adds their commands to main)
from supportpolicy.server.cli.common import main

__all__ = ["main"]
