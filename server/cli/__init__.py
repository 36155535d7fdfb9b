"""The ``supportpolicy`` command line: parse the arguments, build what the command needs, run, exit with a code.

The commands live in ``serve`` (the server and its decision log), ``sla`` (reports of tracked tickets),
``billing`` (statements of tracked tickets' work),
``tokens`` (API tokens), ``policy`` (what contract managers and CI run on
policy files) and ``starting`` (a new policy repository, the schemas);
``common`` holds what they share: the folder rule and the exit codes.
"""
from supportpolicy.server.cli import billing, policy, publish, serve, sla, starting, tokens  # noqa: F401  (importing adds their commands)
from supportpolicy.server.cli.common import main

__all__ = ["main"]
