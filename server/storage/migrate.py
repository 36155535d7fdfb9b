"""Upgrading a decision log written by an earlier version, in place and in one transaction.

Version 1 (until supportpolicy 0.1) keyed decisions by decision_id alone and
listed them in id order; version 2 numbers them in commit order (``seq``)
and keeps the ticket id in a column of its own. Version 1's records are
numbered in their id order, the best order they have.
"""
from __future__ import annotations

from supportpolicy.server.storage.log import COLUMNS, table


def v1_to_v2(execute, seq_type: str, ticket_id_of_decision: str) -> None:
    """Within the caller's transaction: the version 1 table becomes a version 2 table with the same records.

    ``ticket_id_of_decision`` is the store's SQL for the ticket id inside the ``decision`` JSON text.
    """
    execute("ALTER TABLE decisions RENAME TO decisions_v1")
    execute(table(seq_type))
    execute(f"INSERT INTO decisions ({COLUMNS}) SELECT decision_id, decided_at, customer, {ticket_id_of_decision}, "
            "received_at, policy_digest, request, decision FROM decisions_v1 ORDER BY decision_id")
    execute("DROP TABLE decisions_v1")  # its indexes go with it; the caller makes version 2's
